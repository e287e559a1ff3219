import Testing
import ZooKeeperProtocol
import ZooKeeperSession

@Suite struct ConnectStringTests {
    @Test func ipv4WithPort() throws {
        let parsed = try ConnectString("10.0.0.1:2182")
        #expect(parsed.hosts == [HostAddress(host: "10.0.0.1", port: 2182)])
        #expect(parsed.chroot == .none)
    }

    @Test func hostNamesWithAndWithoutPort() throws {
        let parsed = try ConnectString("zk1.example.com:3000,zk2.example.com,localhost:1")
        #expect(parsed.hosts == [
            HostAddress(host: "zk1.example.com", port: 3000),
            HostAddress(host: "zk2.example.com", port: 2181),
            HostAddress(host: "localhost", port: 1),
        ])
    }

    @Test func defaultPortIs2181() throws {
        #expect(ConnectString.defaultPort == 2181)
        #expect(try ConnectString("zk").hosts == [HostAddress(host: "zk", port: 2181)])
    }

    @Test func whitespaceAroundEntriesIsIgnored() throws {
        #expect(try ConnectString("  a:1 , b:2  ").hosts == [HostAddress(host: "a", port: 1), HostAddress(host: "b", port: 2)])
    }

    @Test func bracketedIPv6WithPort() throws {
        let parsed = try ConnectString("[::1]:2222,[2001:db8::7]:65535")
        #expect(parsed.hosts == [HostAddress(host: "::1", port: 2222), HostAddress(host: "2001:db8::7", port: 65535)])
        #expect(parsed.hosts[0].description == "[::1]:2222")
    }

    @Test func bracketedIPv6WithoutPort() throws {
        #expect(try ConnectString("[fe80::1]").hosts == [HostAddress(host: "fe80::1", port: 2181)])
    }

    @Test func chrootSuffix() throws {
        let parsed = try ConnectString("a:1,[::1]:2,c/app/sub")
        #expect(parsed.hosts == [HostAddress(host: "a", port: 1), HostAddress(host: "::1", port: 2), HostAddress(host: "c", port: 2181)])
        #expect(parsed.chroot.prefix == "/app/sub")
    }

    @Test func rootChrootIsNoChroot() throws {
        #expect(try ConnectString("a:1/").chroot == .none)
        #expect(try ConnectString("a:1/").hosts == [HostAddress(host: "a", port: 1)])
    }

    @Test(arguments: [
        "",
        "   ",
        "a:1,,b:2",
        "a:1,",
        ",a:1",
        "/app",
        ":2181",
        "[]:2181",
    ])
    func missingHostsAreRefused(_ text: String) {
        #expect(throws: ConnectStringError.self) { try ConnectString(text) }
    }

    @Test(arguments: ["::1", "::1:2181", "fe80::1:2181,a:1", "2001:db8::7"])
    func unbracketedIPv6IsRefused(_ text: String) throws {
        let error = try #require(throws: ConnectStringError.self) { try ConnectString(text) }
        #expect(error.connectString == text)
        #expect(error.reason.contains("brackets"))
    }

    @Test(arguments: ["[::1", "[::1]2181", "[::1]:x"])
    func malformedBracketsAreRefused(_ text: String) {
        #expect(throws: ConnectStringError.self) { try ConnectString(text) }
    }

    @Test(arguments: ["a:0", "a:65536", "a:-1", "a:abc", "a:", "a:21 81", "[::1]:", "[::1]:70000", "a:1,b:99999"])
    func badPortsAreRefused(_ text: String) throws {
        let error = try #require(throws: ConnectStringError.self) { try ConnectString(text) }
        #expect(error.reason.contains("port"))
    }

    @Test(arguments: ["a:1/app/", "a:1/app//x", "a:1/app/./x", "a:1/app/../x", "a:1/ap\u{1}p"])
    func badChrootsAreRefused(_ text: String) throws {
        let error = try #require(throws: ConnectStringError.self) { try ConnectString(text) }
        #expect(error.reason.hasPrefix("chroot"))
    }

    @Test func errorDescriptionNamesTheString() throws {
        let error = try #require(throws: ConnectStringError.self) { try ConnectString("a:x") }
        #expect(error.description.contains("\"a:x\""))
    }
}
