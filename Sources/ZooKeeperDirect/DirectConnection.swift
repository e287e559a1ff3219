#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// The direct transport's one connection as a byte stream: connecting, writing through an
/// outbox, reading, closing. Everything that touches the socket is here, so that a TLS layer
/// (issue 14) replaces this type and leaves the driving and polling in `DirectSession` alone.
struct DirectConnection {
    /// What a read gave.
    enum Received {
        case bytes(Int)
        /// Nothing more for now.
        case drained
        /// The peer closed or the connection broke (the socket is closed).
        case ended
    }

    private(set) var fd: Int32 = -1
    /// The runtime's name for the connection in `fd`.
    private(set) var id: ConnectionID = 0
    /// The connect is in progress (wait for writability, then `finishConnect`).
    private(set) var connecting = false
    private var outbox: [UInt8] = []
    private var outboxOffset = 0

    var isOpen: Bool { fd >= 0 }
    var hasOutput: Bool { outboxOffset < outbox.count }

    /// Starts connecting `id` to `host` (closing any previous socket); false when that fails
    /// at once.
    mutating func open(_ host: HostAddress, id: ConnectionID) -> Bool {
        close()
        self.id = id
        guard let socket = Socket.startConnect(host) else { return false }
        fd = socket
        connecting = true
        return true
    }

    /// Once the socket is writable while connecting: whether the connect succeeded (the
    /// socket is closed when it did not).
    mutating func finishConnect() -> Bool {
        connecting = false
        if Socket.connectError(fd) == 0 { return true }
        close()
        return false
    }

    /// Queues `bytes` and writes what the socket takes; false when the connection broke (it
    /// is closed then).
    mutating func write(_ bytes: [UInt8]) -> Bool {
        if outbox.isEmpty { outbox = bytes } else { outbox += bytes }
        return flush()
    }

    /// Writes what the socket takes of the outbox; false when the connection broke.
    mutating func flush() -> Bool {
        guard fd >= 0, outboxOffset < outbox.count else { return true }
        guard let offset = Socket.send(fd, outbox, from: outboxOffset) else {
            close()
            return false
        }
        outboxOffset = offset
        if outboxOffset == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxOffset = 0
        }
        return true
    }

    /// Reads once into `buffer`.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> Received {
        while fd >= 0 {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .drained }
            close()
            return .ended
        }
        return .ended
    }

    /// Closes the socket (which also drops it from the poller's epoll set) and its outbox.
    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        connecting = false
        outbox.removeAll()
        outboxOffset = 0
    }
}
