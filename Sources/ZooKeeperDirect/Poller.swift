import CDirectSupport
#if canImport(Glibc)
import Glibc
#endif

/// The process's one background thread for direct sessions: it reads their sockets and runs
/// their timers (pings, timeouts, reconnects) while no caller is driving them. Created on the
/// first session, never at load time, and again in a forked child (the parent's thread does
/// not exist there).
final class Poller: @unchecked Sendable {
    nonisolated(unsafe) private static var mutex = pthread_mutex_t()
    nonisolated(unsafe) private static var current: Poller?
    private static let initialized: Bool = {
        pthread_mutex_init(&mutex, nil)
        return true
    }()

    /// The poller of this process, started if need be.
    static func shared() -> Poller {
        _ = initialized
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if let poller = current, poller.pid == getpid() { return poller }
        let poller = Poller()
        current = poller
        poller.startThread()
        return poller
    }

    private let pid = getpid()
    private let epoll: Int32
    private let wakeup: Int32
    private var lock = pthread_mutex_t()
    private var sessions: [UInt64: DirectSession] = [:]
    private var deadlines: [UInt64: Int64] = [:]
    private var plannedWake: Int64 = .max
    private var nextToken: UInt64 = 1

    private init() {
        epoll = zkd_epoll_create()
        wakeup = zkd_eventfd()
        pthread_mutex_init(&lock, nil)
        _ = zkd_epoll_arm(epoll, wakeup, UInt32(ZKD_IN), 0, 0)
    }

    private func startThread() {
        // Signals are the host's (nginx handles SIGCHLD, SIGHUP, SIGQUIT in its main thread):
        // the thread starts with every signal blocked, so it never receives one.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let poller = Unmanaged<Poller>.fromOpaque(context!).takeRetainedValue()
            poller.run()
            return nil
        }, context)
        pthread_detach(thread)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    // MARK: Sessions (called with the session's lock held)

    func register(_ session: DirectSession) -> UInt64 {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let token = nextToken
        nextToken += 1
        sessions[token] = session
        return token
    }

    func unregister(_ token: UInt64) {
        pthread_mutex_lock(&lock)
        sessions[token] = nil
        deadlines[token] = nil
        pthread_mutex_unlock(&lock)
    }

    /// Watches `fd` once for `events` (one-shot: re-armed after each handling).
    func arm(_ token: UInt64, fd: Int32, events: UInt32) {
        _ = zkd_epoll_arm(epoll, fd, events, token, 1)
    }

    /// The session's next timer; wakes the thread when it is earlier than its planned wake
    /// (unless `soft`: then the thread sees it when it wakes anyway, within a second).
    func schedule(_ token: UInt64, at deadline: Int64?, soft: Bool = false) {
        pthread_mutex_lock(&lock)
        deadlines[token] = deadline
        let wake = !soft && (deadline.map { $0 < plannedWake } ?? false)
        if wake { plannedWake = deadline! }
        pthread_mutex_unlock(&lock)
        if wake {
            var one: UInt64 = 1
            _ = write(wakeup, &one, 8)
        }
    }

    // MARK: The thread

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            pthread_mutex_lock(&lock)
            let next = deadlines.values.min() ?? .max
            let now = monotonicMillis()
            plannedWake = min(next, now + 1_000)
            let timeout = Int32(clamping: max(0, plannedWake - now))
            pthread_mutex_unlock(&lock)

            let count = zkd_epoll_wait(epoll, &tokens, &events, timeout)
            for index in 0..<max(0, Int(count)) {
                if tokens[index] == 0 {
                    var value: UInt64 = 0
                    _ = read(wakeup, &value, 8)
                    continue
                }
                session(tokens[index])?.pollerReady(events[index])
            }
            pthread_mutex_lock(&lock)
            let due = monotonicMillis()
            let tokens = deadlines.filter { $0.value <= due }.map(\.key)
            let ready = tokens.compactMap { sessions[$0] }
            pthread_mutex_unlock(&lock)
            for session in ready { session.pollerTick() }
        }
    }

    private func session(_ token: UInt64) -> DirectSession? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return sessions[token]
    }
}
