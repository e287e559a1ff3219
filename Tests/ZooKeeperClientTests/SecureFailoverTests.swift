import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// A 3-node ensemble with TLS (client certificates needed) and SASL: kill -9 of the client's
/// server keeps the session, its watches and both identities (a new handshake and a new SASL
/// exchange on the next server). The plain version is FailoverTests.
@Suite(.serialized) struct SecureFailoverTests {
    @Test func killingTheServerKeepsTheSessionWatchesAndIdentity() async throws {
        let certificates = try await TestCertificates.make()
        let ensemble = try await ZooKeeperServer.start(servers: 3, security: ServerSecurity(
            saslUsers: ["bob": "bobsecret"], tls: .init(certificates: certificates, requireClientCertificate: true)))
        defer { ensemble.stopAll() }
        let timeout = Duration.seconds(6)
        let configuration = ZooKeeperClient.Configuration(
            connectString: ensemble.secureConnectString, sessionTimeout: timeout,
            sasl: SASLCredentials(username: "bob", password: "bobsecret"),
            tls: TLSOptions(caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
                            keyFile: certificates.clientKey, serverName: "localhost"))
        let zk = try await ZooKeeperClient.connect(configuration: configuration)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }
        let session = zk.sessionId
        let bobOnly = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        try await zk.create("/secure-eph", data: [1], acl: bobOnly, mode: .ephemeral)
        try await zk.create("/secure-watched", data: [0], acl: bobOnly)
        let events = EventLog<WatchEvent>()
        _ = try await zk.getData("/secure-watched") { events.append($0) }

        let host = try #require(zk.currentHost)
        let victim = try #require(ensemble.serverIDs.first { ensemble.securePort(of: $0) == host.port })
        try await ensemble.kill9(server: victim)
        let seen = await states.wait(count: 2, timeout: timeout)
        #expect(seen.prefix(2) == [.disconnected, .reconnected], "\(seen)")
        #expect(zk.sessionId == session)
        #expect(zk.currentHost?.port != host.port)

        let identities = try await zk.whoAmI()
        #expect(identities.contains(ClientInfo(authScheme: "x509", user: "CN=client")), "\(identities)")
        #expect(identities.contains(ClientInfo(authScheme: "sasl", user: "bob")), "\(identities)")
        #expect(try await zk.getData("/secure-eph").data == [1], "still bob after the failover")

        // Another SASL client, through a surviving server's plain port, changes the node.
        let survivor = try #require(ensemble.serverIDs.first { $0 != victim })
        let writer = try await ZooKeeperClient.connect(configuration: .init(
            connectString: "127.0.0.1:\(ensemble.port(of: survivor))", sessionTimeout: timeout,
            sasl: SASLCredentials(username: "bob", password: "bobsecret")))
        #expect(try await writer.exists("/secure-eph")?.ephemeralOwner == session)
        try await writer.setData("/secure-watched", data: [1])
        #expect(await events.wait() == [WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/secure-watched")])
        try await writer.delete("/secure-watched")
        await writer.close()
        await zk.close()
    }
}
