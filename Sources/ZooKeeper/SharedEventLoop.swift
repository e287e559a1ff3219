import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The one event-loop thread that serves every client of the process. It is created on the first
/// connect, never at load time (nginx loads modules in its master, then forks), and a forked
/// child's first connect creates its own, since the parent's thread does not exist there.
enum SharedEventLoop {
    private struct Owner {
        var pid: pid_t
        var group: MultiThreadedEventLoopGroup
    }
    private static let owner = NIOLockedValueBox<Owner?>(nil)

    static func next() -> EventLoop {
        owner.withLockedValue { owner in
            let pid = getpid()
            if let current = owner, current.pid == pid { return current.group.next() }
            // A group inherited over fork() has no threads behind it: leave it, make a new one.
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            owner = Owner(pid: pid, group: group)
            return group.next()
        }
    }
}

/// Milliseconds on the monotonic clock, the time base of the session state machine.
func monotonicMillis() -> Int64 {
    Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
}
