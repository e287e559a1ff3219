import CoreMetrics
import ZooKeeperSession

/// Opt-in swift-metrics for a client (`Configuration.metrics`); without it the client makes no
/// metric and pays one nil check per request.
///
/// The metrics, each label starting with `labelPrefix` and carrying `dimensions`:
/// - `zookeeper_request_duration` (Timer, `operation`): every request's time to its answer,
///   failures included; its count is the number of requests.
/// - `zookeeper_request_errors` (Counter, `operation`, `code`): failed requests by ZooKeeper
///   code name (`NONODE`, `CONNECTIONLOSS`, ...; `CANCELLED` when the calling task gave up).
/// - `zookeeper_reconnects` (Counter): the session connected again after losing its server.
/// - `zookeeper_session_state` (Gauge, `state`): 1 for the state the session is in, 0 for the
///   others (`connecting`, `connected`, `connectedReadOnly`, `expired`, `authFailed`, `closed`).
///
/// ```swift
/// var configuration = ZooKeeperClient.Configuration(connectString: "10.0.0.1:2181")
/// configuration.metrics = ZooKeeperMetrics(dimensions: [("ensemble", "orders")])
/// ```
public struct ZooKeeperMetrics: Sendable {
    /// Starts every label: `<prefix>_request_duration`, ...
    public var labelPrefix: String
    /// Added to every metric, to tell the clients of one process apart.
    public var dimensions: [(String, String)]
    /// Makes the metrics: the bootstrapped `MetricsSystem.factory` unless told otherwise.
    public var factory: any MetricsFactory

    public init(labelPrefix: String = "zookeeper", dimensions: [(String, String)] = [], factory: any MetricsFactory = MetricsSystem.factory) {
        self.labelPrefix = labelPrefix
        self.dimensions = dimensions
        self.factory = factory
    }
}

/// One client's metrics, made once: a request finds its timer by kind without a lookup in the
/// factory. Error counters are made when an error first happens.
final class ClientMetrics: Sendable {
    private let options: ZooKeeperMetrics
    private let durations: [OperationKind: CoreMetrics.Timer]
    private let reconnects: Counter
    private let states: [(state: SessionState, gauge: Gauge)]

    static let sessionStates: [SessionState] = [.connecting, .connected, .connectedReadOnly, .expired, .authFailed, .closed]

    init(_ options: ZooKeeperMetrics) {
        self.options = options
        let prefix = options.labelPrefix
        durations = Dictionary(uniqueKeysWithValues: OperationKind.allCases.map { kind in
            (kind, CoreMetrics.Timer(label: prefix + "_request_duration", dimensions: options.dimensions + [("operation", kind.rawValue)], factory: options.factory))
        })
        reconnects = Counter(label: prefix + "_reconnects", dimensions: options.dimensions, factory: options.factory)
        states = Self.sessionStates.map { state in
            (state, Gauge(label: prefix + "_session_state", dimensions: options.dimensions + [("state", "\(state)")], factory: options.factory))
        }
    }

    func requestEnded(_ kind: OperationKind, nanoseconds: Int64, errorCode: String?) {
        durations[kind]?.recordNanoseconds(nanoseconds)
        guard let errorCode else { return }
        Counter(label: options.labelPrefix + "_request_errors", dimensions: options.dimensions + [("operation", kind.rawValue), ("code", errorCode)],
                factory: options.factory).increment()
    }

    /// The session's state when the client started listening.
    func sessionIs(_ state: SessionState) {
        for entry in states { entry.gauge.record(entry.state == state ? 1 : 0) }
    }

    func sessionChanged(_ event: SessionEvent) {
        if event == .reconnected { reconnects.increment() }
        sessionIs(event.state)
    }
}
