import ArgumentParser
import ZooKeeper

#if canImport(Glibc)
import Glibc
#endif

/// The options every command takes: where the ensemble is and how long to wait for it.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "host:port[,host:port...][/chroot] (default: $ZK_SERVER or 127.0.0.1:2181)")
    var server: String?

    @Option(name: .long, help: "Milliseconds to wait for the connection and for each request.")
    var timeout: Int = 10_000

    var connectString: String {
        if let server { return server }
        if let fromEnvironment = getenv("ZK_SERVER").map({ String(cString: $0) }), !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "127.0.0.1:2181"
    }

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of milliseconds") }
    }

    /// Connects, runs `body`, and closes the session whatever happens, so ephemeral nodes of
    /// the command vanish at once. A failure becomes one line and exit status 1.
    func withClient(_ body: (ZooKeeperClient) async throws -> Void) async throws {
        let wait = Duration.milliseconds(timeout)
        let configuration = ZooKeeperClient.Configuration(
            connectString: connectString, sessionTimeout: max(wait, .seconds(10)), requestTimeout: wait)
        let client: ZooKeeperClient
        do {
            client = try await ZooKeeperClient.connect(configuration: configuration, timeout: wait)
        } catch {
            throw CommandFailure("\(connectString): cannot connect: \(error)")
        }
        do {
            try await body(client)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}

/// A failed command: printed as `zk: <message>` on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    /// The ZooKeeper code, when the server (or the session) answered with one.
    let code: ErrorCode?
    init(_ description: String, code: ErrorCode? = nil) {
        self.description = description
        self.code = code
    }

    /// `PATH: NAME (code): message`.
    init(_ path: String, _ code: ErrorCode) {
        self.init("\(path): \(code.name) (\(code.rawValue)): \(code.message)", code: code)
    }
}

/// Runs one request about `path`; a ZooKeeper error names the node and the code.
func request<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ZooKeeperError {
        throw CommandFailure(path, error.code)
    }
}

/// Joins a parent path and a child name.
func childPath(_ parent: String, _ child: String) -> String {
    parent == "/" ? "/" + child : parent + "/" + child
}

/// Writes a line and flushes, so a reader of a pipe (or a test) sees every event at once.
func emit(_ line: String) {
    print(line)
    fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
}

/// Writes a line to standard error (unbuffered: one write).
func warn(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
