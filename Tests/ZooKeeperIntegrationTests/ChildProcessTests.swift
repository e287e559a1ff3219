import Foundation
import Testing
import ZooKeeperTestSupport

/// The runner behind the test bed's scripts: its children can be stopped by the signals the
/// scripts rely on, whichever thread spawned them.
@Suite struct ChildProcessTests {
    @Test func aChildHasNoSignalBlockedAndTimeoutWorks() async throws {
        let mask = try await ChildProcess.run(["/bin/sh", "-c", "grep '^SigBlk' /proc/self/status"])
        #expect(mask.output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("0000000000000000"), "\(mask.output)")

        let started = ContinuousClock.now
        let timedOut = try await ChildProcess.run(["/usr/bin/timeout", "1", "/bin/sleep", "30"])
        #expect(timedOut.status == 124, "timeout's status when it had to stop the command")
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
