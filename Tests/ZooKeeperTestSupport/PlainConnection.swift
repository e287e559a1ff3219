#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperProtocol

/// A deliberately bare ZooKeeper connection for tests: one blocking socket, the protocol
/// library's records, nothing else. It proves the protocol layer against a real server without
/// any session logic in between.
public final class PlainConnection {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// A reply: its header and a reader positioned at its body.
    public struct Reply {
        public let header: ReplyHeader
        public var body: JuteReader
        public var error: ErrorCode { header.error }

        public mutating func decode<R: JuteDecodable>(_: R.Type = R.self) throws -> R {
            guard header.err == 0 else { throw Failure("server answered \(header.error)") }
            return try R.decode(from: &body)
        }
    }

    private let fd: Int32
    private var decoder = FrameDecoder()
    private var nextXid: Int32 = 1
    public let session: ConnectResponse
    /// Watch events that arrived while waiting for replies, oldest first.
    public private(set) var events: [WatcherEvent] = []

    /// Connects and performs the handshake (new session unless `sessionId` is given).
    public init(host: String = "127.0.0.1", port: Int, sessionTimeout: Int32 = 10_000, sessionId: Int64 = 0,
                passwd: [UInt8] = [UInt8](repeating: 0, count: 16), ioTimeoutSeconds: Int = 10) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure("connect to \(host):\(port): errno \(code)")
        }
        self.fd = fd
        do {
            try Self.sendAll(fd, FrameEncoder.connectFrame(
                ConnectRequest(timeOut: sessionTimeout, sessionId: sessionId, passwd: passwd, readOnly: false)))
            var decoder = FrameDecoder()
            let frame = try Self.readFrame(fd, &decoder)
            session = try ConnectResponse.decode(exactly: frame)
            self.decoder = decoder
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends one request and waits for its reply, queueing any watch events that come first.
    public func call(_ opCode: OpCode, _ body: some JuteEncodable) throws -> Reply {
        let xid = nextXid
        nextXid += 1
        return try call(xid: xid, opCode, body)
    }

    /// Sends with an explicit (possibly reserved) xid and waits for the reply carrying it.
    public func call(xid: Int32, _ opCode: OpCode, _ body: some JuteEncodable) throws -> Reply {
        try Self.sendAll(fd, FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: body))
        while true {
            let frame = try Self.readFrame(fd, &decoder)
            var reader = JuteReader(frame)
            let header = try ReplyHeader.decode(from: &reader)
            if header.xid == Xid.watchEvent {
                events.append(try WatcherEvent.decode(from: &reader))
                continue
            }
            guard header.xid == xid else { throw Failure("reply xid \(header.xid), expected \(xid)") }
            return Reply(header: header, body: reader)
        }
    }

    /// The next watch event, waiting for the server if none is queued.
    public func nextEvent() throws -> WatcherEvent {
        if !events.isEmpty { return events.removeFirst() }
        while true {
            let frame = try Self.readFrame(fd, &decoder)
            var reader = JuteReader(frame)
            let header = try ReplyHeader.decode(from: &reader)
            if header.xid == Xid.watchEvent { return try WatcherEvent.decode(from: &reader) }
        }
    }

    /// Ends the session (its ephemerals go at once).
    public func closeSession() throws {
        _ = try call(.closeSession, EmptyRecord())
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure("send: errno \(errno)") }
            sent += n
        }
    }

    private static func readFrame(_ fd: Int32, _ decoder: inout FrameDecoder) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let frame = try decoder.nextFrame() { return frame }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(n == 0 ? "connection closed by server" : "recv: errno \(errno)") }
            decoder.append(chunk[0..<n])
        }
    }
}
