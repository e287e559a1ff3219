#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Work a session's lock holder hands over to run once the lock is released (see
/// `DirectSession.runUnlocked`). One thread at a time runs it, in order, until none is left; a
/// thread that finds another already at it (or itself, from inside an item) leaves its work to
/// that one.
final class DeferredWork: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var work: [@Sendable () -> Void] = []
    private var running = false
    /// Whether work is queued, readable without the mutex: every release of a session's lock
    /// asks, and there is nearly never any.
    private let queued = Atomic<Bool>(false)

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func add(_ item: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        work.append(item)
        queued.store(true, ordering: .releasing)
        pthread_mutex_unlock(&mutex)
    }

    /// Runs what was handed over (and what that hands over) unless another run is under way;
    /// returns whether anything ran here.
    @discardableResult
    func run() -> Bool {
        // Work added after this look is run by the next release of the lock, as it would be
        // after a look under the mutex.
        guard queued.load(ordering: .acquiring) else { return false }
        var ran = false
        while true {
            pthread_mutex_lock(&mutex)
            if work.isEmpty || (running && !ran) {
                if ran { running = false }
                pthread_mutex_unlock(&mutex)
                return ran
            }
            running = true
            let batch = work
            work.removeAll()
            queued.store(false, ordering: .releasing)
            pthread_mutex_unlock(&mutex)
            for item in batch { item() }
            ran = true
        }
    }
}
