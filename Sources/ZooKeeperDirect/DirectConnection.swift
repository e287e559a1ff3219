#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// The direct transport's one connection as a byte stream: connecting, writing through an
/// outbox, reading, closing, and TLS over the socket when the session has a `TLSContext`.
/// Everything that touches the socket is here; the driving and polling are `DirectSession`'s.
struct DirectConnection {
    /// What a read gave.
    enum Received {
        case bytes(Int)
        /// Nothing more for now.
        case drained
        /// The peer closed or the connection broke (the socket is closed).
        case ended
        /// TLS refused the connection (a certificate either way; the socket is closed).
        case refused(String)
    }

    private(set) var fd: Int32 = -1
    /// The runtime's name for the connection in `fd`.
    private(set) var id: ConnectionID = 0
    /// The connect is in progress (wait for writability, then `finishConnect`).
    private(set) var connecting = false
    /// The host's addresses not tried yet for this connection.
    private var untried: ArraySlice<Socket.Address> = []
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    /// TLS for every connection (nil: plain TCP), and the current connection's TLS session.
    private var tlsContext: TLSContext?
    private var tls: TLSStream?
    private var host = ""
    /// Ciphertext as read from the socket (TLS only).
    private var cipher = CipherBuffer()

    var isOpen: Bool { fd >= 0 }
    var hasOutput: Bool { outboxOffset < outbox.count }

    /// Starts connecting `id` to `host` (closing any previous socket), to each of its
    /// addresses in turn; false when none of them can even start.
    mutating func open(_ host: HostAddress, id: ConnectionID, tls: TLSContext? = nil) -> Bool {
        close()
        self.id = id
        self.host = host.host
        tlsContext = tls
        return open(host.resolvedAddresses())
    }

    /// Starts connecting to each of `addresses` in turn (the connection's id and TLS as set).
    mutating func open(_ addresses: [Socket.Address]) -> Bool {
        untried = addresses[...]
        return connectNextAddress()
    }

    /// Once the socket is writable while connecting: `.connected`, `.retrying` (that address
    /// refused; the next one is being tried, wait for writability again) or `.failed` (no
    /// address left; the socket is closed).
    mutating func finishConnect() -> ConnectOutcome {
        connecting = false
        guard Socket.connectError(fd) == 0 else {
            close()
            return connectNextAddress() ? .retrying : .failed
        }
        untried = []
        guard let tlsContext else { return .connected }
        do {
            var stream = try TLSStream(context: tlsContext, host: host)
            stream.takeOutput(into: &outbox)  // the ClientHello
            tls = stream
        } catch {
            close()
            return .failed
        }
        return flush() ? .connected : .failed
    }

    enum ConnectOutcome { case connected, retrying, failed }

    /// Starts a connect to the next untried address; false when none is left.
    private mutating func connectNextAddress() -> Bool {
        while let address = untried.popFirst() {
            if let socket = Socket.startConnect(address) {
                fd = socket
                connecting = true
                return true
            }
        }
        return false
    }

    /// Queues `bytes` and writes what the socket takes; false when the connection broke (it
    /// is closed then).
    mutating func write(_ bytes: [UInt8]) -> Bool {
        if tls != nil {
            do { try tls?.write(bytes) } catch {
                close()
                return false
            }
            tls?.takeOutput(into: &outbox)
        } else if outbox.isEmpty {
            // Straight from the caller's bytes: the outbox keeps only what the socket did not
            // take, so it shares no buffer (emptying a shared one would allocate at every write).
            guard fd >= 0 else { return true }
            guard let sent = Socket.send(fd, bytes, from: 0) else {
                close()
                return false
            }
            if sent < bytes.count { (outbox, outboxOffset) = (bytes, sent) }
            return true
        } else {
            outbox += bytes
        }
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
        if tls != nil { return readTLS(into: buffer) }
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

    /// Decrypts into `buffer` until it is full or TLS needs input the socket does not have yet,
    /// reading ciphertext (and answering the handshake) as it goes. A record is at most 16 KB,
    /// so one decrypt rarely fills the buffer: stopping there would leave whole records in
    /// OpenSSL with the socket drained, and no readiness would ever come for them. A short
    /// result therefore means exactly what it means on plain TCP: nothing more for now.
    private mutating func readTLS(into buffer: UnsafeMutableRawBufferPointer) -> Received {
        var filled = 0
        do {
            while fd >= 0 && filled < buffer.count {
                switch try tls?.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])) {
                case let .bytes(n)?:
                    filled += n
                    continue
                case .closed?:
                    if filled > 0 { return .bytes(filled) }  // the close is seen again on the next read
                    close()
                    return .ended
                case .needInput?, nil: break
                }
                let n = recv(fd, cipher.bytes.baseAddress, cipher.bytes.count, 0)
                if n > 0 {
                    try tls?.feed(UnsafeRawBufferPointer(rebasing: cipher.bytes[0..<n]))
                    tls?.takeOutput(into: &outbox)
                    if !flush() { return .ended }
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if filled > 0 { return .bytes(filled) }  // an end or a drained socket waits for the next read
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .drained }
                close()
                return .ended
            }
        } catch {
            close()
            return error.refused ? .refused(error.message) : .ended
        }
        return filled > 0 ? .bytes(filled) : .ended
    }

    /// Closes the socket (which also drops it from the poller's epoll set) and its outbox.
    mutating func close() {
        tls = nil
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        connecting = false
        outbox.removeAll()
        outboxOffset = 0
    }
}

/// A TLS record's worth of ciphertext, allocated once per session.
private final class CipherBuffer {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 17 * 1024, alignment: 8)
    deinit { bytes.deallocate() }
}
