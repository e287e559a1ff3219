// Benchmarks the Swift API against a running server and prints one JSON line:
//   zk-bench CONNECT WORKLOAD COUNT [PATH]
// WORKLOAD: exists | get | set (sequential round trips), pipelined-exists | pipelined-get
// (1,000 in flight), idle (COUNT sessions held for 10 s).
import Histogram
import ZooKeeper
#if canImport(Glibc)
import Glibc
#endif

func usage() -> Never {
    print("usage: zk-bench CONNECT exists|get|set|pipelined-exists|pipelined-get|idle COUNT [PATH]")
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let count = Int(arguments[3]), count > 0 else { usage() }
let connect = arguments[1]
let workload = arguments[2]
let path = arguments.count > 4 ? arguments[4] : "/bench"
let window = 1_000

func nowNanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

func usage(_ start: rusage) -> (user: Double, system: Double, rssKiB: Int) {
    var end = rusage()
    getrusage(RUSAGE_SELF.rawValue, &end)
    func seconds(_ a: timeval, _ b: timeval) -> Double { Double(b.tv_sec - a.tv_sec) + Double(b.tv_usec - a.tv_usec) / 1e6 }
    return (seconds(start.ru_utime, end.ru_utime), seconds(start.ru_stime, end.ru_stime), end.ru_maxrss)
}

func report(ops: Int, nanos: UInt64, histogram: Histogram<UInt64>?, start: rusage, extra: String = "") {
    let (user, system, rss) = usage(start)
    let p50 = histogram.map { Double($0.valueAtPercentile(50)) / 1000 } ?? 0
    let p99 = histogram.map { Double($0.valueAtPercentile(99)) / 1000 } ?? 0
    print("{\"client\":\"swift\",\"workload\":\"\(workload)\",\"ops\":\(ops),\"seconds\":\(Double(nanos) / 1e9),"
        + "\"p50_us\":\(p50),\"p99_us\":\(p99),\"cpu_user_s\":\(user),\"cpu_sys_s\":\(system),\"max_rss_kb\":\(rss)\(extra)}")
}

let payload = [UInt8](repeating: 0x61, count: 100)

if workload == "idle" {
    var start = rusage()
    var clients: [ZooKeeperClient] = []
    let began = nowNanos()
    for _ in 0..<count {
        clients.append(try await ZooKeeperClient.connect(connect, sessionTimeout: .seconds(30)))
    }
    getrusage(RUSAGE_SELF.rawValue, &start)
    let held = nowNanos()
    try await Task.sleep(for: .seconds(10))
    let threads = (try? String(decoding: Array(readFile("/proc/self/status")), as: UTF8.self))?
        .split(separator: "\n").first { $0.hasPrefix("Threads:") }?.split(separator: "\t").last.map(String.init) ?? "?"
    report(ops: count, nanos: nowNanos() - held, histogram: nil, start: start,
           extra: ",\"connect_seconds\":\(Double(held - began) / 1e9),\"threads\":\(threads)")
    for client in clients { await client.close() }
    exit(0)
}

let zk = try await ZooKeeperClient.connect(connect, sessionTimeout: .seconds(30))
if try await zk.exists(path) == nil { try await zk.create(path, data: payload) }
var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
var start = rusage()
getrusage(RUSAGE_SELF.rawValue, &start)
let began = nowNanos()

switch workload {
case "exists", "get", "set":
    for _ in 0..<count {
        let t0 = nowNanos()
        switch workload {
        case "exists": _ = try await zk.exists(path)
        case "get": _ = try await zk.getData(path)
        default: try await zk.setData(path, data: payload)
        }
        _ = histogram.record(nowNanos() - t0)
    }
case "pipelined-exists", "pipelined-get":
    // Keep `window` requests in flight from one task, each completion starting the next.
    let latencies: [UInt64] = try await withThrowingTaskGroup(of: UInt64.self) { group in
        var started = 0
        var done: [UInt64] = []
        done.reserveCapacity(count)
        func launch() {
            started += 1
            group.addTask {
                let t0 = nowNanos()
                if workload == "pipelined-exists" { _ = try await zk.exists(path) } else { _ = try await zk.getData(path) }
                return nowNanos() - t0
            }
        }
        while started < min(window, count) { launch() }
        while let latency = try await group.next() {
            done.append(latency)
            if started < count { launch() }
        }
        return done
    }
    for latency in latencies { _ = histogram.record(latency) }
default:
    usage()
}
report(ops: count, nanos: nowNanos() - began, histogram: histogram, start: start)
await zk.close()

func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "r") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return bytes
}
