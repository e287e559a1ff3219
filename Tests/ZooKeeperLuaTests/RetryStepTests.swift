import Testing
import ZooKeeperProtocol
import ZooKeeperSession

@testable import ZooKeeperLua

/// The core's side of `client:retry(fn, policy)` (LuaRetry.swift): the glue calls fn, the core
/// checks the arguments, decides after each failure with `RetryPolicy` and waits the back-off.
@Suite struct RetryStepTests {
    static let fn = LuaValue.function(7)

    static func policy(_ fields: KeyValuePairs<String, LuaValue>) -> LuaValue { .record(fields) }

    /// The core's step after failed attempt `attempt` (started at `started`, ms) with `code`.
    static func step(_ bed: HostedBed, _ policy: LuaValue, started: Int64, attempt: Int, code: ErrorCode) -> LuaClient.Outcome {
        bed.call("retry", .nil, policy, .int(started), .int(attempt), .int(code.rawValue))
    }

    @Test func thePolicyTableIsRetryPolicysFieldsWithTheStandardDefaults() throws {
        func parsed(_ policy: LuaValue) throws -> RetryPolicy {
            try LuaClient.retryPolicy(LuaArguments(method: "retry", values: [Self.fn, policy]), 1)
        }
        #expect(try parsed(.nil) == .standard)
        #expect(try parsed(.record([:])) == .standard)
        #expect(try parsed(Self.policy(["attempts": .int(7), "base_ms": .int(20), "max_ms": .int(900), "deadline_ms": .int(5000)]))
            == RetryPolicy(maxAttempts: 7, baseDelay: .milliseconds(20), maxDelay: .milliseconds(900), maxElapsed: .milliseconds(5000)))
        // a base above the standard maximum raises the maximum with it
        #expect(try parsed(Self.policy(["base_ms": .int(5000)]))
            == RetryPolicy(maxAttempts: 5, baseDelay: .seconds(5), maxDelay: .seconds(5)))
    }

    @Test func theFirstStepChecksTheArgumentsAndAnswersTheStartTime() throws {
        let bed = HostedBed()
        let before = monotonicNow()
        let answer = try HostedBed.values(bed.call("retry", Self.fn))
        guard case let .number(started)? = answer.first else { Issue.record("no start time: \(answer)"); return }
        #expect(Int64(started) >= before && Int64(started) <= monotonicNow())
        #expect(HostedBed.raised(bed.call("retry", .string("get_data"))) == "bad argument #2 to 'retry' (function expected, got string)")
        #expect(HostedBed.raised(bed.call("retry", Self.fn, Self.policy(["max_ms": .int(-1)])))
            == "bad argument #3 to 'retry' (policy.max_ms: integer between 0 and 86400000 expected, got -1)")
    }

    @Test func aRetryableCodeWaitsTheBackOffThenAnswersTrue() throws {
        let bed = HostedBed()
        let policy = Self.policy(["attempts": .int(4), "base_ms": .int(400)])
        for (attempt, code) in [(1, ErrorCode.connectionLoss), (2, .operationTimeout), (3, .throttledOp)] {
            let now = monotonicNow()
            let outcome = Self.step(bed, policy, started: now, attempt: attempt, code: code)
            guard case let .wait(ticket) = outcome else { Issue.record("attempt \(attempt): \(outcome)"); continue }
            // 400 ms doubling per attempt, jittered over its upper half
            let full = Int64(400) << (attempt - 1)
            #expect(ticket.deadline >= now + full / 2 && ticket.deadline <= monotonicNow() + full, "attempt \(attempt)")
            #expect(bed.lua.check(ticket.id) == .pending, "nothing but the deadline ends the wait")
            ticket.deadline = monotonicNow()
            #expect(bed.lua.check(ticket.id) == .ready)
            #expect(try HostedBed.values(bed.lua.finish(ticket.id)) == [.boolean(true)])
        }
    }

    @Test func theStepAnswersFalseAtOnceWhenThePolicyGivesUpOrTheCodeIsFinal() throws {
        let bed = HostedBed()
        let policy = Self.policy(["attempts": .int(3), "base_ms": .int(100), "deadline_ms": .int(1000)])
        let now = monotonicNow()
        // the last attempt was made
        #expect(try HostedBed.values(Self.step(bed, policy, started: now, attempt: 3, code: .connectionLoss)) == [.boolean(false)])
        // the next attempt would start after deadline_ms
        #expect(try HostedBed.values(Self.step(bed, policy, started: now - 950, attempt: 1, code: .connectionLoss)) == [.boolean(false)])
        // answers another attempt would not change, and the end of the session
        for code in [ErrorCode.noNode, .nodeExists, .badVersion, .sessionExpired, .authFailed, .closed, .ok, ErrorCode(rawValue: 12345)] {
            #expect(try HostedBed.values(Self.step(bed, policy, started: now, attempt: 1, code: code)) == [.boolean(false)], "\(code)")
        }
        // a code that is no Int32
        #expect(try HostedBed.values(bed.call("retry", .nil, policy, .int(now), .int(1), .number(1e300))) == [.boolean(false)])
        #expect(try HostedBed.values(bed.call("retry", .nil, policy, .int(now), .int(1), .number(-4.5))) == [.boolean(false)])
    }
}
