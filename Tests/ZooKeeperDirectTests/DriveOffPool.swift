import ZooKeeperDirect
import ZooKeeperTestSupport

extension DirectSession {
    /// Drives the session (as a Lua caller does) until `ready` or the deadline, on a thread of
    /// its own: a test task must not hold one of the cooperative pool's threads (two on this
    /// machine) in poll() for seconds while other suites' timings run.
    func driveOffPool(until deadline: Int64, ready: @escaping @Sendable () -> Bool) async {
        _ = try? await offCooperativePool { self.drive(until: deadline, ready: ready) }
    }
}
