#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// Non-blocking TCP sockets, just what the direct driver needs.
enum Socket {
    typealias Address = ResolvedAddress

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
