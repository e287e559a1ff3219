/// When to try an operation again after it failed with a retryable error (Curator's
/// `RetryPolicy`, kazoo's `KazooRetry`): exponential back-off with jitter, bounded by a number
/// of attempts and, optionally, by the time spent.
///
/// Only wrap operations that are safe to run twice: reads, versioned writes (`setData` or
/// `delete` with the version read before: a repeat after a lost answer fails with `badVersion`
/// or `noNode` rather than doing it twice), and protected creates (`createProtected`: a repeat
/// finds the node the lost attempt made). A plain sequential create is not: a lost answer may
/// hide a node that was made.
///
/// ```swift
/// let data = try await RetryPolicy.standard.run { try await zk.getData("/config").data }
/// ```
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (1: no retry).
    public var maxAttempts: Int
    /// The back-off before the second attempt; it doubles for each further one.
    public var baseDelay: Duration
    /// The longest back-off.
    public var maxDelay: Duration
    /// No attempt starts after this much time since the first one (nil: no bound).
    public var maxElapsed: Duration?

    /// 5 attempts, 100 ms doubling up to 2 s.
    public static let standard = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
    /// No retry.
    public static let never = RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero)

    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, maxElapsed: Duration? = nil) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(self.baseDelay, maxDelay)
        self.maxElapsed = maxElapsed
    }

    /// Whether `error` is worth another attempt: the request may not have been carried out and
    /// the session lives on (connection loss, time-out, throttling...). Server answers such as
    /// `noNode` and the end of the session (expiry, close, auth failure) are not.
    public static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? ZooKeeperError else { return false }
        return error.isRetryable && !error.isTerminal
    }

    /// The back-off after failed attempt number `attempt` (1-based) that `elapsed` into the
    /// whole, or nil when the policy gives up. `random` in 0..<1 spreads the back-off over its
    /// upper half, so that clients cut off together do not come back together.
    public func delay(afterAttempt attempt: Int, elapsed: Duration, random: Double) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        var delay = baseDelay
        var doublings = 1
        while doublings < attempt && delay < maxDelay {   // stops at maxDelay: never overflows
            delay = delay * 2
            doublings += 1
        }
        delay = min(delay, maxDelay)
        delay = min(delay / 2 + delay / 2 * min(max(random, 0), 1), maxDelay)
        if let maxElapsed, elapsed + delay >= maxElapsed { return nil }
        return delay
    }

    /// Runs `operation` until it succeeds, fails with an error that is not retryable, or the
    /// policy gives up (then the last error is thrown). Cancellation ends the waiting at once.
    public func run<T>(_ operation: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard Self.isRetryable(error),
                      let delay = delay(afterAttempt: attempt, elapsed: clock.now - start, random: Double.random(in: 0..<1))
                else { throw error }
                try await Task.sleep(for: delay, clock: clock)
                attempt += 1
            }
        }
    }
}
