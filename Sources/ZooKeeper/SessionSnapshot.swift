import NIOConcurrencyHelpers
import ZooKeeperSession

/// The session's facts, copied at every step of the runtime (before its listeners run) so that
/// any thread can read them without a hop to the event loop.
final class SessionSnapshot: Sendable {
    private let box = NIOLockedValueBox(SessionFacts())

    var facts: SessionFacts { box.withLockedValue { $0 } }

    func update(_ facts: SessionFacts) {
        box.withLockedValue { $0 = facts }
    }
}
