/// While a session is on a read-only server (one cut off from its quorum), asks the other
/// servers in turn whether they serve writes, as the Java client's pingRwServer does: a
/// connection of its own, the four-letter word "isro", and the answer "rw" or "ro". The first
/// 100 ms after landing there, then backing off, doubling, to `maxInterval`. The session moves
/// to a server that answers "rw". Part of SessionStateMachine: the transports see the probe as
/// one more connection (open, send, close, reports), nothing else.
struct ReadWriteSearch: Sendable {
    enum Outcome: Equatable {
        case readWrite(hostIndex: Int)
        case notReadWrite
    }

    /// Whether a read-write server ever accepted the session (else its id is made up).
    private(set) var seenReadWrite: Bool
    private let maxInterval: Millis
    /// False: never asks (the session stays until it reconnects).
    private let asks: Bool
    private var interval: Millis = 0
    private var nextProbe: Millis?
    private var probe: (connection: ConnectionID, hostIndex: Int, deadline: Millis, answer: [UInt8])?
    /// The last host asked, so that each probe asks the next one.
    private var cursor = -1

    static let firstInterval: Millis = 100
    static let question = Array("isro".utf8)

    init(seenReadWrite: Bool, maxInterval: Millis, asks: Bool = true) {
        self.seenReadWrite = seenReadWrite
        self.maxInterval = max(Self.firstInterval, maxInterval)
        self.asks = asks
    }

    func isProbe(_ connection: ConnectionID) -> Bool { probe?.connection == connection }

    /// When `tick` has something to do, if ever.
    var nextDeadline: Millis? { probe?.deadline ?? nextProbe }

    /// A handshake completed: on a read-only server with others to ask, the search begins.
    mutating func connected(readOnly: Bool, hostCount: Int, now: Millis) {
        if !readOnly { seenReadWrite = true }
        interval = Self.firstInterval
        nextProbe = asks && readOnly && hostCount > 1 ? now.addingSaturating(interval) : nil
    }

    /// The session left the server (or ended): any probe under way is closed.
    mutating func stop() -> [SessionAction] {
        nextProbe = nil
        guard let probe else { return [] }
        self.probe = nil
        return [.closeConnection(probe.connection)]
    }

    /// Starts the next probe when due; ends one that took too long.
    mutating func tick(now: Millis, hosts: [HostAddress], current: Int, nextConnection: inout ConnectionID,
                       timeout: Millis) -> ([SessionAction], Outcome?) {
        if let probe, now >= probe.deadline {
            self.probe = nil
            return ([.closeConnection(probe.connection)], finished(readWrite: nil, now: now))
        }
        guard probe == nil, let due = nextProbe, now >= due, hosts.count > 1 else { return ([], nil) }
        cursor = (cursor + 1) % hosts.count
        if cursor == current { cursor = (cursor + 1) % hosts.count }
        let connection = nextConnection
        nextConnection += 1
        nextProbe = nil
        probe = (connection, cursor, now.addingSaturating(timeout), [])
        return ([.connect(hosts[cursor], connection)], nil)
    }

    mutating func probeEstablished() -> [SessionAction] {
        guard let probe else { return [] }
        return [.send(Self.question, probe.connection)]
    }

    /// The answer is two letters; the server closes the connection after them.
    mutating func probeReceived(_ bytes: some Sequence<UInt8>, now: Millis) -> Outcome? {
        guard var current = probe else { return nil }
        current.answer += bytes.prefix(2 - min(2, current.answer.count))
        probe = current
        guard current.answer.count >= 2 else { return nil }
        return finished(readWrite: current.answer == Array("rw".utf8) ? current.hostIndex : nil, now: now)
    }

    mutating func probeReceived(_ bytes: UnsafeRawBufferPointer, now: Millis) -> Outcome? {
        probeReceived(bytes.bindMemory(to: UInt8.self), now: now)
    }

    /// The probe's connection failed or closed before a full answer.
    mutating func probeLost(now: Millis) -> Outcome? {
        guard probe != nil else { return nil }
        return finished(readWrite: nil, now: now)
    }

    /// The probe is over (its connection closed by whoever ended it); the next is scheduled
    /// unless the session is moving.
    private mutating func finished(readWrite hostIndex: Int?, now: Millis) -> Outcome {
        probe = nil
        if let hostIndex {
            nextProbe = nil
            return .readWrite(hostIndex: hostIndex)
        }
        interval = min(interval * 2, maxInterval)
        nextProbe = now.addingSaturating(interval)
        return .notReadWrite
    }
}
