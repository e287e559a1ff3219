import ZooKeeperProtocol
import ZooKeeperSession

/// Names one request a recipe machine asked for, so that its result and the events of the watch
/// it leaves come back to the step that wanted them (a late answer to an abandoned step is
/// told apart by its token).
public typealias RecipeToken = UInt64

/// An operation a recipe machine wants submitted. When the operation sets a watch, its events
/// come back as `RecipeInput.watch` with the same token.
public struct RecipeRequest: Hashable, Sendable, CustomStringConvertible {
    public let token: RecipeToken
    public let operation: Operation

    public init(token: RecipeToken, operation: Operation) {
        self.token = token
        self.operation = operation
    }

    public var description: String { "#\(token) \(operation)" }
}

/// What a recipe machine hears besides its owner's commands.
public enum RecipeInput: Sendable {
    /// The result of the request with this token.
    case result(RecipeToken, Result<OperationResult, ZooKeeperError>)
    /// An event of the watch the request with this token left.
    case watch(RecipeToken, WatchEvent)
    /// The session changed state.
    case session(SessionEvent)
}

/// What a recipe machine asks for, in order.
public enum RecipeStep<Notice: Sendable>: Sendable {
    /// Submit this request.
    case submit(RecipeRequest)
    /// Tell the owner.
    case notify(Notice)
    /// The machine is done: it will ask for nothing more and may be dropped.
    case finished
}

/// A recipe as a state machine: no I/O, no clock, no threads. Owner commands (acquire,
/// release, close...) and `receive` return the steps to carry out; `RecipeRunner` carries them
/// out on any `DrivenSession`, so every front door runs the same recipe code.
public protocol RecipeMachine: Sendable {
    associatedtype Notice: Sendable
    /// Reacts to a result, a watch event or a session change.
    mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>]
}

/// Hands out the tokens of one machine.
public struct TokenSource: Sendable {
    private var next: RecipeToken

    /// Tokens of `generation` (a machine that replaces an earlier one takes the next
    /// generation, so late answers to the old one never match the new one's tokens).
    public init(generation: UInt32 = 0) { next = RecipeToken(generation) << 32 | 1 }

    public mutating func request(_ operation: Operation) -> RecipeRequest {
        defer { next += 1 }
        return RecipeRequest(token: next, operation: operation)
    }
}

extension ZooKeeperError {
    /// The request may or may not have happened and the session lives on: ask again (or find
    /// out what happened) once connected. Expiry and close are not among these.
    var isRecoverableLoss: Bool { isRetryable && !isTerminal }
}
