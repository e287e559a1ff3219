import ZooKeeperProtocol

/// The SASL round trips of one connection, between the ConnectResponse and everything else
/// (auth replays, SetWatches, queued requests), as the Java client orders them. Sans-I/O like the
/// session: the session frames what `start` and `receive` return and hands back the replies.
struct SASLExchange: Sendable {
    enum Step: Equatable, Sendable {
        /// Send this token (opcode 102) and wait for the reply.
        case send([UInt8])
        /// Authenticated: the connection may carry everything else.
        case done
        /// Refused or unverifiable: the session ends as authFailed with this message.
        case failed(String)
    }

    private enum Phase: Sendable {
        case idle
        case awaitingChallenge
        case awaitingProof
        case finished
    }

    private var client: DigestMD5Client
    private var phase = Phase.idle
    private let username: String

    init(_ configuration: SASLCredentials, cnonce: String = DigestMD5Client.randomCnonce()) {
        client = DigestMD5Client(username: configuration.username, password: configuration.password,
                                 service: configuration.service, host: configuration.serverName, cnonce: cnonce)
        username = configuration.username
    }

    /// The first token: DIGEST-MD5 has no initial response, so an empty one asks for the challenge.
    mutating func start() -> Step {
        phase = .awaitingChallenge
        return .send([])
    }

    /// The server's reply to our last token: its error code and token.
    mutating func receive(error: ErrorCode, token: [UInt8]?) -> Step {
        guard error == .ok else {
            phase = .finished
            return .failed(error == .authFailed
                ? "SASL DIGEST-MD5: the server refused the credentials of \(username)"
                : "SASL DIGEST-MD5: the server answered \(error.name)")
        }
        switch phase {
        case .awaitingChallenge:
            guard let token, !token.isEmpty else {
                phase = .finished
                return .failed("SASL DIGEST-MD5: the server sent no challenge (is SASL enabled on it?)")
            }
            do {
                let response = try client.respond(to: token)
                phase = .awaitingProof
                return .send(response)
            } catch {
                phase = .finished
                return .failed("SASL DIGEST-MD5: \(error)")
            }
        case .awaitingProof:
            phase = .finished
            do {
                try client.verify(final: token ?? [])
                return .done
            } catch {
                return .failed("SASL DIGEST-MD5: the server did not prove it knows the password (bad rspauth)")
            }
        case .idle, .finished:
            phase = .finished
            return .failed("SASL DIGEST-MD5: unexpected reply")
        }
    }
}
