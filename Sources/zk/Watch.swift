import ArgumentParser
import Dispatch
import ZooKeeper

#if canImport(Glibc)
import Glibc
#endif

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a node's events (a persistent watch) until interrupted.",
        discussion: "Says `watching PATH` on standard error once the watch is set. SIGINT or SIGTERM closes the session and exits 0.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Every descendant's events too (a persistent recursive watch).") var recursive = false
    @Flag(help: "One JSON object per event: {event, path}.") var json = false
    @Argument(help: "The node (it need not exist).") var path: String

    func run() async throws {
        let interrupted = Self.interruptions()
        try await connection.withClient { zk in
            let mode: AddWatchMode = recursive ? .persistentRecursive : .persistent
            let events = try await request(path) { () async throws in try await zk.watchEvents(path, mode: mode) }
            warn("watching \(path)")
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in events { emit(describe(event, json: json)) }
                }
                group.addTask {
                    for await _ in interrupted { return }
                }
                // Whichever ends first (an interrupt, or the session's end) ends both.
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// SIGINT and SIGTERM as a stream, so the command can close its session before exiting.
    /// A handler (not SIG_IGN plus a dispatch source: a shell starts background jobs with
    /// SIGINT ignored, and an ignored signal never reaches a dispatch source) writes a byte to a
    /// pipe; a thread off the cooperative pool waits on it.
    private static func interruptions() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return stream }  // no pipe: the signals keep their default (exit)
        interruptWriteEnd = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(interruptWriteEnd, &byte, 1)
        }
        for sig in [SIGINT, SIGTERM] { sigaction(sig, &action, nil) }
        let readEnd = fds[0]
        DispatchQueue.global().async {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) < 0 && errno == EINTR {}
            continuation.yield()
        }
        return stream
    }
}

/// Written to by the signal handler (which can capture nothing).
nonisolated(unsafe) private var interruptWriteEnd: Int32 = -1
