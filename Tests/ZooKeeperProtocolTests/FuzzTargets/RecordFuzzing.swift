import ZooKeeperProtocol

/// Every Jute record decoder, each fed arbitrary bytes: a decoder must give a value or an error,
/// never trap, and a value it gives must survive re-encoding. One table for the libFuzzer target
/// and the seeded smoke loop in the protocol tests.
public enum RecordFuzzing {
    /// What one decoder made of one input.
    public enum Outcome: Equatable, Sendable {
        case rejected
        case accepted
        /// Decoded, but the value did not decode to itself after re-encoding.
        case roundTripFailed(String)
    }

    public typealias Decoder = (name: String, check: @Sendable ([UInt8]) -> Outcome)

    /// Every record a client decodes or encodes, plus a whole reply as a client reads one.
    public static let decoders: [Decoder] = [
        entry(ConnectRequest.self), entry(ConnectResponse.self), entry(RequestHeader.self), entry(ReplyHeader.self),
        entry(WatcherEvent.self), entry(Stat.self), entry(Id.self), entry(ACL.self), entry(AuthPacket.self),
        entry(SetWatches.self), entry(SetWatches2.self), entry(MultiHeader.self), entry(CreateRequest.self),
        entry(CreateTTLRequest.self), entry(CreateResponse.self), entry(Create2Response.self), entry(DeleteRequest.self),
        entry(PathWatchRequest.self), entry(PathRequest.self), entry(StatResponse.self), entry(GetDataResponse.self),
        entry(SetDataRequest.self), entry(GetACLResponse.self), entry(SetACLRequest.self), entry(GetChildrenResponse.self),
        entry(GetChildren2Response.self), entry(CheckVersionRequest.self), entry(ReconfigRequest.self),
        entry(WatchesRequest.self), entry(GetEphemeralsResponse.self), entry(GetAllChildrenNumberResponse.self),
        entry(AddWatchRequest.self), entry(WhoAmIResponse.self), entry(ClientInfo.self), entry(ErrorResponse.self),
        entry(MultiOperation.self), entry(MultiRequest.self), entry(MultiResult.self), entry(MultiResponse.self),
        entry(DeleteContainerRequest.self), entry(GetSASLRequest.self), entry(SetSASLResponse.self),
        ("reply+body", { frame in
            var reader = JuteReader(frame)
            guard (try? ReplyHeader.decode(from: &reader)) != nil else { return .rejected }
            return (try? MultiResponse.decode(from: &reader)) != nil ? .accepted : .rejected
        }),
        // The server's DIGEST-MD5 challenge, parsed by the SASL client.
        ("DigestMD5 challenge", { frame in
            var client = DigestMD5Client(username: "u", password: "p", cnonce: "fuzz")
            guard (try? client.respond(to: frame)) != nil else { return .rejected }
            return (try? client.verify(final: frame)) != nil ? .accepted : .rejected
        }),
    ]

    static func entry<R: JuteRecord & Equatable>(_: R.Type) -> Decoder {
        ("\(R.self)", { frame in
            var reader = JuteReader(frame)
            guard let value = try? R.decode(from: &reader) else { return .rejected }
            var again = JuteReader(value.encoded())
            guard let roundTrip = try? R.decode(from: &again), roundTrip == value else {
                return .roundTripFailed("\(R.self) did not survive re-encoding: \(frame)")
            }
            return .accepted
        })
    }

    /// The libFuzzer input: the first byte picks the decoder, the rest is its frame.
    public static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let decoder = decoders[Int(selector) % decoders.count]
        if case let .roundTripFailed(message) = decoder.check(Array(input.dropFirst())) {
            fatalError(message)
        }
    }

    /// Seeds for `run`: every seed record offered to every decoder.
    public static var corpus: [[UInt8]] {
        FuzzSeeds.records.flatMap { seed in decoders.indices.map { [UInt8($0)] + seed } }
    }
}
