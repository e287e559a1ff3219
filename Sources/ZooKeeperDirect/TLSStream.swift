import CTLSSupport
import ZooKeeperSession

/// The OpenSSL context of a session's TLS options: files read once, shared by its connections.
final class TLSContext: @unchecked Sendable {
    fileprivate let pointer: OpaquePointer
    let options: TLSOptions

    /// Fails with a message naming the file that cannot be used.
    init(_ options: TLSOptions) throws(TLSFailure) {
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = zkt_ctx_new(options.caFile, options.certificateFile, options.keyFile, options.verify ? 1 : 0,
                                        &message, message.count) else {
            throw TLSFailure(message: String(cString: message), refused: true)
        }
        self.pointer = pointer
        self.options = options
    }

    deinit { zkt_ctx_free(pointer) }
}

struct TLSFailure: Error {
    let message: String
    /// A certificate failed either way: retrying cannot help.
    let refused: Bool
}

/// One TLS session over memory buffers: ciphertext in (`feed`), out (`takeOutput`), plaintext
/// through `write` and `read`. Writes made before the handshake completes wait for it.
struct TLSStream {
    private let box: Box
    private(set) var handshakeDone = false
    private var early: [UInt8] = []

    /// Owns the OpenSSL connection (a struct cannot free it).
    private final class Box {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { zkt_conn_free(pointer) }
    }

    /// A client for `host` (or the options' server name); the ClientHello waits in the output.
    init(context: TLSContext, host: String) throws(TLSFailure) {
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = zkt_conn_new(context.pointer, context.options.serverName ?? host, &message, message.count) else {
            throw TLSFailure(message: String(cString: message), refused: false)
        }
        box = Box(pointer)
        try advance()
    }

    var hasOutput: Bool { zkt_output_pending(box.pointer) > 0 }

    /// Appends the ciphertext waiting for the network to `outbox`.
    func takeOutput(into outbox: inout [UInt8]) {
        let pending = zkt_output_pending(box.pointer)
        guard pending > 0 else { return }
        let start = outbox.count
        outbox.append(contentsOf: repeatElement(0, count: pending))
        let taken = outbox.withUnsafeMutableBufferPointer { all -> Int in
            guard let base = all.baseAddress else { return 0 }
            return zkt_take_output(box.pointer, base + start, pending)
        }
        outbox.removeLast(pending - taken)
    }

    /// Ciphertext from the network; advances the handshake while it is under way.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(TLSFailure) {
        guard Int(zkt_feed(box.pointer, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)) == ZKT_OK else {
            throw TLSFailure(message: "TLS: out of memory", refused: false)
        }
        if !handshakeDone { try advance() }
    }

    /// Encrypts `bytes` (or keeps them until the handshake is done).
    mutating func write(_ bytes: [UInt8]) throws(TLSFailure) {
        guard handshakeDone else {
            early += bytes
            return
        }
        var message = [CChar](repeating: 0, count: 512)
        let result = bytes.withUnsafeBufferPointer { Int(zkt_write(box.pointer, $0.baseAddress, $0.count, &message, message.count)) }
        if result != ZKT_OK { throw TLSFailure(message: String(cString: message), refused: result == ZKT_REFUSED) }
    }

    enum Plain {
        case bytes(Int)
        /// Everything received so far is decrypted.
        case needInput
        /// The server ended the TLS session.
        case closed
    }

    /// Decrypts what it can into `buffer`.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSFailure) -> Plain {
        guard handshakeDone else { return .needInput }
        var message = [CChar](repeating: 0, count: 512)
        let n = zkt_read(box.pointer, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, &message, message.count)
        if n > 0 { return .bytes(n) }
        switch n {
        case ZKT_WANT: return .needInput
        case ZKT_CLOSED: return .closed
        default: throw TLSFailure(message: String(cString: message), refused: n == ZKT_REFUSED)
        }
    }

    private mutating func advance() throws(TLSFailure) {
        var message = [CChar](repeating: 0, count: 512)
        switch Int(zkt_handshake(box.pointer, &message, message.count)) {
        case ZKT_OK:
            handshakeDone = true
            if !early.isEmpty {
                let waiting = early
                early = []
                try write(waiting)
            }
        case ZKT_WANT:
            break
        case let result:
            throw TLSFailure(message: String(cString: message), refused: result == ZKT_REFUSED)
        }
    }
}
