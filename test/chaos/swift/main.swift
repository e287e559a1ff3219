// The fault campaign's Swift client (test/chaos/run.sh): the writer of test/chaos/writer.lua on
// the Swift API, plus a persistent recursive watch on /chaos whose view is the set of nodes it
// heard created (two levels: /chaos/<dir>/<node>).
//
//   zk-chaos CONNECT WORK NAME SESSION_MS CALL_MS
//
// Same ledger (WORK/<NAME>.ledger) and control files (quiesce, dump, stop) as the Lua writers.
// A persistent watch is not replayed after a reconnect (ZooKeeper re-adds it without the changes
// made meanwhile), so on each reconnect the watcher re-reads the tree, as any cache must, and
// adds what it missed; a node it missed that was created at or before the last zxid the client
// had seen before the disconnect is an event lost by the client: "missed <path>" in the ledger.
import Synchronization
import ZooKeeper
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 6, let sessionMillis = Int64(arguments[4]), let callMillis = Int64(arguments[5]) else {
    print("usage: zk-chaos CONNECT WORK NAME SESSION_MS CALL_MS")
    exit(64)
}
let (connectString, work, name) = (arguments[1], arguments[2], arguments[3])
let dir = "/chaos/\(name)"

@Sendable func epochMillis() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

@Sendable func fileExists(_ file: String) -> Bool { access("\(work)/\(file)", F_OK) == 0 }

/// The ledger: one line per call or event, flushed at once (the process may be killed).
final class Ledger: Sendable {
    private let file: Mutex<OpaquePointer?>
    init(_ path: String) { file = Mutex(fopen(path, "a").map { OpaquePointer($0) }) }
    func log(_ line: String) {
        file.withLock { file in
            guard let file else { return }
            let stream = UnsafeMutablePointer<FILE>(file)
            fputs(line + "\n", stream)
            fflush(stream)
        }
    }
}

let ledger = Ledger("\(work)/\(name).ledger")

@Sendable func hexSession(_ id: Int64) -> String { "0x" + String(UInt64(bitPattern: id), radix: 16) }

/// The persistent recursive watch's view of /chaos.
final class TreeView: Sendable {
    private struct State {
        var paths: Set<String> = []
        var events = 0
        var zxidAtDisconnect: Int64?
    }
    private let state = Mutex(State())

    func heard(_ event: WatchEvent) {
        guard event.type == .nodeCreated || event.type == .nodeDeleted else { return }
        state.withLock { state in
            state.events += 1
            if event.type == .nodeCreated {
                if !state.paths.insert(event.path).inserted { ledger.log("duplicate-created \(event.path)") }
            } else if state.paths.remove(event.path) == nil {
                ledger.log("deleted-unknown \(event.path)")
            }
        }
    }

    func disconnected(lastZxid: Int64) {
        state.withLock { state in if state.zxidAtDisconnect == nil { state.zxidAtDisconnect = lastZxid } }
    }

    /// Adds what a listing found that no event announced; logs the ones the client should have heard.
    func resync(_ zk: ZooKeeperClient, initial: Bool) async throws {
        let listed = try await listTree(zk)
        let (unheard, bound) = state.withLock { state in
            let unheard = listed.subtracting(state.paths)
            state.paths.formUnion(listed)
            defer { state.zxidAtDisconnect = nil }
            return (unheard, state.zxidAtDisconnect)
        }
        var missed = 0
        if let bound, !initial {
            for path in unheard.sorted() {
                if let stat = try await zk.exists(path), stat.czxid <= bound {
                    missed += 1
                    ledger.log("missed \(path) czxid=\(stat.czxid) zxid-at-disconnect=\(bound)")
                }
            }
        }
        ledger.log("resync \(epochMillis()) \(initial ? "initial" : "reconnect") listed=\(listed.count) added=\(unheard.count) missed=\(missed)")
    }

    func dump(to path: String) {
        let (paths, events) = state.withLock { ($0.paths.sorted(), $0.events) }
        guard let out = fopen(path, "w") else { return }
        fputs("events \(events)\n", out)
        for path in paths { fputs("path \(path)\n", out) }
        fclose(out)
    }
}

/// /chaos, two levels down: the writers' directories and their nodes.
func listTree(_ zk: ZooKeeperClient) async throws -> Set<String> {
    var paths = Set<String>()
    for top in try await zk.getChildren("/chaos") {
        let parent = "/chaos/\(top)"
        paths.insert(parent)
        do {
            for child in try await zk.getChildren(parent) { paths.insert("\(parent)/\(child)") }
        } catch let error as ZooKeeperError where error.code == .noNode {}
    }
    return paths
}

/// Retries a setup call while a fault may be under way.
func retrying<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    for _ in 0..<200 {
        do { return try await body() } catch {
            ledger.log("retry \(what) \(error)")
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    ledger.log("error \(what)")
    exit(1)
}

func ensure(_ zk: ZooKeeperClient, _ path: String) async throws {
    do { _ = try await zk.create(path) } catch let error as ZooKeeperError where error.code == .nodeExists {}
}

/// The writer: sequential creates, versioned sets and bursts of creates, each written to the ledger.
struct Writer {
    let zk: ZooKeeperClient
    var seq = 0
    var version: Int32?

    static func outcome(_ error: any Error) -> String {
        guard let error = error as? ZooKeeperError else { return "fail \(error)" }
        let uncertain = error.code == .connectionLoss || error.code == .operationTimeout
        return "\(uncertain ? "unknown" : "fail") \(error.code.rawValue)"
    }

    func timed<T>(_ body: () async throws -> T) async -> (Int64, Result<T, any Error>) {
        let start = ContinuousClock.now
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        return (Self.millis(ContinuousClock.now - start), result)
    }

    var steps = 0

    /// A create, a set, then a burst of creates sent at once, in turn (as test/chaos/writer.lua).
    mutating func step() async {
        steps += 1
        switch steps % 3 {
        case 1: await create()
        case 2: await set()
        default: await burst()
        }
    }

    /// `count` creates in flight at once, each logged as its own create.
    mutating func burst(count: Int = 5) async {
        let first = seq + 1
        seq += count
        let start = ContinuousClock.now
        let outcomes = await withTaskGroup(of: (Int, String).self) { group in
            for n in first..<(first + count) {
                group.addTask { [zk] in
                    do {
                        let created = try await zk.create("\(dir)/s-", data: Array("\(name):\(n)".utf8), mode: .persistentSequential)
                        return (n, "ack \(created.path)")
                    } catch { return (n, Self.outcome(error)) }
                }
            }
            var outcomes: [Int: String] = [:]
            for await (n, outcome) in group { outcomes[n] = outcome }
            return outcomes
        }
        let ms = Self.millis(ContinuousClock.now - start)
        for n in first..<(first + count) { ledger.log("create \(n) \(outcomes[n] ?? "unknown none") \(ms)") }
    }

    static func millis(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }

    mutating func create() async {
        seq += 1
        let data = Array("\(name):\(seq)".utf8)
        let (ms, result) = await timed { try await zk.create("\(dir)/s-", data: data, mode: .persistentSequential) }
        switch result {
        case .success(let created): ledger.log("create \(seq) ack \(created.path) \(ms)")
        case .failure(let error): ledger.log("create \(seq) \(Self.outcome(error)) \(ms)")
        }
    }

    mutating func set() async {
        if version == nil {
            let (ms, result) = await timed { try await zk.exists("\(dir)/counter") }
            guard case .success(let stat?) = result else {
                ledger.log("read failed \(ms)")
                return
            }
            ledger.log("read ack \(ms)")
            version = stat.version
            ledger.log("version \(stat.version)")
        }
        seq += 1
        let data = Array("\(name):\(seq)".utf8)
        let expected = version ?? -1
        let (ms, result) = await timed { try await zk.setData("\(dir)/counter", data: data, version: expected) }
        switch result {
        case .success(let stat):
            ledger.log("set \(seq) ack \(stat.version) \(ms)")
            version = stat.version
        case .failure(let error):
            ledger.log("set \(seq) \(Self.outcome(error)) \(ms)")
            version = nil
        }
    }
}

var configuration = ZooKeeperClient.Configuration(
    connectString: connectString, sessionTimeout: .milliseconds(sessionMillis), requestTimeout: .milliseconds(callMillis))
configuration.logger.logLevel = .critical
let zk: ZooKeeperClient
do { zk = try await ZooKeeperClient.connect(configuration: configuration, timeout: .seconds(30)) } catch {
    ledger.log("error connect \(error)")
    exit(1)
}

@Sendable func recordState(_ state: String) {
    ledger.log("state \(epochMillis()) \(state) \(hexSession(zk.sessionId)) \(zk.currentHost.map { "\($0)" } ?? "nil")")
}

let view = TreeView()
let expired = Mutex(false)
zk.onStateChange { event in
    if event == .disconnected { view.disconnected(lastZxid: zk.lastZxid) }
    recordState("\(event)")
    if event == .reconnected { Task { try? await view.resync(zk, initial: false) } }
    if event == .expired { expired.withLock { $0 = true } }
}
recordState("start")

/// The writes, the watcher's view, then idling through the quorum loss.
func campaign() async throws {
    var writer = Writer(zk: zk)
    try await retrying("prepare") {
        for path in ["/chaos", dir, "\(dir)/counter", "/chaos/eph"] { try await ensure(zk, path) }
    }
    let ephemeral = try await retrying("ephemeral") { try await zk.create("/chaos/eph/\(name)", mode: .ephemeral).path }
    ledger.log("ephemeral \(ephemeral) \(hexSession(zk.sessionId))")
    try await retrying("watch") { try await zk.addWatch("/chaos", mode: .persistentRecursive) { view.heard($0) } }
    try await retrying("initial listing") { try await view.resync(zk, initial: true) }

    ledger.log("ready")
    while !fileExists("quiesce") {
        await writer.step()
        try await Task.sleep(for: .milliseconds(20))
    }
    ledger.log("quiesced")
    while !fileExists("dump") { try await Task.sleep(for: .milliseconds(50)) }
    try await Task.sleep(for: .milliseconds(1500))
    view.dump(to: "\(work)/\(name).view")
    ledger.log("viewed")

    // Idle through the quorum loss until the session ends (the onStateChange handler records when).
    while !fileExists("stop") && !expired.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
    ledger.log("end")
    if !expired.withLock({ $0 }) { await zk.close() }
}

try await campaign()
