import Foundation

/// How many ensembles a test process runs at once (`ZK_TESTBED_MAX_ENSEMBLES`, default 1); a
/// further `start(servers: 3)` waits until one is stopped. Tests run in parallel, and several
/// ensembles starting, failing over and being killed together on a small machine starve every
/// test of CPU for seconds: a 1 s connect timeout took 6.75 s and a 6 s session expired during a
/// failover in runs with six ensembles at once. A test that needs two ensembles at the same
/// time must raise the limit.
final class EnsembleGate: @unchecked Sendable {
    static let shared = EnsembleGate(limit: Int(ProcessInfo.processInfo.environment["ZK_TESTBED_MAX_ENSEMBLES"] ?? "") ?? 1)

    private let lock = NSLock()
    private let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    /// Waits for a slot.
    func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if running < limit {
                running += 1
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    /// Gives a slot back (to the first waiter, if any).
    func leave() {
        lock.lock()
        let next = waiters.isEmpty ? nil : waiters.removeFirst()
        if next == nil { running -= 1 }
        lock.unlock()
        next?.resume()
    }
}
