import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// SASL DIGEST-MD5 between the ConnectResponse and everything else, on every connection.
@Suite struct SASLTests {
    static let challenge = Array(#"realm="zk-sasl-md5",nonce="N0nce",charset=utf-8,algorithm=md5-sess,qop="auth""#.utf8)

    func harness(_ hosts: String = "a:1", password: String = "bobsecret") throws -> Harness {
        try Harness(hosts) {
            $0.sasl = SASLCredentials(username: "bob", password: password)
            $0.connectTimeout = 1_000
        }
    }

    /// The one SASL token of `actions` (its xid and text).
    func saslToken(_ h: inout Harness, _ actions: [SessionAction], sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, String) {
        let frame = try h.onlyRequest(actions, sourceLocation: sourceLocation)
        #expect(frame.opCode == .sasl, sourceLocation: sourceLocation)
        let token = try frame.body(GetSASLRequest.self).token
        return (try #require(frame.xid), String(decoding: token, as: UTF8.self))
    }

    /// The rspauth a server that knows `password` sends for the client's `response`.
    func serverProof(for response: String, password: String = "bobsecret") throws -> [UInt8] {
        let cnonce = try #require(response.split(separator: ",").first { $0.hasPrefix("cnonce=") }?.dropFirst(8).dropLast())
        var twin = DigestMD5Client(username: "bob", password: password, cnonce: String(cnonce))
        let twinResponse = String(decoding: try twin.respond(to: Self.challenge), as: UTF8.self)
        #expect(twinResponse == response, "the client's response is the RFC 2831 digest of its inputs")
        // What a server with the same password computes (RFC 2831 section 2.1.3).
        let a1 = MD5.hash(Array("bob:zk-sasl-md5:\(password)".utf8)) + Array(":N0nce:\(cnonce)".utf8)
        let ha2 = MD5.hex(MD5.hash(Array(":zookeeper/zk-sasl-md5".utf8)))
        let proof = MD5.hex(MD5.hash(Array("\(MD5.hex(MD5.hash(a1))):N0nce:00000001:\(cnonce):auth:\(ha2)".utf8)))
        return Array("rspauth=\(proof)".utf8)
    }

    /// Handshake, then the whole exchange; returns the actions of the server's proof.
    func authenticate(_ h: inout Harness, proof: ((String) throws -> [UInt8])? = nil) throws -> [SessionAction] {
        let (_, afterHandshake) = try h.handshake()
        #expect(!acts(afterHandshake).contains(.sessionEvent(.connected, watchers: [])))
        let (firstXid, first) = try saslToken(&h, afterHandshake)
        #expect(first.isEmpty)
        let (secondXid, response) = try saslToken(&h, h.receive(FakeServer.reply(xid: firstXid, SetSASLResponse(token: Self.challenge))))
        #expect(response.contains(#"username="bob""#) && response.contains(#"digest-uri="zookeeper/zk-sasl-md5""#))
        #expect(!response.contains("bobsecret"))
        let token = try (proof ?? { try serverProof(for: $0) })(response)
        return h.receive(FakeServer.reply(xid: secondXid, SetSASLResponse(token: token)))
    }

    @Test func everythingWaitsForSASLThenFollowsInOrder() throws {
        var h = try harness()
        _ = h.start()
        let (waiting, early) = h.submit(.sync(path: "/w"))
        #expect(acts(early).isEmpty)
        let done = try authenticate(&h)
        #expect(acts(done).contains(.sessionEvent(.connected, watchers: [])))
        #expect(try h.frames(done).map(\.opCode) == [.sync])
        #expect(h.machine.state == .connected)
        _ = waiting
    }

    @Test func aRefusalEndsTheSessionAsAuthFailed() throws {
        var h = try harness()
        _ = h.start()
        let (waiting, _) = h.submit(.sync(path: "/w"))
        let (_, afterHandshake) = try h.handshake()
        let (xid, _) = try saslToken(&h, afterHandshake)
        let (secondXid, _) = try saslToken(&h, h.receive(FakeServer.reply(xid: xid, SetSASLResponse(token: Self.challenge))))
        let message = "SASL DIGEST-MD5: the server refused the credentials of bob"
        #expect(acts(h.receive(FakeServer.reply(xid: secondXid, err: .authFailed, SetSASLResponse(token: nil)))) == [
            .failed(waiting, ZooKeeperError(.authFailed, path: "/w", message: message)),
            .closeConnection(1),
            .sessionEvent(.authFailed, watchers: []),
        ])
        #expect(h.machine.state == .authFailed)
    }

    @Test func aServerThatCannotProveThePasswordIsRefused() throws {
        var h = try harness()
        _ = h.start()
        let done = try authenticate(&h) { _ in Array("rspauth=0123456789abcdef0123456789abcdef".utf8) }
        #expect(acts(done).contains(.sessionEvent(.authFailed, watchers: [])))
        #expect(h.machine.state == .authFailed)
    }

    @Test func aServerWithoutSASLIsRefusedClearly() throws {
        var h = try harness()
        _ = h.start()
        let (_, afterHandshake) = try h.handshake()
        let (xid, _) = try saslToken(&h, afterHandshake)
        _ = h.receive(FakeServer.reply(xid: xid, SetSASLResponse(token: nil)))
        #expect(h.machine.state == .authFailed)
        let (later, laterActions) = h.submit(.sync(path: "/x"))
        #expect(acts(laterActions) == [.failed(later, ZooKeeperError(.authFailed, path: "/x"))])
    }

    @Test func everyReconnectAuthenticatesBeforeAuthAndWatches() throws {
        var h = try harness("a:1,b:2")
        _ = h.start()
        _ = try authenticate(&h)
        let (auth, authSent) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        #expect(try h.frames(authSent).map(\.opCode) == [.auth])
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(auth, .done)])
        try h.watchData("/w", 7)
        _ = h.connectionClosed()
        let done = try authenticate(&h)
        #expect(acts(done).contains(.sessionEvent(.reconnected, watchers: [])))
        #expect(try h.frames(done).map(\.opCode) == [.auth, .setWatches])
    }

    @Test func aSilentServerTimesOutAndTheNextHostIsTried() throws {
        var h = try harness("a:1,b:2")
        _ = h.start()
        _ = try h.handshake()
        let deadline = try #require(h.machine.nextDeadline())
        #expect(deadline == 1_000, "the SASL round has the connect timeout")
        h.now = deadline
        let actions = acts(h.tick())
        #expect(actions.contains(.closeConnection(1)))
        #expect(actions.contains { if case .connect = $0 { true } else { false } })
        #expect(h.machine.state == .connecting)
    }
}
