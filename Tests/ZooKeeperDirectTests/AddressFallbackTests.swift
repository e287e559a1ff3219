#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ZooKeeperDirect
import ZooKeeperSession

/// A host name stands for every address it resolves to: a refused first address (`localhost`
/// as ::1 while the server listens on 127.0.0.1) must not make the host unreachable.
@Suite struct AddressFallbackTests {
    @Test func aRefusedAddressFallsThroughToTheNextOne() throws {
        let listener = try #require(Loopback.listen())
        defer { close(listener.fd) }
        let refusing = try #require(Loopback.closedPort())
        var connection = DirectConnection()
        let started = connection.open([Loopback.address(port: refusing), Loopback.address(port: listener.port)])
        #expect(started)

        var outcomes: [DirectConnection.ConnectOutcome] = []
        for _ in 0..<10 where outcomes.last != .connected && outcomes.last != .failed {
            #expect(Socket.poll(connection.fd, events: Int16(POLLOUT), timeoutMillis: 2_000) != 0)
            let outcome = connection.finishConnect()
            outcomes.append(outcome)
        }
        #expect(outcomes == [.retrying, .connected])
        connection.close()
    }

    @Test func everyAddressRefusedFails() throws {
        let refusing = try #require(Loopback.closedPort())
        var connection = DirectConnection()
        let started = connection.open([Loopback.address(port: refusing), Loopback.address(port: refusing)])
        #expect(started)
        var outcomes: [DirectConnection.ConnectOutcome] = []
        for _ in 0..<10 where outcomes.last != .connected && outcomes.last != .failed {
            _ = Socket.poll(connection.fd, events: Int16(POLLOUT), timeoutMillis: 2_000)
            let outcome = connection.finishConnect()
            outcomes.append(outcome)
        }
        #expect(outcomes == [.retrying, .failed])
        #expect(!connection.isOpen)
    }

    @Test func aNameResolvesToItsAddresses() {
        let addresses = HostAddress(host: "localhost", port: 2181).resolvedAddresses()
        #expect(!addresses.isEmpty)
    }
}

/// Sockets on 127.0.0.1 for the tests above.
private enum Loopback {
    static func address(port: UInt16) -> Socket.Address {
        var address = Socket.Address()
        var inet = sockaddr_in()
        inet.sin_family = sa_family_t(AF_INET)
        inet.sin_port = port.bigEndian
        inet.sin_addr.s_addr = inet_addr("127.0.0.1")
        withUnsafeMutableBytes(of: &address.storage) { target in
            withUnsafeBytes(of: inet) { target.copyMemory(from: $0) }
        }
        address.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return address
    }

    /// A listening socket on an ephemeral port.
    static func listen() -> (fd: Int32, port: UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var any = address(port: 0)
        let bound = withUnsafePointer(to: &any.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, any.length) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0, let port = port(of: fd) else { close(fd); return nil }
        return (fd, port)
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() -> UInt16? {
        guard let socket = listen() else { return nil }
        close(socket.fd)
        return socket.port
    }

    private static func port(of fd: Int32) -> UInt16? {
        var inet = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &inet) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? UInt16(bigEndian: inet.sin_port) : nil
    }
}
