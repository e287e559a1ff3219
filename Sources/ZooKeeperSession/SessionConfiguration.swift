import ZooKeeperProtocol

/// How a session connects and keeps itself.
public struct SessionConfiguration: Sendable {
    /// The servers and the chroot.
    public var connectString: ConnectString
    /// Requested session timeout; the server's answer (negotiated) rules afterwards.
    public var sessionTimeout: Millis
    /// Time allowed for one TCP connect plus handshake. Default: the session timeout divided
    /// among the hosts, at least one second, so a whole round fits in one session timeout.
    public var connectTimeout: Millis
    /// Accept a read-only server (one cut off from its quorum). On one, the session asks the
    /// other servers ("isro") whether they serve writes, and moves to the first that does.
    public var canBeReadOnly: Bool
    /// Those questions start 100 ms after landing on a read-only server and back off, doubling,
    /// to at most this interval (the Java client's 60 s).
    public var maxReadWriteProbeInterval: Millis = 60_000
    /// Whether those questions are asked at all: false for a transport that reads the session's
    /// own connection only (an nginx per-request client), where they would time out unanswered.
    public var asksReadWrite = true
    /// Requests written and not yet answered at once; more wait in the queue.
    public var maxInFlight: Int
    /// Largest reply frame accepted.
    public var maxFrameLength: Int
    /// A session to resume instead of creating one.
    public var sessionId: Int64
    /// The password of `sessionId`.
    public var password: [UInt8]
    /// Pause after every host of a round failed, before the next round.
    public var reconnectPause: Millis
    /// SetWatches batches stay under this many bytes of paths (the server's buffer is 1 MiB).
    public var setWatchesBatchBytes: Int
    /// Seeds the host shuffle (for tests); nil uses the system's randomness.
    public var shuffleSeed: UInt64?
    /// SASL on every connection, right after the handshake (nil: none).
    public var sasl: SASLCredentials?
    /// TLS on every connection (nil: plain TCP). The transports carry it out.
    public var tls: TLSOptions?

    /// A configuration; omitted values take the defaults documented on each property.
    public init(
        connectString: ConnectString, sessionTimeout: Millis = 30_000, connectTimeout: Millis? = nil,
        canBeReadOnly: Bool = false, maxInFlight: Int = 10_000, maxFrameLength: Int = FrameDecoder.defaultMaxFrameLength,
        sessionId: Int64 = 0, password: [UInt8] = [UInt8](repeating: 0, count: 16), reconnectPause: Millis = 250,
        setWatchesBatchBytes: Int = 128 * 1024, shuffleSeed: UInt64? = nil,
        sasl: SASLCredentials? = nil, tls: TLSOptions? = nil
    ) {
        self.connectString = connectString
        self.sessionTimeout = sessionTimeout
        self.connectTimeout = connectTimeout ?? max(1_000, sessionTimeout / Millis(max(1, connectString.hosts.count)))
        self.canBeReadOnly = canBeReadOnly
        self.maxInFlight = max(1, maxInFlight)
        self.maxFrameLength = maxFrameLength
        self.sessionId = sessionId
        self.password = password
        self.reconnectPause = reconnectPause
        self.setWatchesBatchBytes = setWatchesBatchBytes
        self.shuffleSeed = shuffleSeed
        self.sasl = sasl
        self.tls = tls
    }
}
