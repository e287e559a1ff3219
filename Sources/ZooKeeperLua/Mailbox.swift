#if canImport(Glibc)
import Glibc
#endif
import ZooKeeper

/// Where the I/O thread leaves news for the Lua thread: answers to tickets, callbacks to run,
/// events for the contract's blocking watch(). The Lua thread waits on it; nothing here touches
/// the Lua state.
final class Mailbox: @unchecked Sendable {
    /// What a ticket waits for, as the I/O thread reports it.
    enum News: Sendable {
        case operation(Result<OperationResult, ZooKeeperError>)
        case session(SessionEvent)
    }

    /// A callback to run on the Lua thread.
    struct Callback: Sendable {
        var ref: Int32
        var arguments: [LuaValue]
        /// A one-shot callback: release its reference after it ran.
        var last: Bool
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var news: [UInt64: [News]] = [:]
    private var callbacks: [Callback] = []
    private var watchEvents: [WatchEvent] = []
    /// A bound on queued callbacks so a program that never dispatches cannot grow it forever;
    /// what overflows is counted and reported with the next callback run.
    static let callbackLimit = 100_000
    private(set) var droppedCallbacks = 0

    init() {
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

    func post(_ item: News, ticket: UInt64) {
        locked {
            news[ticket, default: []].append(item)
            pthread_cond_broadcast(&condition)
        }
    }

    func post(callback: Callback) {
        locked {
            if callbacks.count >= Self.callbackLimit {
                droppedCallbacks += 1
            } else {
                callbacks.append(callback)
            }
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

    func takeNews(_ ticket: UInt64) -> [News] {
        locked { news.removeValue(forKey: ticket) ?? [] }
    }

    func forget(_ ticket: UInt64) {
        locked { _ = news.removeValue(forKey: ticket) }
    }

    func takeCallback() -> Callback? {
        locked { callbacks.isEmpty ? nil : callbacks.removeFirst() }
    }

    func takeWatchEvent() -> WatchEvent? {
        locked { watchEvents.isEmpty ? nil : watchEvents.removeFirst() }
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
