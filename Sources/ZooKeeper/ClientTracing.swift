import Tracing
import ZooKeeperSession

/// Opt-in swift-distributed-tracing for a client (`Configuration.tracing`): a client span per
/// request, a child of the calling task's span. Without it the client starts no span at all,
/// whatever tracer the process bootstrapped.
///
/// A span is named by the operation (`getData`, `create`, `multi`, ...) and carries
/// `db.system.name` (`zookeeper`), `db.operation.name`, `zookeeper.path` (when the operation has
/// one), `db.operation.batch.size` (multi), and `server.address` / `server.port` of the server
/// in use when it started. A failed request records its error, sets the error status and
/// `db.response.status_code` to the ZooKeeper code name (`NONODE`).
///
/// ```swift
/// InstrumentationSystem.bootstrap(tracer)               // once per process, e.g. swift-otel's
/// var configuration = ZooKeeperClient.Configuration(connectString: "10.0.0.1:2181")
/// configuration.tracing = ZooKeeperTracing()            // the bootstrapped tracer
/// ```
public struct ZooKeeperTracing: Sendable {
    /// Starts the spans: the process's bootstrapped tracer unless told otherwise.
    public var tracer: any Tracer

    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }
}

extension ZooKeeperTracing {
    /// Starts the span of one request, in the calling task's context.
    func startSpan(_ operation: Operation, kind: OperationKind, server: () -> HostAddress?) -> any Span {
        let span = tracer.startSpan(kind.rawValue, ofKind: .client)
        // A sampled-out or no-op span drops attributes: skip building them (and reading the server).
        guard span.isRecording else { return span }
        span.updateAttributes { attributes in
            attributes["db.system.name"] = "zookeeper"
            attributes["db.operation.name"] = kind.rawValue
            if let path = operation.path { attributes["zookeeper.path"] = path }
            if case let .multi(operations) = operation { attributes["db.operation.batch.size"] = operations.count }
            if case let .multiRead(operations) = operation { attributes["db.operation.batch.size"] = operations.count }
            if let server = server() {
                attributes["server.address"] = server.host
                attributes["server.port"] = server.port
            }
        }
        return span
    }
}

extension Span {
    /// Marks the span failed with `error` and its ZooKeeper code name.
    func fail(_ error: any Error, code: String) {
        recordError(error)
        setStatus(SpanStatus(code: .error))
        attributes["db.response.status_code"] = code
    }
}
