import NIOCore
import Tracing
import ZooKeeperSession

/// What a client measures of its requests: its metrics, its spans, or both. A client with
/// neither has no instruments at all, so a request pays one nil check.
final class RequestInstruments: Sendable {
    let metrics: ClientMetrics?
    private let tracing: ZooKeeperTracing?

    init?(metrics: ZooKeeperMetrics?, tracing: ZooKeeperTracing?) {
        guard metrics != nil || tracing != nil else { return nil }
        self.metrics = metrics.map(ClientMetrics.init)
        self.tracing = tracing
    }

    /// Starts measuring one request, on the caller's task (its span is a child of the task's).
    /// `server` is read only for a recording span: it costs a lock.
    func begin(_ operation: Operation, server: () -> HostAddress?) -> MeasuredRequest {
        let kind = OperationKind(operation)
        return MeasuredRequest(kind: kind, started: .now(), span: tracing?.startSpan(operation, kind: kind, server: server), metrics: metrics)
    }
}

/// One request being measured; `end` it once, with its error if it failed.
struct MeasuredRequest: Sendable {
    let kind: OperationKind
    let started: NIODeadline
    let span: (any Span)?
    let metrics: ClientMetrics?

    func end(error: (any Error)?) {
        let code = error.map(Self.codeName)
        metrics?.requestEnded(kind, nanoseconds: (NIODeadline.now() - started).nanoseconds, errorCode: code)
        guard let span else { return }
        if let error, let code { span.fail(error, code: code) }
        span.end()
    }

    /// The ZooKeeper code's name; the client throws nothing else but CancellationError.
    static func codeName(_ error: any Error) -> String {
        switch error {
        case let error as ZooKeeperError: error.code.name
        case is CancellationError: "CANCELLED"
        default: "UNKNOWN"
        }
    }
}
