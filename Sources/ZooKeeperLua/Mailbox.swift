#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import ZooKeeperProtocol
import ZooKeeperSession

/// Where the I/O thread leaves news for the Lua thread: answers to tickets, callbacks to run,
/// events for the contract's blocking watch(). The Lua thread waits on it; nothing here touches
/// the Lua state.
final class Mailbox: @unchecked Sendable {
    /// What a ticket waits for, as the I/O thread reports it.
    enum News: Sendable {
        case operation(Result<OperationResult, ZooKeeperError>)
        case session(SessionEvent)
        /// The event of a watch() on a shared client (which hears only its own watch).
        case watchEvent(WatchEvent)
        /// What a recipe told the call waiting for it.
        case recipe(RecipeNews)
    }

    /// A callback to run on the Lua thread.
    struct Callback: Sendable {
        var ref: Int32
        var arguments: [LuaValue]
        /// A one-shot callback: release its reference after it ran.
        var last: Bool
        /// Its place among posted callbacks (set by post(callback:)).
        var sequence: UInt64 = 0
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var news: [UInt64: [News]] = [:]
    private var callbacks: [Callback] = []
    /// How many callbacks are queued, readable without the lock (a driving caller asks at
    /// every turn of its loop).
    private let queuedCallbacks = Atomic<Int>(0)
    private var watchEvents: [WatchEvent] = []
    private var posted: UInt64 = 0
    /// The session's recent state changes as the on_state fan-out posted them, numbered.
    private var stateLog: [(number: UInt64, event: SessionEvent)] = []
    private var statesPosted: UInt64 = 0
    /// A bound on queued callbacks so a program that never dispatches cannot grow it forever;
    /// what overflows is counted and reported with the next callback run.
    static let callbackLimit = 100_000
    private(set) var droppedCallbacks = 0

    /// Whether an on_state callback was registered: state changes are queued as callbacks only then.
    private var hasStateCallbacks = false

    func stateCallbackRegistered() {
        locked { hasStateCallbacks = true }
    }

    /// Whether waits may block (false when Lua drives the I/O: everything is posted by the
    /// thread that would wait, so there is nothing to wait for).
    let blocking: Bool

    /// Whether to remember which tickets got news (for a shared client's driver, which wakes
    /// only the waiters whose answer came instead of asking about every waiter).
    let tracksAnswered: Bool
    private var answered: [UInt64] = []

    init(blocking: Bool = true, tracksAnswered: Bool = false) {
        self.blocking = blocking
        self.tracksAnswered = tracksAnswered
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    // MARK: I/O thread

    /// A ticket answered without news (its answer went to the ticket itself): for a shared
    /// client's driver, which wakes only the waiters answered.
    func noteAnswered(_ ticket: UInt64) {
        locked { answered.append(ticket) }
    }

    func post(_ item: News, ticket: UInt64) {
        locked {
            news[ticket, default: []].append(item)
            if tracksAnswered { answered.append(ticket) }
            pthread_cond_broadcast(&condition)
        }
    }

    func post(callback: Callback) {
        locked {
            append(callback)
            pthread_cond_broadcast(&condition)
        }
    }

    /// Queues a callback; the lock is held.
    private func append(_ callback: Callback) {
        posted += 1
        if callbacks.count >= Self.callbackLimit {
            droppedCallbacks += 1
        } else {
            var callback = callback
            callback.sequence = posted
            callbacks.append(callback)
            queuedCallbacks.store(callbacks.count, ordering: .releasing)
        }
    }

    /// A state change for the on_state callbacks (a callback with reference 0), logged so that
    /// a call that waited for the change can wait for this post too (waitForState).
    func post(state event: SessionEvent, callback: @autoclosure () -> Callback) {
        locked {
            // Nobody to call: no callback to queue, nor made (one registered later hears later changes only).
            if hasStateCallbacks { append(callback()) }
            statesPosted += 1
            stateLog.append((statesPosted, event))
            if stateLog.count > 32 { stateLog.removeFirst(stateLog.count - 32) }
            pthread_cond_broadcast(&condition)
        }
    }

    func post(watchEvent: WatchEvent) {
        locked {
            watchEvents.append(watchEvent)
            pthread_cond_broadcast(&condition)
        }
    }

    // MARK: Lua thread

    /// Whether nothing waits here for the Lua thread: no answer, callback or watch event.
    var isIdle: Bool {
        locked { callbacks.isEmpty && watchEvents.isEmpty && news.values.allSatisfy(\.isEmpty) }
    }

    /// The tickets that got news since the last call, in order (repeats possible).
    func takeAnswered() -> [UInt64] {
        locked {
            defer { answered.removeAll(keepingCapacity: true) }
            return answered
        }
    }

    func takeNews(_ ticket: UInt64) -> [News] {
        locked { news.removeValue(forKey: ticket) ?? [] }
    }

    func forget(_ ticket: UInt64) {
        locked { _ = news.removeValue(forKey: ticket) }
    }

    /// How many state changes were posted so far (for waitForState).
    func stateCount() -> UInt64 {
        locked { statesPosted }
    }

    /// Waits until a state change numbered after `count` that `matches` is posted, or the
    /// deadline (monotonic ms) passes. The session tells its state observers one by one, so the
    /// change a call waited for may reach the on_state fan-out a moment after the call's own
    /// observer: waiting for it queues its callbacks before the call returns, so that a callback
    /// registered after the call never hears it.
    func waitForState(after count: UInt64, until deadline: Int64, matching matches: (SessionEvent) -> Bool) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while !stateLog.contains(where: { $0.number > count && matches($0.event) }) {
            if !blocking || monotonicNow() >= deadline { return }
            var until = timespec(tv_sec: Int(deadline / 1000), tv_nsec: Int(deadline % 1000) * 1_000_000)
            pthread_cond_timedwait(&condition, &mutex, &until)
        }
    }

    /// The sequence number of the last callback posted: later ones have greater numbers.
    func lastSequence() -> UInt64 {
        locked { posted }
    }

    func takeCallback() -> Callback? {
        guard hasCallbacks else { return nil }  // after every call: nearly always none, no lock
        return locked {
            guard !callbacks.isEmpty else { return nil }
            defer { queuedCallbacks.store(callbacks.count, ordering: .releasing) }
            return callbacks.removeFirst()
        }
    }

    /// Whether a callback is due, without the lock.
    var hasCallbacks: Bool { queuedCallbacks.load(ordering: .acquiring) > 0 }

    func takeWatchEvent() -> WatchEvent? {
        locked { watchEvents.isEmpty ? nil : watchEvents.removeFirst() }
    }

    /// Looks without waiting: whether a callback is due, and whether `ready` holds.
    func check(ready: (_ news: [UInt64: [News]], _ watchEvents: [WatchEvent]) -> Bool) -> (callbackDue: Bool, ready: Bool) {
        locked { (!callbacks.isEmpty, ready(news, watchEvents)) }
    }

    /// Waits until `ready` holds (checked under the lock), a callback is due, or the deadline
    /// (monotonic ms) passes. Returns whether a callback is due.
    func wait(until deadline: Int64, ready: (_ news: [UInt64: [News]], _ watchEvents: [WatchEvent]) -> Bool) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if !callbacks.isEmpty { return true }
            if ready(news, watchEvents) { return false }
            let now = monotonicNow()
            if now >= deadline { return false }
            var until = timespec(tv_sec: Int(deadline / 1000), tv_nsec: Int(deadline % 1000) * 1_000_000)
            pthread_cond_timedwait(&condition, &mutex, &until)
        }
    }
}

/// Monotonic milliseconds (the clock the mailbox's condition waits on).
func monotonicNow() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
