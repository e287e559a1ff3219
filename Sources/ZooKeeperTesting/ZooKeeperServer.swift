// Real ZooKeeper servers (Debian's `zookeeper` package) for tests, as Curator's TestingServer and
// TestingCluster: a single server or a 3-server ensemble on free loopback ports in a fresh temp
// directory, controlled by the bundled zk-testbed.sh (the one implementation of the test bed,
// also run by the shell suites as scripts/zk-testbed.sh).
//
// Environment: ZOOKEEPER_CLASSPATH, ZK_TESTBED_JAVA_OPTS, ZK_TESTBED_SCRIPT (another copy of the
// script), and ZK_TESTBED_KEEP=1 to keep the temp directories (logs) after the servers stop.

import Foundation
import ZooKeeper

#if canImport(Glibc)
import Glibc
#endif

public struct ZooKeeperTestServerError: Error, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The servers did not start (the test bed's message has the log's tail).
        case startFailed
        case notRunning
        case other
    }

    public let kind: Kind
    public let description: String
}

/// One ZooKeeper server or an ensemble of them. Servers are numbered from 1 (their myid).
///
/// ```swift
/// let server = try await ZooKeeperServer.start()
/// let zk = try await ZooKeeperClient.connect(server.connectString)
/// ...
/// server.stopAll()
/// ```
public final class ZooKeeperServer: Sendable {
    public static let host = "127.0.0.1"

    /// Holds zoo.cfg, data and logs of every server (one subdirectory per server in an ensemble).
    public let directory: URL
    /// Client port of each server, by id.
    private let ports: [Int: Int]
    private let stopped = Locked(false)

    public var serverIDs: [Int] { ports.keys.sorted() }
    public var hostPorts: [(host: String, port: Int)] { serverIDs.map { (Self.host, port(of: $0)) } }
    public var connectString: String { hostPorts.map { "\($0.host):\($0.port)" }.joined(separator: ",") }

    public func port(of server: Int) -> Int {
        guard let port = ports[server] else { preconditionFailure("no ZooKeeper server \(server); servers are \(serverIDs)") }
        return port
    }

    /// The port that replaced `@SECURE_PORT@` in the configuration (a TLS `secureClientPort`).
    public func securePort(of server: Int) -> Int? {
        let text = try? String(contentsOf: serverDirectory(server).appendingPathComponent("secure-port"), encoding: .utf8)
        return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The servers' secure ports as a connect string.
    public var secureConnectString: String {
        serverIDs.compactMap { id in securePort(of: id).map { "\(Self.host):\($0)" } }.joined(separator: ",")
    }

    public func logFile(of server: Int) -> URL { serverDirectory(server).appendingPathComponent("log/zookeeper.log") }

    private var isEnsemble: Bool { ports.count > 1 }

    private func serverDirectory(_ id: Int) -> URL {
        isEnsemble ? directory.appendingPathComponent("\(id)") : directory
    }

    /// The test bed's server argument: a number in an ensemble, none for a single server.
    private func serverArgument(_ id: Int) -> [String] { isEnsemble ? ["\(id)"] : [] }

    // MARK: Starting

    /// Starts `servers` servers (1 = standalone, 3 = an ensemble) and waits until all serve.
    /// `configuration` lines are added to every zoo.cfg (TLS or SASL settings, say; `@SECURE_PORT@`
    /// in them becomes a free port, see `securePort(of:)`), `javaOptions` to every server's JVM.
    /// Ensembles run one at a time per process (`ZK_TESTBED_MAX_ENSEMBLES` raises it): a second
    /// one waits until the first is stopped (`EnsembleGate`).
    public static func start(servers: Int = 1, configuration: [String] = [], javaOptions: [String] = [],
                             timeout: Duration = .seconds(60)) async throws -> ZooKeeperServer {
        precondition(servers == 1 || servers == 3, "the test bed starts a single server or a 3-server ensemble")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("zk-testbed-\(getpid())-\(UUID().uuidString.prefix(8))")
        registry.track(directory: directory.path)
        var environment = ["ZK_TESTBED_TIMEOUT": "\(max(timeout.components.seconds, 1))"]
        if !configuration.isEmpty { environment["ZK_TESTBED_CONFIG"] = configuration.joined(separator: "\n") }
        if !javaOptions.isEmpty { environment["ZK_TESTBED_JVM_OPTIONS"] = javaOptions.joined(separator: "\n") }
        let command = servers == 1 ? "start-single" : "start-ensemble"
        if servers > 1 { await EnsembleGate.shared.enter() }  // given back by stopAll
        let result: (status: Int32, error: String)
        do {
            result = try await testBed([command, directory.path], environment: environment)
        } catch {
            if servers > 1 { EnsembleGate.shared.leave() }
            throw error
        }
        guard result.status == 0 else {
            if servers > 1 { EnsembleGate.shared.leave() }
            try? FileManager.default.removeItem(at: directory)
            throw ZooKeeperTestServerError(kind: .startFailed, description: "zk-testbed.sh \(command) failed:\n\(result.error)")
        }
        var ports: [Int: Int] = [:]
        for id in 1...servers {
            let serverDirectory = servers == 1 ? directory : directory.appendingPathComponent("\(id)")
            let text = (try? String(contentsOf: serverDirectory.appendingPathComponent("port"), encoding: .utf8)) ?? ""
            guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                if servers > 1 { EnsembleGate.shared.leave() }
                throw ZooKeeperTestServerError(kind: .other, description: "no port file in \(serverDirectory.path)")
            }
            ports[id] = port
        }
        let server = ZooKeeperServer(directory: directory, ports: ports)
        for id in server.serverIDs { server.guardProcess(of: id) }
        return server
    }

    public static func startEnsemble(configuration: [String] = [], timeout: Duration = .seconds(60)) async throws -> ZooKeeperServer {
        try await start(servers: 3, configuration: configuration, timeout: timeout)
    }

    /// A single server shared by every test in the process, started on first use and killed
    /// at process exit. Tests using it must not kill, stop or restart it.
    public static func shared() async throws -> ZooKeeperServer {
        try await sharedServer.get()
    }

    private init(directory: URL, ports: [Int: Int]) {
        self.directory = directory
        self.ports = ports
    }

    /// Kills the JVM at exit of this process, or when this process dies without exiting.
    private func guardProcess(of id: Int) {
        guard let pid = pid(of: id) else { return }
        registry.track(pid: pid, config: serverDirectory(id).appendingPathComponent("zoo.cfg").path)
        startWatchdog(for: pid)
    }

    // MARK: Waiting

    /// Waits until every running, unpaused server answers `srvr` with a `Mode:` line.
    public func waitUntilServing(timeout: Duration = .seconds(60)) async throws {
        try await run(["wait", directory.path], timeout: timeout)
    }

    public func waitUntilServing(server id: Int, timeout: Duration = .seconds(60)) async throws {
        try await run(["wait", directory.path] + serverArgument(id), timeout: timeout)
    }

    // MARK: Controlling servers

    /// The JVM's pid, or nil when the server is not running.
    public func pid(of server: Int) -> pid_t? {
        let file = serverDirectory(server).appendingPathComponent("pid")
        guard let text = try? String(contentsOf: file, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), !isGone(pid) else { return nil }
        return pid
    }

    /// `srvr`'s Mode (`standalone`, `leader`, `follower`), or nil when not serving.
    public func mode(of server: Int) async -> String? {
        guard let srvr = try? await fourLetterWord("srvr", server: server, timeout: 1) else { return nil }
        return srvr.split(separator: "\n").first { $0.hasPrefix("Mode: ") }.map { String($0.dropFirst(6)) }
    }

    /// The id of the current leader of an ensemble, if any server says it is.
    public func leader() async -> Int? {
        for id in serverIDs where await mode(of: id) == "leader" { return id }
        return nil
    }

    public func fourLetterWord(_ word: String, server: Int, timeout: Double = 5) async throws -> String {
        try await Self.fourLetterWord(word, host: Self.host, port: port(of: server), timeout: timeout)
    }

    /// Sends a four-letter word (`srvr`, `cons`, `mntr`, ...) and returns the answer. The socket
    /// waits off the cooperative pool (see `ChildProcess.run`).
    public static func fourLetterWord(_ word: String, host: String, port: Int, timeout: Double = 5) async throws -> String {
        try await offCooperativePool {
            try FourLetterWord.send(word, host: host, port: port, timeout: .milliseconds(Int64(timeout * 1000)))
        }
    }

    /// SIGKILL: a crash. Returns once the process is gone.
    public func kill9(server id: Int) async throws {
        try await run(["kill9", directory.path] + serverArgument(id))
    }

    /// SIGSTOP: the server stays connected but goes silent, like a network partition.
    public func stop(server id: Int) async throws {
        try await run(["pause", directory.path] + serverArgument(id))
    }

    /// SIGCONT: undoes `stop(server:)`.
    public func resume(server id: Int) async throws {
        try await run(["resume", directory.path] + serverArgument(id))
    }

    /// Stops the server if it runs, starts it again on the same ports and data, and waits
    /// until it serves.
    public func restart(server id: Int, timeout: Duration = .seconds(60)) async throws {
        try await run(["restart", directory.path] + serverArgument(id), timeout: timeout)
        guardProcess(of: id)
    }

    /// Kills every server (SIGKILL: the data is throwaway, so there is nothing to shut down
    /// gracefully), waits until they are gone and removes the directory. Safe to call twice;
    /// also runs when the object is released, so keep a reference while using the servers.
    public func stopAll() {
        guard !stopped.withLock({ let was = $0; $0 = true; return was }) else { return }
        // The ensemble's slot is given back once its servers are gone (EnsembleGate).
        defer { if ports.count > 1 { EnsembleGate.shared.leave() } }
        let pids = serverIDs.compactMap(pid(of:))
        for pid in pids {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        for pid in pids {
            while !isGone(pid) { usleep(5_000) }
            registry.untrack(pid: pid)
        }
        if ProcessInfo.processInfo.environment["ZK_TESTBED_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
            registry.untrack(directory: directory.path)
        }
    }

    deinit { stopAll() }

    /// Runs a test-bed command about these servers (off the cooperative pool: they wait).
    private func run(_ arguments: [String], timeout: Duration? = nil) async throws {
        guard !stopped.withLock({ $0 }) else {
            throw ZooKeeperTestServerError(kind: .notRunning, description: "stopAll() was already called")
        }
        var environment: [String: String] = [:]
        if let timeout { environment["ZK_TESTBED_TIMEOUT"] = "\(max(timeout.components.seconds, 1))" }
        let result = try await Self.testBed(arguments, environment: environment)
        guard result.status == 0 else {
            throw ZooKeeperTestServerError(kind: .notRunning, description: "zk-testbed.sh \(arguments.joined(separator: " ")): \(result.error)")
        }
    }

    // MARK: The script

    /// Runs zk-testbed.sh and waits for it; answers its exit status and standard error.
    private static func testBed(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, error: String) {
        let result = try await ChildProcess.run(["/bin/bash", try scriptPath()] + arguments, environment: environment)
        return (result.status, result.error)
    }

    private static func scriptPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["ZK_TESTBED_SCRIPT"] { return path }
        guard let url = Bundle.module.url(forResource: "zk-testbed", withExtension: "sh") else {
            throw ZooKeeperTestServerError(kind: .other, description: "zk-testbed.sh is missing from the ZooKeeperTesting bundle")
        }
        return url.path
    }
}

// MARK: - Cleanup when the test process ends

/// Foundation's Process is gone once the script exits, and the script detaches the JVM
/// (setsid), so a Ctrl-C or a crash of the test process would leave the JVM behind; this shell
/// kills it once we are gone.
private func startWatchdog(for javaPid: pid_t) {
    let script = """
        while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        kill -0 "$1" 2>/dev/null || kill -9 "$2" 2>/dev/null
        """
    let watchdog = Process()
    watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
    watchdog.arguments = ["-c", script, "zk-watchdog", "\(getpid())", "\(javaPid)"]
    watchdog.standardInput = FileHandle.nullDevice
    watchdog.standardOutput = FileHandle.nullDevice
    watchdog.standardError = FileHandle.nullDevice
    try? watchdog.run()
}

private let sharedServer = SharedServer()

/// Starts the shared server once; later callers await the same start (and its failure).
private actor SharedServer {
    private var server: Task<ZooKeeperServer, any Error>?

    func get() async throws -> ZooKeeperServer {
        if let server { return try await server.value }
        let task = Task { try await ZooKeeperServer.start(servers: 1) }
        server = task
        return try await task.value
    }
}

/// Every JVM we started and every temp directory, so the process can clean up at exit even
/// when tests never reach their teardown.
private let registry = Registry()

private final class Registry: @unchecked Sendable {
    private let lock = NSLock()
    private var pids: [pid_t: String] = [:]  // pid -> its zoo.cfg path
    private var directories: Set<String> = []
    private var atexitInstalled = false

    func track(pid: pid_t, config: String) {
        lock.withLock {
            pids[pid] = config
            if !atexitInstalled {
                atexitInstalled = true
                atexit { registry.killAll() }
            }
        }
    }

    func untrack(pid: pid_t) { _ = lock.withLock { pids.removeValue(forKey: pid) } }
    func track(directory: String) { _ = lock.withLock { directories.insert(directory) } }
    func untrack(directory: String) { _ = lock.withLock { directories.remove(directory) } }

    func killAll() {
        let (pids, directories) = lock.withLock { (self.pids, self.directories) }
        for (pid, config) in pids {
            // The pid may have been reaped and reused; only kill what still runs our zoo.cfg.
            let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            if cmdline.contains(config) { kill(pid, SIGKILL) }
        }
        guard ProcessInfo.processInfo.environment["ZK_TESTBED_KEEP"] == nil else { return }
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }
}

private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Gone means reaped or a zombie: a zombie still answers kill(pid, 0).
private func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return errno == ESRCH }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    return stat[close...].dropFirst(2).first == "Z"
}
