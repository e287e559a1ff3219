import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end and answers its exit status, standard output and standard error.
/// posix_spawn and waitpid, not Foundation's Process: its waitUntilExit can miss the exit of a
/// short-lived child on Linux and wait forever (seen here with several at once).
public enum ChildProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
        public let error: String
    }

    /// Waits off the cooperative pool: a test that blocks a pool thread (there are as many as
    /// cores, two here) stalls every other task of the process, timers and all.
    public static func run(_ argv: [String], environment: [String: String] = [:]) async throws -> Result {
        try await offCooperativePool { try runBlocking(argv, environment: environment) }
    }

    /// The same on the calling thread (for quick commands from synchronous code).
    public static func runBlocking(_ argv: [String], environment: [String: String] = [:]) throws -> Result {
        guard let program = argv.first else { throw ZooKeeperTestServerError(kind: .other, description: "no program to run") }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        // Close-on-exec: a child spawned meanwhile by another thread (a server's watchdog that
        // lives as long as the process) must not inherit the write ends and keep them open.
        guard pipe(&out) == 0 else { throw failure("pipe", errno) }
        guard pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw failure("pipe", errno)
        }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in out + err { posix_spawn_file_actions_addclose(&actions, fd) }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        resetSignals(&attributes)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, cArgv, cEnv)
        close(out[1])
        close(err[1])
        guard rc == 0 else {
            close(out[0]); close(err[0])
            throw failure("cannot run \(program)", rc)
        }
        // Both pipes at once: a child that fills one while we block on the other would hang.
        var collected: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 { collected[i] += buffer[0..<n] } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS by hand (the macros do not import).
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, output: String(decoding: collected[0], as: UTF8.self),
                      error: String(decoding: collected[1], as: UTF8.self))
    }

    /// A child starts with no signal blocked and every signal at its default action. It would
    /// otherwise inherit the spawning thread's mask, and Dispatch's threads block SIGALRM and
    /// SIGTERM: `timeout 5 cat` then never ends (seen: a `srvr` the server never closed held a
    /// test run for 16 minutes), nor does anything told to stop with SIGTERM.
    private static func resetSignals(_ attributes: inout posix_spawnattr_t) {
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    private static func failure(_ what: String, _ code: Int32) -> ZooKeeperTestServerError {
        ZooKeeperTestServerError(kind: .other, description: "\(what): \(String(cString: strerror(code)))")
    }
}

/// Runs blocking work (a child process, a socket read) on a Dispatch thread and awaits it: a
/// test that blocks a cooperative pool thread (there are as many as cores, two here) stalls
/// every other task of the process, and the time it measures with them.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
