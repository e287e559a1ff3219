import Foundation
import NIOConcurrencyHelpers
import Testing
import ZooKeeperTestSupport

/// Apache Curator 5.4 (Debian's jars) in a child JVM, driven line by line: the peer of the
/// recipe interop tests. `test/curator/CuratorPeer.java` is compiled once per test process.
final class CuratorPeer: Sendable {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../test/curator/CuratorPeer.java").standardized
    static let jars = ["curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute", "guava", "slf4j-api", "slf4j-nop"]
        .map { "/usr/share/java/\($0).jar" }

    /// Compiles the peer into a fresh directory, once per process, off the cooperative pool
    /// (javac takes seconds; a pool thread blocked that long stalls every test's tasks).
    private static let compiled = Task { () throws -> String in
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("curator-peer-\(getpid())").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let javac = try await ChildProcess.run(["/usr/bin/javac", "-nowarn", "-d", out, "-cp", jars.joined(separator: ":"), source.path])
        guard javac.status == 0 else { throw PeerError("javac failed on \(source.path): \(javac.error)") }
        return out
    }

    /// The directory of the compiled peer.
    static func classes() async throws -> String { try await compiled.value }

    struct PeerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private let process = Process()
    private let input = Pipe()
    private let lines = NIOLockedValueBox<[String]>([])
    private let partial = NIOLockedValueBox<String>("")

    /// Starts a peer connected to `connectString` and waits until it is connected.
    init(connectString: String) async throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/java")
        process.arguments = ["-cp", ([try await Self.classes()] + Self.jars).joined(separator: ":"), "CuratorPeer", connectString]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = input
        // A plain thread with blocking reads: libdispatch's readability sources crashed at EOF.
        let reader = output.fileHandleForReading
        let thread = Thread { [lines, partial] in
            while true {
                let data = reader.availableData
                if data.isEmpty { return }
                let complete: [String] = partial.withLockedValue { buffer in
                    buffer += String(decoding: data, as: UTF8.self)
                    var parts = buffer.components(separatedBy: "\n")
                    buffer = parts.removeLast()
                    return parts
                }
                lines.withLockedValue { $0 += complete }
            }
        }
        try process.run()
        thread.start()
        try await expect("ready", within: .seconds(30))
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    func send(_ command: String) {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
    }

    /// Every line so far.
    var heard: [String] { lines.withLockedValue { $0 } }

    /// Waits until the peer has said `line` `count` times in all; throws after `within`.
    func expect(_ line: String, count: Int = 1, within timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while heard.filter({ $0 == line }).count < count {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw PeerError("Curator peer did not say \"\(line)\" (\(count)x) within \(timeout); it said \(heard)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The first line starting with `prefix`, waiting for it.
    func line(startingWith prefix: String, within timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let line = heard.first(where: { $0.hasPrefix(prefix) }) { return line }
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw PeerError("Curator peer did not say \"\(prefix)...\" within \(timeout); it said \(heard)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Asks the peer to end and waits (polling, so no pool thread blocks) up to 10 s for it.
    func quit() async {
        send("quit")
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { process.terminate() }
    }
}
