// Benchmarks the Swift API, following bench/run.sh's peer convention:
//   zk-bench CONNECT_STRING WORKLOAD N SECONDS
// WORKLOAD: exists | get | set (sequential) | pexists | pget (BENCH_WINDOW in flight) | idle
// (N sessions held SECONDS). BENCH_TLS_DIR: TLS with the ca.pem, client.pem and client.key
// there (scripts/zk-test-certs.sh; server name localhost). Prints one JSON line; exit 2 for an
// unknown workload. BENCH_INSTRUMENTS=metrics,tracing turns on the client's metrics and spans
// (with the process's default, no-op, backends: what the client itself pays).
import Histogram
import ZooKeeper
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 5, let count = Int(arguments[3]), count > 0, let seconds = Double(arguments[4]) else {
    print("usage: zk-bench CONNECT_STRING exists|get|set|pexists|pget|idle N SECONDS")
    exit(64)
}
let connect = arguments[1]
let workload = arguments[2]
func environment(_ name: String, _ fallback: String) -> String { getenv(name).map { String(cString: $0) } ?? fallback }
let path = environment("BENCH_PATH", "/bench/node")
let setPath = environment("BENCH_SET_PATH", "/bench/set")
let window = Int(environment("BENCH_WINDOW", "1000")) ?? 1000
let sessionTimeout = Int64(environment("BENCH_SESSION_TIMEOUT", "30000")) ?? 30_000
let idleSessionTimeout = Int64(environment("BENCH_IDLE_SESSION_TIMEOUT", "10000")) ?? 10_000
guard ["exists", "get", "set", "pexists", "pget", "idle"].contains(workload) else { exit(2) }

@Sendable func nowNanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

func resources() -> rusage {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage
}

func cpu(_ a: rusage, _ b: rusage) -> (user: Double, system: Double) {
    func s(_ x: timeval, _ y: timeval) -> Double { Double(y.tv_sec - x.tv_sec) + Double(y.tv_usec - x.tv_usec) / 1e6 }
    return (s(a.ru_utime, b.ru_utime), s(a.ru_stime, b.ru_stime))
}

/// A field of /proc/self/status, in its own units (kB for memory).
func status(_ field: String) -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, file) != nil {
        let text = String(cString: line)
        if text.hasPrefix(field + ":") {
            return text.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 0
        }
    }
    return 0
}

let payload = [UInt8](repeating: 0x61, count: 100)

if workload == "idle" {
    let baseRSS = status("VmRSS")
    var clients: [ZooKeeperClient] = []
    for _ in 0..<count {
        if let client = try? await ZooKeeperClient.connect(connect, sessionTimeout: .milliseconds(idleSessionTimeout)) { clients.append(client) }
    }
    let start = resources()
    let began = nowNanos()
    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    let held = Double(nowNanos() - began) / 1e9
    let (user, system) = cpu(start, resources())
    print("{\"client\":\"swift\",\"workload\":\"idle\",\"sessions\":\(count),\"connected\":\(clients.filter { $0.state == .connected }.count),"
        + "\"seconds\":\(held),\"session_timeout_ms\":\(idleSessionTimeout),\"cpu_user_s\":\(user),\"cpu_sys_s\":\(system),"
        + "\"rss_kb\":\(status("VmRSS")),\"base_rss_kb\":\(baseRSS),\"max_rss_kb\":\(status("VmHWM")),\"threads\":\(status("Threads"))}")
    for client in clients { await client.close() }
    exit(0)
}

let tlsDirectory = environment("BENCH_TLS_DIR", "")
let tls = tlsDirectory.isEmpty ? nil : TLSOptions(
    caFile: tlsDirectory + "/ca.pem", certificateFile: tlsDirectory + "/client.pem", keyFile: tlsDirectory + "/client.key",
    serverName: "localhost")
let instruments = environment("BENCH_INSTRUMENTS", "").split(separator: ",")
let zk = try await ZooKeeperClient.connect(configuration: .init(
    connectString: connect, sessionTimeout: .milliseconds(sessionTimeout), tls: tls,
    metrics: instruments.contains("metrics") ? ZooKeeperMetrics() : nil, tracing: instruments.contains("tracing") ? ZooKeeperTracing() : nil))
let limit = UInt64(seconds * 1e9)
// BENCH_SWIFT_EXECUTOR=io runs the loop on the client's I/O thread (ZooKeeperClient.ioExecutor).
let onIOThread = environment("BENCH_SWIFT_EXECUTOR", "default") == "io"
let name = onIOThread ? "swift-io" : "swift"

/// Runs the workload from `began`: (operations, errors, latency histogram).
@Sendable func runWorkload(began: UInt64) async throws -> (Int, Int, Histogram<UInt64>) {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var ops = 0
    var errors = 0
    switch workload {
    case "exists", "get", "set":
        while ops < count && nowNanos() - began < limit {
            let t0 = nowNanos()
            do {
                switch workload {
                case "exists": _ = try await zk.exists(path)
                case "get": _ = try await zk.getData(path)
                default: try await zk.setData(setPath, data: payload)
                }
            } catch { errors += 1 }
            _ = histogram.record(nowNanos() - t0)
            ops += 1
        }
    default:
        // Keep `window` requests in flight; each completion starts the next until the cap.
        let results: [(UInt64, Bool)] = try await withThrowingTaskGroup(of: (UInt64, Bool).self) { group in
            var started = 0
            var done: [(UInt64, Bool)] = []
            func launch() {
                started += 1
                group.addTask {
                    let t0 = nowNanos()
                    do {
                        if workload == "pexists" { _ = try await zk.exists(path) } else { _ = try await zk.getData(path) }
                        return (nowNanos() - t0, true)
                    } catch { return (nowNanos() - t0, false) }
                }
            }
            while started < min(window, count) { launch() }
            while let result = try await group.next() {
                done.append(result)
                if started < count && nowNanos() - began < limit { launch() }
            }
            return done
        }
        for (latency, ok) in results {
            _ = histogram.record(latency)
            if !ok { errors += 1 }
        }
        ops = results.count
    }
    return (ops, errors, histogram)
}

let start = resources()
let began = nowNanos()
let (ops, errors, histogram) = onIOThread
    ? try await withTaskExecutorPreference(zk.ioExecutor) { try await runWorkload(began: began) }
    : try await runWorkload(began: began)
let elapsed = Double(nowNanos() - began) / 1e9
let (user, system) = cpu(start, resources())
print("{\"client\":\"\(name)\",\"workload\":\"\(workload)\",\"ops\":\(ops),\"errors\":\(errors),\"seconds\":\(elapsed),"
    + "\"window\":\(workload.hasPrefix("p") ? window : 1),\"p50_us\":\(Double(histogram.valueAtPercentile(50)) / 1000),"
    + "\"p99_us\":\(Double(histogram.valueAtPercentile(99)) / 1000),\"cpu_user_s\":\(user),\"cpu_sys_s\":\(system),"
    + "\"max_rss_kb\":\(status("VmHWM"))}")
await zk.close()
