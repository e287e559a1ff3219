/// What moves a session's bytes: opens connections, writes, closes, and keeps time for the
/// runtime. A transport owns its `SessionRuntime`, serializes every call into it (an event loop,
/// a lock, the one thread of its host) and reports what happened through the runtime's entry
/// points: `connectionEstablished`, `connectionFailed`, `connectionClosed`, `bytesReceived` and,
/// when the deadline it was given passes, `tick`. The runtime calls these methods from inside
/// those entry points (and inside `start`, `submit`, `close`), on the transport's own terms.
///
/// A connection is a byte stream: how it is made (TCP, later TLS over it) is the transport's
/// business alone; the runtime only sees `connectionEstablished` once bytes can flow.
public protocol SessionTransport: AnyObject {
    /// Open a connection to `host`; report `connectionEstablished` or `connectionFailed` (at once
    /// from inside this call if it fails at once).
    func open(_ host: HostAddress, connection: ConnectionID)
    /// Write `bytes` on the connection (a connection that is gone drops them).
    func send(_ bytes: [UInt8], connection: ConnectionID)
    /// Close the connection; report nothing more about it.
    func close(connection: ConnectionID)
    /// Called at the end of every step of the runtime (after its I/O and listeners): `tick` is
    /// due at `deadline` (monotonic ms), or never (nil, also once the session ended). Ticking
    /// earlier is harmless; later delays pings and timeouts.
    func scheduleTick(at deadline: Millis?)
    /// The session changed state; called before any listener hears it.
    func sessionChanged(_ event: SessionEvent)
}

extension SessionTransport {
    public func sessionChanged(_ event: SessionEvent) {}
}
