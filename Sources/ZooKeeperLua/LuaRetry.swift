import ZooKeeperProtocol
import ZooKeeperSession

/// `client:retry(fn [, policy])`: the glue (the C glue for a native client, cosocket/retry.lua
/// in nginx) calls `fn` (a Lua function, which only Lua can run) and asks the core after each
/// failure whether to go on; the decision and the back-off are `RetryPolicy`'s, kept once in
/// Swift. The glue's calls of the core's `retry`:
///
///  * `retry(fn, policy)`, the user's own arguments: checks them, answers the start time (ms);
///  * `retry(nil, policy, started, attempt, code)` after failed attempt number `attempt`
///    (`fn` answered `nil, err, code`): `false` at once when `code` is not worth another
///    attempt or the policy gives up; otherwise waits the back-off, as any waiting call does
///    (the session stays driven, callbacks run), and answers `true`.
extension LuaClient {
    func retry(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let policy = try Self.retryPolicy(args, 1)
        if args[2].isNil {
            _ = try args.function(0, required: true)
            return .done([.int(monotonicNow())])
        }
        let started = try args.integer(2, range: 0...Int64(1) << 52)
        let attempt = try args.integer(3, range: 1...Int64(Int32.max))
        let elapsed = max(0, monotonicNow() - started)
        guard case let .number(number) = args[4], let code = Int32(exactly: number),
              RetryPolicy.isRetryable(ZooKeeperError(ErrorCode(rawValue: code))),
              let delay = policy.delay(afterAttempt: Int(attempt), elapsed: .milliseconds(elapsed), random: Double.random(in: 0..<1))
        else { return .done([.boolean(false)]) }
        // Nothing makes this ticket ready but its deadline: the caller waits the back-off.
        let ticket = makeTicket(deadline: monotonicNow() + delay.millis, isReady: { _, _ in false }) { _, _ in .done([.boolean(true)]) }
        return .wait(ticket)
    }

    /// `{ attempts =, base_ms =, max_ms =, deadline_ms = }` (argument #3 of client:retry):
    /// `RetryPolicy`'s maxAttempts, baseDelay, maxDelay, maxElapsed; a missing field keeps
    /// `RetryPolicy.standard`'s value; nil: the standard policy.
    static func retryPolicy(_ args: LuaArguments, _ index: Int) throws(BadArgument) -> RetryPolicy {
        guard let table = try args.table(index) else { return .standard }
        let names = ["attempts", "base_ms", "max_ms", "deadline_ms"]
        if case let .table(entries) = table {
            for (key, _) in entries {
                guard case let .string(bytes) = key, names.contains(String(decoding: bytes, as: UTF8.self)) else {
                    throw args.bad(index, "unknown policy field \(Self.fieldName(key)) (known: \(names.joined(separator: ", ")))")
                }
            }
        }
        var fields = LuaArguments(method: args.method, values: names.map { table[$0] })
        fields.nested = (number: index + args.firstNumber, fields: names, prefix: "policy.")
        let standard = RetryPolicy.standard
        let day: Int64 = 86_400_000
        let attempts = try fields.integer(0, default: Int64(standard.maxAttempts), range: 1...1_000_000)
        let base = try fields.integer(1, default: standard.baseDelay.millis, range: 0...day)
        let maxDelay = try fields.integer(2, default: max(base, standard.maxDelay.millis), range: 0...day)
        guard maxDelay >= base else { throw fields.bad(2, "must be at least base_ms (\(base)), got \(maxDelay)") }
        let deadline: Duration? = fields[3].isNil ? nil : .milliseconds(try fields.integer(3, range: 1...day))
        return RetryPolicy(maxAttempts: Int(attempts), baseDelay: .milliseconds(base), maxDelay: .milliseconds(maxDelay), maxElapsed: deadline)
    }

    private static func fieldName(_ key: LuaValue) -> String {
        switch key {
        case let .string(bytes): "'\(String(decoding: bytes, as: UTF8.self))'"
        case let .number(n): "[\(LuaArguments.numberText(n))]"
        default: "[\(key.typeName)]"
        }
    }
}
