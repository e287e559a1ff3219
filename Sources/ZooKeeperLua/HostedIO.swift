import ZooKeeperProtocol
import ZooKeeperSession

/// The I/O of a client's hosted sessions, as Lua's cosocket driver sees it: commands to carry
/// out on numbered links (one per connection), and reports about those links. A client may have
/// an old session still closing while its new one connects, so links are numbered here, across
/// sessions; a session leaves once it ended and has nothing left to do.
final class HostedIO {
    /// A command for the Lua driver.
    enum Command {
        /// `probe`: a connection that only asks a server whether it serves writes, beside the
        /// session's own (which the per-request driver reads).
        case connect(link: UInt64, host: String, port: Int, probe: Bool)
        case send(link: UInt64, bytes: [UInt8])
        case close(link: UInt64)
    }

    /// What the Lua driver reports about a link.
    enum Report: Int32 {
        case established = 1, failed = 2, closed = 3, received = 4
        /// The link's TLS refused a certificate (either way); the bytes say why.
        case refused = 5
    }

    private var sessions: [HostedSession] = []
    private var links: [UInt64: (session: HostedSession, connection: ConnectionID)] = [:]
    private var nextLink: UInt64 = 1

    /// Starts carrying out `session`'s I/O.
    func adopt(_ session: HostedSession) {
        sessions.append(session)
    }

    var isIdle: Bool { sessions.isEmpty }

    /// The link of `session`'s connection when it is the only session and link here (nothing
    /// else to carry on: no probe, no older session closing).
    func onlyLink(of session: HostedSession) -> UInt64? {
        guard sessions.count == 1, sessions[0] === session, links.count == 1, let (link, entry) = links.first,
              entry.connection == session.currentConnection else { return nil }
        return link
    }

    /// The next command of any session, if any.
    func nextCommand() -> Command? {
        var index = 0
        while index < sessions.count {
            let session = sessions[index]
            if let command = session.nextCommand() {
                switch command {
                case let .connect(host, port, connection):
                    let link = nextLink
                    nextLink += 1
                    links[link] = (session, connection)
                    return .connect(link: link, host: host, port: port, probe: session.currentConnection != connection)
                case let .send(bytes, connection):
                    guard let link = link(of: session, connection) else { continue }
                    return .send(link: link, bytes: bytes)
                case let .close(connection):
                    guard let link = link(of: session, connection) else { continue }
                    links[link] = nil
                    return .close(link: link)
                }
            }
            if session.state.isTerminal {
                // Ended with nothing left to write: forget it and its links.
                sessions.remove(at: index)
                links = links.filter { $0.value.session !== session }
                continue
            }
            index += 1
        }
        return nil
    }

    /// Hands a report to the session of `link`; reports about forgotten links are dropped.
    func report(_ report: Report, link: UInt64, bytes: UnsafeRawBufferPointer) {
        guard let (session, connection) = links[link] else { return }
        switch report {
        case .established: session.connectionEstablished(connection)
        case .failed:
            links[link] = nil
            session.connectionFailed(connection)
        case .closed:
            links[link] = nil
            session.connectionClosed(connection)
        case .received: session.bytesReceived(bytes, connection: connection)
        case .refused:
            links[link] = nil
            session.connectionRefused(connection, message: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Time passed: every session checks its timers.
    func tick() {
        for session in sessions { session.tick() }
    }

    /// The earliest timer of any session (monotonic ms).
    var nextDeadline: Int64? {
        var earliest: Int64?
        for session in sessions {
            if let due = session.nextDeadline, earliest.map({ due < $0 }) ?? true { earliest = due }
        }
        return earliest
    }

    private func link(of session: HostedSession, _ connection: ConnectionID) -> UInt64? {
        links.first { $0.value.session === session && $0.value.connection == connection }?.key
    }
}
