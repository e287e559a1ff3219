import Synchronization
import ZooKeeperSession

/// An operation's result, handed from the thread whose driving of the session answered it
/// straight to the ticket that waits for it: no mailbox, no lock. Delivered at most once (a
/// request completes once); read only after `isAnswered` said so, which publishes the write.
final class OperationAnswer: @unchecked Sendable {
    private let answered = Atomic<Bool>(false)
    private var value: Result<OperationResult, ZooKeeperError>?

    @Sendable func deliver(_ result: Result<OperationResult, ZooKeeperError>) {
        value = result
        answered.store(true, ordering: .releasing)
    }

    var isAnswered: Bool { answered.load(ordering: .acquiring) }

    /// The result, once delivered (nil before: the call timed out).
    var result: Result<OperationResult, ZooKeeperError>? { isAnswered ? value : nil }
}
