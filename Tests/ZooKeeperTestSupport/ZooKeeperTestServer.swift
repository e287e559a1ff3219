// Real ZooKeeper servers (Debian's `zookeeper` package) for integration tests.
//
// Each server is a `java ... QuorumPeerMain zoo.cfg` child process on free loopback ports
// in a fresh temp directory; the same layout and zoo.cfg as scripts/zk-testbed.sh.
// Environment: ZOOKEEPER_CLASSPATH, ZK_TESTBED_JAVA_OPTS, JAVA_HOME, and
// ZK_TESTBED_KEEP=1 to keep the temp directories (logs) after the servers stop.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct ZooKeeperTestServerError: Error, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The JVM died before serving; usually a port taken between picking and binding it.
        case exitedDuringStartup
        /// Another ZooKeeper answered on the port we picked.
        case portTaken
        case timeout
        case notRunning
        case other
    }

    public let kind: Kind
    public let description: String
}

/// One ZooKeeper server or an ensemble of them. Servers are numbered from 1 (their myid).
public final class ZooKeeperServer: Sendable {
    private struct Member: Sendable {
        let id: Int
        let clientPort: Int
        let quorumPort: Int
        let electionPort: Int
        let directory: URL
        var config: URL { directory.appendingPathComponent("zoo.cfg") }
        var dataDir: URL { directory.appendingPathComponent("data") }
        var logDir: URL { directory.appendingPathComponent("log") }
    }

    private struct Running {
        var java: Process
        var watchdog: Process?
        var paused = false
    }

    public static let host = "127.0.0.1"

    /// Holds zoo.cfg, data and logs of every server (one subdirectory per server in an ensemble).
    public let directory: URL
    private let members: [Member]
    private let running = Locked<[Int: Running]>([:])
    private let stopped = Locked(false)

    public var serverIDs: [Int] { members.map(\.id) }
    public var hostPorts: [(host: String, port: Int)] { members.map { (Self.host, $0.clientPort) } }
    public var connectString: String { members.map { "\(Self.host):\($0.clientPort)" }.joined(separator: ",") }

    public func port(of server: Int) -> Int { member(server).clientPort }
    public func logFile(of server: Int) -> URL { member(server).logDir.appendingPathComponent("zookeeper.log") }

    // MARK: Starting

    /// Starts `servers` servers (1 = standalone, 3 = an ensemble) and waits until all serve.
    /// Retries with fresh ports when a picked port was grabbed by someone else meanwhile.
    public static func start(servers: Int = 1, timeout: Duration = .seconds(60)) async throws -> ZooKeeperServer {
        precondition(servers >= 1)
        var attempt = 1
        while true {
            let server = try ZooKeeperServer(servers: servers)
            do {
                for member in server.members { try server.launch(member) }
                try await server.waitUntilServing(timeout: timeout)
                return server
            } catch let error as ZooKeeperTestServerError
                where attempt < 3 && (error.kind == .exitedDuringStartup || error.kind == .portTaken) {
                server.stopAll()
                attempt += 1
            } catch {
                server.stopAll()
                throw error
            }
        }
    }

    public static func startEnsemble(timeout: Duration = .seconds(60)) async throws -> ZooKeeperServer {
        try await start(servers: 3, timeout: timeout)
    }

    /// A single server shared by every test in the process, started on first use and killed
    /// at process exit. Tests using it must not kill, stop or restart it.
    public static func shared() async throws -> ZooKeeperServer {
        try await sharedServer.get()
    }

    private init(servers count: Int) throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("zk-testbed-\(getpid())-\(UUID().uuidString.prefix(8))")
        // Client, quorum and election port per server, all distinct.
        let ports = try freeLoopbackPorts(count: 3 * count)
        members = (1...count).map { id in
            Member(id: id, clientPort: ports[id - 1], quorumPort: ports[count + id - 1],
                   electionPort: ports[2 * count + id - 1],
                   directory: count == 1 ? base : base.appendingPathComponent("\(id)"))
        }
        directory = base
        registry.track(directory: base.path)

        let serverLines = count == 1 ? [] : members.map {
            "server.\($0.id)=\(Self.host):\($0.quorumPort):\($0.electionPort)"
        }
        let fm = FileManager.default
        for m in members {
            try fm.createDirectory(at: m.dataDir, withIntermediateDirectories: true)
            try fm.createDirectory(at: m.logDir, withIntermediateDirectories: true)
            let config = [
                "tickTime=500", "initLimit=10", "syncLimit=2",
                "dataDir=\(m.dataDir.path)",
                "clientPort=\(m.clientPort)", "clientPortAddress=\(Self.host)",
                "maxClientCnxns=0", "minSessionTimeout=1000", "maxSessionTimeout=60000",
                "admin.enableServer=false", "4lw.commands.whitelist=*", "extendedTypesEnabled=true",
                // Test data is throwaway; skipping fsync keeps writes fast on a shared disk.
                "forceSync=no",
            ] + serverLines
            try (config.joined(separator: "\n") + "\n").write(to: m.config, atomically: true, encoding: .utf8)
            if count > 1 {
                try "\(m.id)\n".write(to: m.dataDir.appendingPathComponent("myid"), atomically: true, encoding: .utf8)
            }
        }
    }

    private func member(_ id: Int) -> Member {
        guard let m = members.first(where: { $0.id == id }) else {
            preconditionFailure("no ZooKeeper server \(id); servers are \(serverIDs)")
        }
        return m
    }

    private func launch(_ m: Member) throws {
        try running.withLock { running in
            if let old = running[m.id], !isGone(old.java.processIdentifier) {
                throw ZooKeeperTestServerError(kind: .other, description: "server \(m.id) is already running")
            }
            if stopped.withLock({ $0 }) {
                throw ZooKeeperTestServerError(kind: .notRunning, description: "stopAll() was already called")
            }
            let java = Process()
            java.executableURL = javaExecutable()
            java.arguments = javaOptions() + [
                "-Dzookeeper.log.dir=\(m.logDir.path)",
                "-Dzookeeper.root.logger=INFO,ROLLINGFILE",
                "-Dzookeeper.jmx.log4j.disable=true",
                "-cp", zooKeeperClasspath(),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.config.path,
            ]
            let outputURL = m.logDir.appendingPathComponent("stdout.log")
            if !FileManager.default.fileExists(atPath: outputURL.path) {
                _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
            }
            let output = try FileHandle(forWritingTo: outputURL)
            defer { try? output.close() }  // the child keeps its own copy
            output.seekToEndOfFile()
            java.standardInput = FileHandle.nullDevice
            java.standardOutput = output
            java.standardError = output
            do {
                try java.run()
            } catch {
                throw ZooKeeperTestServerError(kind: .other, description: "cannot run \(java.executableURL?.path ?? "java"): \(error)")
            }
            registry.track(pid: java.processIdentifier, config: m.config.path)
            running[m.id] = Running(java: java, watchdog: startWatchdog(for: java.processIdentifier))
        }
    }

    /// Foundation puts children in their own process group, so a Ctrl-C or a crash of the
    /// test process would leave the JVM behind; this shell kills it once we are gone.
    private func startWatchdog(for javaPid: pid_t) -> Process? {
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
        return (try? watchdog.run()) == nil ? nil : watchdog
    }

    // MARK: Waiting

    /// Waits until every running, unpaused server answers `srvr` with a `Mode:` line.
    public func waitUntilServing(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        let ids = running.withLock { running in
            running.filter { !$0.value.paused && !isGone($0.value.java.processIdentifier) }.keys.sorted()
        }
        for id in ids { try await waitUntilServing(server: id, until: deadline) }
    }

    public func waitUntilServing(server id: Int, timeout: Duration = .seconds(60)) async throws {
        try await waitUntilServing(server: id, until: ContinuousClock.now + timeout)
    }

    private func waitUntilServing(server id: Int, until deadline: ContinuousClock.Instant) async throws {
        let m = member(id)
        // `ruok` already answers before sessions are accepted; a Mode line means serving.
        while true {
            guard let pid = pid(of: id) else {
                throw startupError(.exitedDuringStartup, m, "ZooKeeper server \(id) exited during startup")
            }
            if let srvr = try? Self.fourLetterWord("srvr", host: Self.host, port: m.clientPort, timeout: 1),
               srvr.contains("\nMode: ") {
                // Another server already on this port would answer too; `conf` names its dataDir.
                // (A follower that lost its leader in between answers without it: poll again.)
                let conf = (try? Self.fourLetterWord("conf", host: Self.host, port: m.clientPort, timeout: 1)) ?? ""
                if conf.contains("dataDir=\(m.dataDir.path)/") { return }
                if conf.contains("dataDir=") {
                    throw startupError(.portTaken, m, "port \(m.clientPort) is served by another ZooKeeper, not by pid \(pid)")
                }
            }
            if ContinuousClock.now >= deadline {
                throw startupError(.timeout, m, "ZooKeeper server \(id) (pid \(pid)) not serving on port \(m.clientPort) in time")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func startupError(_ kind: ZooKeeperTestServerError.Kind, _ m: Member, _ message: String) -> ZooKeeperTestServerError {
        let log = tail(of: m.logDir.appendingPathComponent("zookeeper.log"), lines: 30)
        let output = tail(of: m.logDir.appendingPathComponent("stdout.log"), lines: 10)
        return ZooKeeperTestServerError(
            kind: kind,
            description: "\(message)\n--- \(m.logDir.path)/zookeeper.log ---\n\(log)\n--- stdout/stderr ---\n\(output)")
    }

    // MARK: Controlling servers

    /// The JVM's pid, or nil when the server is not running.
    public func pid(of server: Int) -> pid_t? {
        running.withLock { running in
            guard let pid = running[server]?.java.processIdentifier, !isGone(pid) else { return nil }
            return pid
        }
    }

    /// `srvr`'s Mode (`standalone`, `leader`, `follower`), or nil when not serving.
    public func mode(of server: Int) -> String? {
        guard let srvr = try? fourLetterWord("srvr", server: server, timeout: 1) else { return nil }
        return srvr.split(separator: "\n").first { $0.hasPrefix("Mode: ") }.map { String($0.dropFirst(6)) }
    }

    /// The id of the current leader of an ensemble, if any server says it is.
    public func leader() -> Int? {
        serverIDs.first { mode(of: $0) == "leader" }
    }

    public func fourLetterWord(_ word: String, server: Int, timeout: Double = 5) throws -> String {
        try Self.fourLetterWord(word, host: Self.host, port: member(server).clientPort, timeout: timeout)
    }

    /// SIGKILL: a crash. Returns once the process is gone.
    public func kill9(server id: Int) throws {
        guard let pid = pid(of: id) else {
            throw ZooKeeperTestServerError(kind: .notRunning, description: "ZooKeeper server \(id) is not running")
        }
        try killAndWait(pid)
    }

    /// SIGSTOP: the server stays connected but goes silent, like a network partition.
    public func stop(server id: Int) throws {
        try signal(SIGSTOP, server: id, paused: true)
    }

    /// SIGCONT: undoes `stop(server:)`.
    public func resume(server id: Int) throws {
        try signal(SIGCONT, server: id, paused: false)
    }

    private func signal(_ sig: Int32, server id: Int, paused: Bool) throws {
        try running.withLock { running in
            guard let pid = running[id]?.java.processIdentifier, !isGone(pid), kill(pid, sig) == 0 else {
                throw ZooKeeperTestServerError(kind: .notRunning, description: "ZooKeeper server \(id) is not running")
            }
            running[id]?.paused = paused
        }
    }

    /// Kills the server if it runs, waits until its old process is gone, starts it again on
    /// the same ports and data, and waits until it serves.
    public func restart(server id: Int, timeout: Duration = .seconds(60)) async throws {
        if let pid = pid(of: id) { try killAndWait(pid) }
        try launch(member(id))
        try await waitUntilServing(server: id, timeout: timeout)
    }

    /// Kills every server (SIGKILL: the data is throwaway, so there is nothing to shut down
    /// gracefully), waits until they are gone and removes the directory. Safe to call twice;
    /// also runs when the object is released, so keep a reference while using the servers.
    public func stopAll() {
        stopped.withLock { $0 = true }
        let pids = running.withLock { $0.values.map(\.java.processIdentifier) }
        for pid in pids where !isGone(pid) { try? killAndWait(pid) }
        if ProcessInfo.processInfo.environment["ZK_TESTBED_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
            registry.untrack(directory: directory.path)
        }
    }

    deinit { stopAll() }

    private func killAndWait(_ pid: pid_t) throws {
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(30)
        while !isGone(pid) {
            if Date() > deadline {
                throw ZooKeeperTestServerError(kind: .other, description: "pid \(pid) still alive 30 s after SIGKILL")
            }
            usleep(5_000)
        }
        registry.untrack(pid: pid)
    }

    // MARK: Four-letter words

    /// Sends a four-letter word (`srvr`, `cons`, `mntr`, ...) and returns the answer; the
    /// server closes the connection after answering. Blocking, with a socket timeout.
    public static func fourLetterWord(_ word: String, host: String, port: Int, timeout: Double = 5) throws -> String {
        func failure(_ what: String, _ code: Int32) -> ZooKeeperTestServerError {
            ZooKeeperTestServerError(kind: .other, description: "\(word) to \(host):\(port): \(what): \(String(cString: strerror(code)))")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = socketTypeStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw ZooKeeperTestServerError(kind: .other, description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }

        var lastError = ECONNREFUSED
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next?.pointee {
            next = ai.ai_next
            let fd = socket(ai.ai_family, ai.ai_socktype, ai.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            defer { close(fd) }
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
            // On Linux SO_SNDTIMEO also bounds connect().
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            guard connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 else { lastError = errno; continue }

            let request = Array(word.utf8)
            guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                throw failure("send", errno)
            }
            var answer = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { answer += buffer[0..<n]; continue }
                if n == 0 { return String(decoding: answer, as: UTF8.self) }
                if errno == EINTR { continue }
                throw failure("recv", errno)
            }
        }
        throw failure("connect", lastError)
    }
}

// MARK: - Helpers

#if canImport(Glibc)
private let socketTypeStream = Int32(SOCK_STREAM.rawValue)
#else
private let socketTypeStream = SOCK_STREAM
#endif

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

/// Distinct free loopback ports; every socket stays bound until all ports are picked.
private func freeLoopbackPorts(count: Int) throws -> [Int] {
    var fds: [Int32] = []
    defer { fds.forEach { _ = close($0) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, socketTypeStream, 0)
        guard fd >= 0 else { throw portError("socket") }
        fds.append(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw portError("bind") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}

private func portError(_ call: String) -> ZooKeeperTestServerError {
    ZooKeeperTestServerError(kind: .other, description: "picking a free port: \(call): \(String(cString: strerror(errno)))")
}

private func tail(of file: URL, lines: Int) -> String {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return "(no \(file.lastPathComponent))" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}

private let defaultClasspath = [
    "/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar",
    // Debian's zookeeper.jar brings slf4j-api but no binding; without these it logs nothing.
    "/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar",
].joined(separator: ":")

private func zooKeeperClasspath() -> String {
    ProcessInfo.processInfo.environment["ZOOKEEPER_CLASSPATH"] ?? defaultClasspath
}

private func javaOptions() -> [String] {
    let options = ProcessInfo.processInfo.environment["ZK_TESTBED_JAVA_OPTS"] ?? "-Xmx256m -XX:+UseSerialGC"
    return options.split(separator: " ").map(String.init)
}

private func javaExecutable() -> URL {
    let environment = ProcessInfo.processInfo.environment
    if let home = environment["JAVA_HOME"] {
        return URL(fileURLWithPath: home).appendingPathComponent("bin/java")
    }
    for dir in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let candidate = "\(dir)/java"
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    return URL(fileURLWithPath: "/usr/bin/java")
}
