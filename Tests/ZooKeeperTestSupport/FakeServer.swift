import ZooKeeperProtocol

/// One frame the client wrote, as a server reads it: the handshake, then header + body.
public enum ClientFrame: Equatable, CustomStringConvertible {
    case connect(ConnectRequest)
    case request(RequestHeader, body: [UInt8])

    public var header: RequestHeader? {
        if case let .request(header, _) = self { header } else { nil }
    }

    public var xid: Int32? { header?.xid }
    public var opCode: OpCode? { header.flatMap { OpCode(rawValue: $0.type) } }

    /// The body decoded as `Record`, which must fill it exactly.
    public func body<Record: JuteDecodable>(_: Record.Type) throws -> Record {
        guard case let .request(_, body) = self else { throw FakeServerError.notARequest }
        return try Record.decode(exactly: body)
    }

    public var description: String {
        switch self {
        case let .connect(request): "connect(\(request))"
        case let .request(header, body): "request(xid: \(header.xid), type: \(header.type), \(body.count) body bytes)"
        }
    }
}

public enum FakeServerError: Error {
    case notARequest
}

/// The server side of one connection, built from the protocol library: it splits what the
/// client sends into frames (ConnectRequest first, then RequestHeader + body) and builds the
/// frames a server answers with. A new connection needs a new FakeServer. Shared by the session
/// tests and the Lua edge's tests (ZooKeeperLuaTests).
public struct FakeServer {
    public init() {}

    private var decoder = FrameDecoder()
    private var handshakeRead = false

    /// Everything the client wrote, split into frames.
    public mutating func read(_ bytes: [UInt8]) throws -> [ClientFrame] {
        decoder.append(bytes)
        var frames: [ClientFrame] = []
        while let frame = try decoder.nextFrame() {
            if !handshakeRead {
                handshakeRead = true
                frames.append(.connect(try ConnectRequest.decode(exactly: frame)))
            } else {
                var reader = JuteReader(frame)
                let header = try RequestHeader.decode(from: &reader)
                frames.append(.request(header, body: reader.readRemaining()))
            }
        }
        return frames
    }

    /// Whether a partial frame is left over (a send must hold whole frames).
    public var hasPartialFrame: Bool { decoder.bufferedByteCount > 0 }

    // MARK: Frames a server sends

    public static func connectResponse(timeOut: Int32, sessionId: Int64, passwd: [UInt8], readOnly: Bool? = false) -> [UInt8] {
        FrameEncoder.frame {
            ConnectResponse(protocolVersion: 0, timeOut: timeOut, sessionId: sessionId, passwd: passwd, readOnly: readOnly).encode(to: &$0)
        }
    }

    /// What a server answers when the session to resume has expired.
    public static func expiredResponse() -> [UInt8] {
        connectResponse(timeOut: 0, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16))
    }

    public static func reply(xid: Int32, zxid: Int64 = 0, err: ErrorCode = .ok) -> [UInt8] {
        reply(xid: xid, zxid: zxid, err: err, EmptyRecord())
    }

    public static func reply(xid: Int32, zxid: Int64 = 0, err: ErrorCode = .ok, _ body: some JuteEncodable) -> [UInt8] {
        FrameEncoder.frame { writer in
            ReplyHeader(xid: xid, zxid: zxid, err: err.rawValue).encode(to: &writer)
            body.encode(to: &writer)
        }
    }

    /// A reply whose body is exactly `raw` (for malformed bodies).
    public static func reply(xid: Int32, zxid: Int64 = 0, err: ErrorCode = .ok, raw: [UInt8]) -> [UInt8] {
        FrameEncoder.frame { writer in
            ReplyHeader(xid: xid, zxid: zxid, err: err.rawValue).encode(to: &writer)
            writer.writeRaw(raw)
        }
    }

    /// A watch notification: xid -1, zxid -1.
    public static func watchEvent(_ type: EventType, path: String, state: KeeperState = .syncConnected) -> [UInt8] {
        reply(xid: Xid.watchEvent, zxid: -1, WatcherEvent(type: type, state: state, path: path))
    }

    public static func pingReply(zxid: Int64 = 0) -> [UInt8] { reply(xid: Xid.ping, zxid: zxid) }
    public static func authReply(err: ErrorCode = .ok) -> [UInt8] { reply(xid: Xid.auth, zxid: 0, err: err) }
    public static func setWatchesReply(zxid: Int64 = 0) -> [UInt8] { reply(xid: Xid.setWatches, zxid: zxid) }
}

/// A Stat whose fields all differ, so a swapped pair shows up.
public let sampleStat = Stat(
    czxid: 0x1_0000_0001, mzxid: 0x1_0000_0002, ctime: 1_700_000_000_123, mtime: 1_700_000_000_456,
    version: 3, cversion: 4, aversion: 5, ephemeralOwner: 0x1234_5678_9ABC_DEF0,
    dataLength: 100, numChildren: 2, pzxid: 0x1_0000_0003)
