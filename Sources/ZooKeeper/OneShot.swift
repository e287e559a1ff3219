import NIOConcurrencyHelpers

/// A value set once from any thread and awaited by one task; later sets are ignored.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, Never>?)
        case done(Value)
    }
    private let state = NIOLockedValueBox(State.waiting(nil))

    /// Sets the value; false when it was set already (this one is ignored).
    @discardableResult
    func fulfil(_ value: Value) -> Bool {
        let (accepted, continuation): (Bool, CheckedContinuation<Value, Never>?) = state.withLockedValue { state in
            guard case let .waiting(continuation) = state else { return (false, nil) }
            state = .done(value)
            return (true, continuation)
        }
        continuation?.resume(returning: value)
        return accepted
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLockedValue { state in
                    switch state {
                    case let .done(value): return value
                    case .waiting: state = .waiting(continuation); return nil
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
