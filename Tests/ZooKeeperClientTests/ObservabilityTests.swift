import Foundation
import CoreMetrics
import InMemoryTracing
import MetricsTestKit
import Testing
import Tracing
import ZooKeeper
import ZooKeeperTestSupport

/// The opt-in swift-metrics and swift-distributed-tracing, against real servers: each client
/// gets its own TestMetrics or InMemoryTracer, so the tests run in parallel with the others.
@Suite struct ObservabilityTests {
    static let duration = "zookeeper_request_duration"
    static let errors = "zookeeper_request_errors"

    func connect(_ connectString: String, metrics: ZooKeeperMetrics? = nil, tracing: ZooKeeperTracing? = nil,
                 sessionTimeout: Duration = .seconds(10), log: LogCapture? = nil) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration(
            connectString: connectString, sessionTimeout: sessionTimeout, metrics: metrics, tracing: tracing)
        if let log { configuration.logger = log.logger }
        return try await ZooKeeperClient.connect(configuration: configuration)
    }

    func stateGauge(_ metrics: TestMetrics, _ state: String, _ dimensions: [(String, String)] = []) throws -> TestRecorder {
        try metrics.expectGauge("zookeeper_session_state", dimensions + [("state", state)])
    }

    @Test func requestsAreTimedByOperationAndErrorsCountedByCode() async throws {
        let server = try await ZooKeeperServer.shared()
        let metrics = TestMetrics()
        let zk = try await connect(server.connectString, metrics: ZooKeeperMetrics(dimensions: [("client", "a")], factory: metrics))
        let root = uniqueRoot("metrics")

        try await zk.create(root, data: [1])
        _ = try await zk.getData(root)
        await expectCode(.noNode) { try await zk.getData(root + "/missing") }
        #expect(try await zk.exists(root + "/missing") == nil, "exists answers nil: no error")
        // The callback API is measured too.
        let answered = EventLog<Bool>()
        zk.submit(.getChildren(path: root, watch: false, includeStat: false)) { answered.append((try? $0.get()) != nil) }
        #expect(await answered.wait() == [true])

        func timed(_ operation: String) throws -> [Int64] {
            try metrics.expectTimer(Self.duration, [("client", "a"), ("operation", operation)]).values
        }
        #expect(try timed("create").count == 1)
        #expect(try timed("getData").count == 2)
        #expect(try timed("exists").count == 1)
        #expect(try timed("getChildren").count == 1)
        #expect(try timed("getData").allSatisfy { $0 > 0 })
        #expect(try timed("setData").isEmpty, "a timer per operation kind, recording only that kind")

        let noNode = try metrics.expectCounter(Self.errors, [("client", "a"), ("operation", "getData"), ("code", "NONODE")])
        #expect(noNode.totalValue == 1)
        #expect(metrics.counters(label: Self.errors).count == 1, "no other error: \(metrics.counters(label: Self.errors).map(\.dimensions))")

        #expect(try stateGauge(metrics, "connected", [("client", "a")]).lastValue == 1)
        #expect(try stateGauge(metrics, "connecting", [("client", "a")]).lastValue == 0)
        await zk.close()
        #expect(try stateGauge(metrics, "closed", [("client", "a")]).lastValue == 1)
        #expect(try stateGauge(metrics, "connected", [("client", "a")]).lastValue == 0)
        #expect(try metrics.expectCounter("zookeeper_reconnects", [("client", "a")]).totalValue == 0)
    }

    @Test func aDroppedConnectionCountsAReconnect() async throws {
        let server = try await ZooKeeperServer.start()
        defer { server.stopAll() }
        let metrics = TestMetrics()
        // The session must outlive the server's restart (a JVM start, seconds on a busy machine).
        let log = LogCapture()
        let zk = try await connect(server.connectString, metrics: ZooKeeperMetrics(factory: metrics), sessionTimeout: .seconds(30), log: log)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }
        let reconnects = try metrics.expectCounter("zookeeper_reconnects")
        #expect(reconnects.totalValue == 0)

        try await server.kill9(server: 1)
        #expect(await states.waitFor(timeout: .seconds(10)) { $0 == .disconnected } != nil)
        #expect(try stateGauge(metrics, "connecting").lastValue == 1)
        let restarting = ContinuousClock.now
        try await server.restart(server: 1)
        let restarted = ContinuousClock.now - restarting
        if await states.waitFor(timeout: .seconds(25), { $0 == .reconnected }) == nil {
            let serverLog = (try? String(contentsOf: server.logFile(of: 1), encoding: .utf8)) ?? "(no server log)"
            Issue.record("""
                not reconnected: \(states.events); the server restarted in \(restarted)
                the client's log:
                \(log.text)
                the server's log (tail):
                \(serverLog.split(separator: "\n").suffix(40).joined(separator: "\n"))
                """)
        }

        #expect(reconnects.totalValue == 1)
        #expect(try stateGauge(metrics, "connected").lastValue == 1)
        let connected = try stateGauge(metrics, "connected").values
        #expect(connected.last == 1 && connected.drop { $0 == 0 }.contains(0), "connected, lost, connected again: \(connected)")
        await zk.close()
    }

    @Test func eachRequestIsASpanNamedByItsOperationWithItsError() async throws {
        let server = try await ZooKeeperServer.shared()
        let tracer = InMemoryTracer()
        let zk = try await connect(server.connectString, tracing: ZooKeeperTracing(tracer: tracer))
        let root = uniqueRoot("tracing")

        // The caller's span is the requests' parent.
        let parent = try await tracer.withSpan("handler") { parent in
            try await zk.create(root)
            await expectCode(.noNode) { try await zk.getData(root + "/missing") }
            try await zk.multi([.check(CheckVersionRequest(path: root, version: 0))])
            return (traceID: parent.traceID, spanID: parent.spanID)
        }

        let spans = tracer.finishedSpans.filter { $0.operationName != "handler" }
        #expect(spans.map(\.operationName) == ["create", "getData", "multi"])
        #expect(spans.allSatisfy { $0.kind == .client && $0.parentSpanID == parent.spanID && $0.traceID == parent.traceID })
        #expect(spans.allSatisfy { $0.attributes["db.system.name"]?.toSpanAttribute() == .string("zookeeper") })
        #expect(spans.allSatisfy { $0.attributes["server.port"]?.toSpanAttribute() == .int64(Int64(server.port(of: 1))) })

        let (create, getData, multi) = (spans[0], spans[1], spans[2])
        #expect(create.attributes["zookeeper.path"]?.toSpanAttribute() == .string(root))
        #expect(create.status == nil && create.errors.isEmpty)
        #expect(getData.attributes["zookeeper.path"]?.toSpanAttribute() == .string(root + "/missing"))
        #expect(getData.status?.code == .error)
        #expect(getData.attributes["db.response.status_code"]?.toSpanAttribute() == .string("NONODE"))
        #expect((getData.errors.first?.error as? ZooKeeperError)?.code == .noNode)
        #expect(getData.errors.count == 1)
        #expect(multi.attributes["db.operation.batch.size"]?.toSpanAttribute() == .int64(1))
        await zk.close()
    }

    /// Off unless configured: a bound tracer and metrics factory see nothing of a plain client,
    /// and `ZooKeeperTracing()` / `ZooKeeperMetrics()` default to the process's (here the task's).
    @Test func nothingIsRecordedUnlessAskedFor() async throws {
        let server = try await ZooKeeperServer.shared()
        let tracer = InMemoryTracer()
        let metrics = TestMetrics()
        try await withTracer(tracer) {
            try await withMetricsFactory(metrics) {
                let plain = try await connect(server.connectString)
                _ = try await plain.exists("/")
                await plain.close()
                #expect(tracer.finishedSpans.isEmpty)
                #expect(metrics.timers.isEmpty && metrics.counters.isEmpty && metrics.recorders.isEmpty)

                let observed = try await connect(server.connectString, metrics: ZooKeeperMetrics(), tracing: ZooKeeperTracing())
                _ = try await observed.exists("/")
                await observed.close()
            }
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["exists"])
        #expect(try metrics.expectTimer(Self.duration, [("operation", "exists")]).values.count == 1)
    }
}
