import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// SASL DIGEST-MD5 and TLS against real servers (the NIO transport).
@Suite(.serialized) struct SecurityTests {
    static let bob = SASLCredentials(username: "bob", password: "bobsecret")

    @Test func saslOpensANodeOnlyBobMayRead() async throws {
        let server = try await ZooKeeperServer.start(security: ServerSecurity(saslUsers: ["bob": "bobsecret"]))
        defer { server.stopAll() }
        let path = uniqueRoot("sasl")
        let plain = try await ZooKeeperClient.connect(server.connectString)
        _ = try await plain.create(path, data: [7], acl: [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))])
        await #expect(throws: ZooKeeperError(.noAuth, path: path)) { _ = try await plain.getData(path) }
        await plain.close()

        let asBob = try await ZooKeeperClient.connect(configuration: .init(connectString: server.connectString, sasl: Self.bob))
        #expect(try await asBob.getData(path).data == [7])
        #expect(try await asBob.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "bob")))
        try await asBob.delete(path)
        await asBob.close()
    }

    @Test func aWrongPasswordFailsAtOnceWithAClearError() async throws {
        let server = try await ZooKeeperServer.start(security: ServerSecurity(saslUsers: ["bob": "bobsecret"]))
        defer { server.stopAll() }
        let started = ContinuousClock.now
        let configuration = ZooKeeperClient.Configuration(
            connectString: server.connectString, sasl: SASLCredentials(username: "bob", password: "wrong"))
        do {
            _ = try await ZooKeeperClient.connect(configuration: configuration, timeout: .seconds(20))
            Issue.record("connected with a wrong password")
        } catch let error as ZooKeeperError {
            #expect(error.code == .authFailed)
            #expect(error.message.contains("refused the credentials of bob"), "\(error)")
            #expect(!error.description.contains("wrong"))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func tlsWithVerificationAndClientCertificates() async throws {
        let certificates = try await TestCertificates.make()
        let server = try await ZooKeeperServer.start(security: ServerSecurity(tls: .init(certificates: certificates)))
        defer { server.stopAll() }
        let verified = try await ZooKeeperClient.connect(configuration: .init(
            connectString: server.secureConnectString, tls: TLSOptions(caFile: certificates.caFile, serverName: "localhost")))
        let path = uniqueRoot("tls")
        _ = try await verified.create(path, data: [1])
        #expect(try await verified.getData(path).data == [1])
        try await verified.delete(path)
        await verified.close()

        // The certificate names localhost, not 127.0.0.1; verification off skips that check.
        try await expectRefused(server.secureConnectString, TLSOptions(caFile: certificates.caFile))
        let unverified = try await ZooKeeperClient.connect(configuration: .init(
            connectString: server.secureConnectString, tls: TLSOptions(verify: false)))
        await unverified.close()

        try await expectRefused(server.secureConnectString, TLSOptions(caFile: certificates.unrelatedCAFile, serverName: "localhost"))
        try await expectRefused(server.secureConnectString, TLSOptions(caFile: certificates.caFile, serverName: "elsewhere.example"))
    }

    @Test func aServerThatNeedsClientCertificates() async throws {
        let certificates = try await TestCertificates.make()
        let server = try await ZooKeeperServer.start(
            security: ServerSecurity(tls: .init(certificates: certificates, requireClientCertificate: true)))
        defer { server.stopAll() }
        let withCertificate = try await ZooKeeperClient.connect(configuration: .init(
            connectString: server.secureConnectString,
            tls: TLSOptions(caFile: certificates.caFile, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey,
                            serverName: "localhost")))
        #expect(try await withCertificate.whoAmI().contains(ClientInfo(authScheme: "x509", user: "CN=client")))
        await withCertificate.close()

        try await expectRefused(server.secureConnectString, TLSOptions(caFile: certificates.caFile, serverName: "localhost"))
    }

    /// Connecting fails with authFailed and a TLS message, well before any timeout.
    func expectRefused(_ connectString: String, _ tls: TLSOptions, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let started = ContinuousClock.now
        do {
            let client = try await ZooKeeperClient.connect(configuration: .init(connectString: connectString, tls: tls), timeout: .seconds(20))
            await client.close()
            Issue.record("connected with \(tls)", sourceLocation: sourceLocation)
        } catch let error as ZooKeeperError {
            #expect(error.code == .authFailed, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains("TLS"), "\(error)", sourceLocation: sourceLocation)
        }
        #expect(ContinuousClock.now - started < .seconds(5), sourceLocation: sourceLocation)
    }
}
