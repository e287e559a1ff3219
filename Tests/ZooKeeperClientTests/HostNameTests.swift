import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Host names in the connect string are looked up off the event loop, every address tried.
@Suite struct HostNameTests {
    @Test func aNamedHostConnects() async throws {
        let server = try await ZooKeeperServer.shared()
        let port = try #require(server.connectString.split(separator: ":").last)
        let zk = try await ZooKeeperClient.connect("localhost:\(port)", sessionTimeout: .seconds(10))
        #expect(try await zk.exists("/") != nil)
        #expect(zk.currentHost?.host == "localhost")
        await zk.close()
    }
}
