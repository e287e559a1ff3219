#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import Testing
import ZooKeeperDirect
import ZooKeeperProtocol
import ZooKeeperSession
import ZooKeeperTestSupport

/// SASL and TLS (OpenSSL through memory BIOs) on the direct transport, against real servers.
@Suite(.serialized) struct DirectSecurityTests {
    final class Box<T: Sendable>: Sendable {
        let value = NIOLockedValueBox<T?>(nil)
        func set(_ v: T) { value.withLockedValue { $0 = v } }
        var get: T? { value.withLockedValue { $0 } }
    }

    /// A session driven until it connects or ends (its state tells which).
    func session(_ connectString: String, sasl: SASLCredentials? = nil, tls: TLSOptions? = nil) async throws -> DirectSession {
        let session = DirectSession(configuration: SessionConfiguration(
            connectString: try ConnectString(connectString), sessionTimeout: 10_000, sasl: sasl, tls: tls))
        let settled = Box<Bool>()
        session.onStateChange { if $0 != .connecting && $0 != .disconnected { settled.set(true) } }
        session.start()
        await session.driveOffPool(until: monotonicMillis() + 10_000) { settled.get == true }
        return session
    }

    func perform(_ session: DirectSession, _ operation: Operation, timeout: Int64 = 5_000) async -> Result<OperationResult, ZooKeeperError>? {
        let box = Box<Result<OperationResult, ZooKeeperError>>()
        session.submit(operation, timeout: timeout) { box.set($0) }
        await session.driveOffPool(until: monotonicMillis() + timeout + 1_000) { box.get != nil }
        return box.get
    }

    func close(_ session: DirectSession) async {
        let closed = Box<Bool>()
        session.close { closed.set(true) }
        await session.driveOffPool(until: monotonicMillis() + 3_000) { closed.get == true }
    }

    /// Ends as authFailed with a message containing `text`, well before any timeout.
    func expectRefused(_ connectString: String, sasl: SASLCredentials? = nil, tls: TLSOptions? = nil, _ text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let started = monotonicMillis()
        let zk = try await session(connectString, sasl: sasl, tls: tls)
        #expect(zk.state == .authFailed, sourceLocation: sourceLocation)
        let reason = zk.facts.endReason?.message ?? ""
        #expect(reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
        #expect(monotonicMillis() - started < 5_000, sourceLocation: sourceLocation)
    }

    @Test func saslOnTheDirectTransport() async throws {
        let server = try await ZooKeeperServer.start(security: ServerSecurity(saslUsers: ["bob": "bobsecret"]))
        defer { server.stopAll() }
        let path = "/direct-sasl-\(UInt32.random(in: 0...UInt32.max))"
        let plain = try await session(server.connectString)
        _ = await perform(plain, .create(path: path, data: [5], acl: [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))], mode: .persistent))
        #expect(await perform(plain, .getData(path: path, watch: false)).map { if case .failure(let e) = $0 { e.code == .noAuth } else { false } } == true)
        await close(plain)

        let bob = try await session(server.connectString, sasl: SASLCredentials(username: "bob", password: "bobsecret"))
        #expect(bob.state == .connected)
        guard case .success(.data(let data, _))? = await perform(bob, .getData(path: path, watch: false)) else {
            Issue.record("bob cannot read")
            return
        }
        #expect(data == [5])
        await close(bob)

        try await expectRefused(server.connectString, sasl: SASLCredentials(username: "bob", password: "nope"), "refused the credentials of bob")
    }

    @Test func tlsOnTheDirectTransport() async throws {
        let certificates = try await TestCertificates.make()
        let server = try await ZooKeeperServer.start(
            security: ServerSecurity(tls: .init(certificates: certificates, requireClientCertificate: true)))
        defer { server.stopAll() }
        let ours = TLSOptions(caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
                              keyFile: certificates.clientKey, serverName: "localhost")
        let zk = try await session(server.secureConnectString, tls: ours)
        #expect(zk.state == .connected)
        guard case .success(.identities(let identities))? = await perform(zk, .whoAmI) else {
            Issue.record("whoAmI failed")
            return
        }
        #expect(identities.contains(ClientInfo(authScheme: "x509", user: "CN=client")))
        try await expectLargeValuesRoundTrip(zk)
        await close(zk)

        var unrelated = ours
        unrelated.caFile = certificates.unrelatedCAFile
        try await expectRefused(server.secureConnectString, tls: unrelated, "certificate verify failed")
        var otherName = ours
        otherName.serverName = "elsewhere.example"
        try await expectRefused(server.secureConnectString, tls: otherName, "certificate verify failed")
        try await expectRefused(server.secureConnectString, tls: TLSOptions(caFile: certificates.caFile, serverName: "localhost"), "TLS")
        try await expectRefused(server.secureConnectString, tls: TLSOptions(caFile: "/nonexistent/ca.pem"), "CA file")
    }

    /// A 3-node ensemble with TLS (client certificates needed) and SASL, on the Lua module's
    /// transport: kill -9 of the session's server keeps the session, its watch and both
    /// identities (a new handshake and SASL exchange on the next server).
    @Test func secureEnsembleFailover() async throws {
        let certificates = try await TestCertificates.make()
        let ensemble = try await ZooKeeperServer.start(servers: 3, security: ServerSecurity(
            saslUsers: ["bob": "bobsecret"], tls: .init(certificates: certificates, requireClientCertificate: true)))
        defer { ensemble.stopAll() }
        let bob = SASLCredentials(username: "bob", password: "bobsecret")
        let zk = try await session(ensemble.secureConnectString, sasl: bob, tls: TLSOptions(
            caFile: certificates.caFile, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey,
            serverName: "localhost"))
        #expect(zk.state == .connected)
        let path = "/direct-secure-\(UInt32.random(in: 0...UInt32.max))"
        let bobOnly = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        _ = await perform(zk, .create(path: path, data: [1], acl: bobOnly, mode: .persistent))
        let fired = Box<WatchEvent>()
        zk.submit(.getData(path: path, watch: true), watch: { fired.set($0) }, timeout: 5_000) { _ in }
        _ = await perform(zk, .sync(path: path))
        let sessionId = zk.facts.sessionId
        let host = try #require(zk.facts.currentHost)
        let victim = try #require(ensemble.serverIDs.first { ensemble.securePort(of: $0) == host.port })
        try await ensemble.kill9(server: victim)

        // A call sent before the client noticed the loss fails with connectionLoss (as every
        // client's would); the next waits for the reconnection (new handshake, SASL again).
        let deadline = monotonicMillis() + 9_000
        var answer = await perform(zk, .whoAmI, timeout: 9_000)
        while case .failure(let error)? = answer, error.code == .connectionLoss, monotonicMillis() < deadline {
            answer = await perform(zk, .whoAmI, timeout: deadline - monotonicMillis())
        }
        guard case .success(.identities(let identities))? = answer else {
            Issue.record("whoAmI failed after the failover: \(String(describing: answer))")
            return
        }
        #expect(identities.contains(ClientInfo(authScheme: "x509", user: "CN=client")), "\(identities)")
        #expect(identities.contains(ClientInfo(authScheme: "sasl", user: "bob")), "\(identities)")
        #expect(zk.facts.sessionId == sessionId)
        #expect(zk.facts.currentHost?.port != host.port)

        let survivor = try #require(ensemble.serverIDs.first { $0 != victim })
        let writer = try await session("127.0.0.1:\(ensemble.port(of: survivor))", sasl: bob)
        #expect(await perform(writer, .setData(path: path, data: [2], version: -1)).map { if case .success = $0 { true } else { false } } == true)
        await zk.driveOffPool(until: monotonicMillis() + 5_000) { fired.get != nil }
        #expect(fired.get == WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: path))
        _ = await perform(writer, .delete(path: path, version: -1))
        await close(writer)
        await close(zk)
    }

    /// Replies of many TLS records, read by a driving caller and by the poller: a reply whose
    /// last records wait decrypted or still encrypted in OpenSSL (the socket drained) must
    /// still be delivered. Sizes up to just under the server's jute.maxbuffer (1 MiB - 1).
    /// Reads time out after 3 s, under the ping interval (a third of the 10 s session): a
    /// stalled reply must not be rescued by the bytes of a ping's reply.
    func expectLargeValuesRoundTrip(_ zk: DirectSession, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for size in [200_000, 524_287, 1_000_000] {
            let path = "/direct-tls-\(size)-\(UInt32.random(in: 0...UInt32.max))"
            let big = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) })
            let created = await perform(zk, .create(path: path, data: big, acl: Ids.openACLUnsafe, mode: .ephemeral))
            #expect(created.map { if case .success = $0 { true } else { false } } == true, "\(size): \(String(describing: created))",
                    sourceLocation: sourceLocation)
            for _ in 0..<3 {
                guard case .success(.data(let data, _))? = await perform(zk, .getData(path: path, watch: false), timeout: 3_000) else {
                    Issue.record("getData of \(size) bytes failed (driving)", sourceLocation: sourceLocation)
                    return
                }
                #expect(data == big, "\(size) bytes (driving)", sourceLocation: sourceLocation)
            }
            // Nobody drives: the poller thread reads the reply.
            let box = Box<Result<OperationResult, ZooKeeperError>>()
            zk.submit(.getData(path: path, watch: false), timeout: 3_000) { box.set($0) }
            let deadline = monotonicMillis() + 4_000
            while box.get == nil && monotonicMillis() < deadline { try await Task.sleep(for: .milliseconds(1)) }
            guard case .success(.data(let data, _))? = box.get else {
                Issue.record("getData of \(size) bytes failed (poller): \(String(describing: box.get))", sourceLocation: sourceLocation)
                return
            }
            #expect(data == big, "\(size) bytes (poller)", sourceLocation: sourceLocation)
        }
    }
}
