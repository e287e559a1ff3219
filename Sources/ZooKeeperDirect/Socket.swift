#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// Non-blocking TCP sockets, just what the direct driver needs.
enum Socket {
    /// One address of a host, as getaddrinfo gave it.
    struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }
    }

    /// Every address of `host` (numeric or a name), in getaddrinfo's order: a name such as
    /// `localhost` may give ::1 first while the server listens on 127.0.0.1 only.
    static func addresses(of host: HostAddress) -> [Address] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host.host, String(host.port), &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [Address] = []
        var entry = result
        while let info = entry {
            entry = info.pointee.ai_next
            guard let source = info.pointee.ai_addr,
                  Int(info.pointee.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size else { continue }
            var address = Address()
            address.length = info.pointee.ai_addrlen
            withUnsafeMutableBytes(of: &address.storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(start: source, count: Int(info.pointee.ai_addrlen)))
            }
            addresses.append(address)
        }
        return addresses
    }

    /// Starts connecting to `address`; returns the socket, connected or in progress (then
    /// wait for writability and check `connectError`), or nil when that failed at once.
    static func startConnect(_ address: Address) -> Int32? {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = address
        let rc = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
        }
        if rc == 0 || errno == EINPROGRESS { return fd }
        close(fd)
        return nil
    }

    /// The outcome of a non-blocking connect, once the socket is writable: 0 when connected.
    static func connectError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { return errno }
        return error
    }

    /// Writes what it can of `bytes[offset...]`; returns the new offset, or nil when the
    /// connection broke.
    static func send(_ fd: Int32, _ bytes: [UInt8], from offset: Int) -> Int? {
        var offset = offset
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return offset }
            return nil
        }
        return offset
    }

    /// Waits until `fd` is ready for `events` or `timeoutMillis` passes; returns revents.
    static func poll(_ fd: Int32, events: Int16, timeoutMillis: Int64) -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let timeout = Int32(clamping: max(0, timeoutMillis))
        let n = Glibc.poll(&entry, 1, timeout)
        return n > 0 ? entry.revents : 0
    }
}

/// Monotonic milliseconds: the time base of the state machine for this driver.
public func monotonicMillis() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
