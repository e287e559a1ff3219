#if canImport(Glibc)
import Glibc
#endif

/// Work a session's lock holder hands over to run once the lock is released (see
/// `DirectSession.runUnlocked`). One thread at a time runs it, in order, until none is left; a
/// thread that finds another already at it (or itself, from inside an item) leaves its work to
/// that one.
final class DeferredWork: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var work: [@Sendable () -> Void] = []
    private var running = false

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func add(_ item: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        work.append(item)
        pthread_mutex_unlock(&mutex)
    }

    /// Runs what was handed over (and what that hands over) unless another run is under way;
    /// returns whether anything ran here.
    @discardableResult
    func run() -> Bool {
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
            pthread_mutex_unlock(&mutex)
            for item in batch { item() }
            ran = true
        }
    }
}
