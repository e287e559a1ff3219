import Synchronization
import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// The retry helper: what it retries, how long it waits, when it gives up.
@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .milliseconds(250))

    @Test func retriesLossesAndTimeOutsOnly() {
        #expect(RetryPolicy.isRetryable(ZooKeeperError(.connectionLoss)))
        #expect(RetryPolicy.isRetryable(ZooKeeperError(.operationTimeout)))
        for code in [ErrorCode.noNode, .nodeExists, .badVersion, .noAuth, .sessionExpired, .closed, .authFailed, .frameTooLarge, .badArguments] {
            #expect(!RetryPolicy.isRetryable(ZooKeeperError(code)), "\(code.name)")
        }
        #expect(!RetryPolicy.isRetryable(CancellationError()))
    }

    @Test func backOffDoublesUpToTheCapWithJitterInItsUpperHalf() {
        #expect(policy.delay(afterAttempt: 1, elapsed: .zero, random: 0.999_999)! > .milliseconds(99))
        #expect(policy.delay(afterAttempt: 1, elapsed: .zero, random: 0) == .milliseconds(50))
        #expect(policy.delay(afterAttempt: 2, elapsed: .zero, random: 0) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, elapsed: .zero, random: 0) == .milliseconds(125), "capped at 250")
        #expect(policy.delay(afterAttempt: 4, elapsed: .zero, random: 0) == nil, "4 attempts in all")
        let huge = RetryPolicy(maxAttempts: .max, baseDelay: .seconds(1), maxDelay: .seconds(Int64.max))
        #expect(huge.delay(afterAttempt: 1_000_000, elapsed: .zero, random: 1)! <= .seconds(Int64.max), "no overflow")
        #expect(RetryPolicy.never.delay(afterAttempt: 1, elapsed: .zero, random: 0) == nil)
    }

    @Test func givesUpWhenTheTimeBoundWouldBePassed() {
        let bounded = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1), maxElapsed: .milliseconds(300))
        #expect(bounded.delay(afterAttempt: 1, elapsed: .milliseconds(100), random: 0) == .milliseconds(50))
        #expect(bounded.delay(afterAttempt: 2, elapsed: .milliseconds(250), random: 0) == nil)
    }

    @Test func nonsenseSettingsAreClamped() {
        let odd = RetryPolicy(maxAttempts: -3, baseDelay: .seconds(-1), maxDelay: .seconds(-5))
        #expect(odd.maxAttempts == 1 && odd.baseDelay == .zero && odd.maxDelay == .zero)
    }

    @Test func runRetriesUntilSuccess() async throws {
        let calls = Atomic(0)
        let fast = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        let value = try await fast.run { () throws -> String in
            if calls.add(1, ordering: .relaxed).newValue < 3 { throw ZooKeeperError(.connectionLoss) }
            return "done"
        }
        #expect(value == "done" && calls.load(ordering: .relaxed) == 3)
    }

    @Test func runStopsAtAnAnswerThatIsNotALoss() async {
        let calls = Atomic(0)
        await #expect(throws: ZooKeeperError(.noNode)) {
            try await RetryPolicy.standard.run { () throws -> Int in
                calls.add(1, ordering: .relaxed)
                throw ZooKeeperError(.noNode)
            }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func runGivesUpWithTheLastError() async {
        let calls = Atomic(0)
        let fast = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        await #expect(throws: ZooKeeperError(.operationTimeout)) {
            try await fast.run { () throws -> Int in
                let n = calls.add(1, ordering: .relaxed).newValue
                throw ZooKeeperError(n < 3 ? .connectionLoss : .operationTimeout)
            }
        }
        #expect(calls.load(ordering: .relaxed) == 3)
    }

    @Test func cancellationEndsTheBackOff() async {
        let slow = RetryPolicy(maxAttempts: 3, baseDelay: .seconds(30), maxDelay: .seconds(30))
        let task = Task { try await slow.run { () throws -> Int in throw ZooKeeperError(.connectionLoss) } }
        try? await Task.sleep(for: .milliseconds(50))
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelledAt < .seconds(5))
    }
}
