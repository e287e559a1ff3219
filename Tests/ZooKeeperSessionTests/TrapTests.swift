import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Inputs that must not crash the process: caller-supplied timeouts (a very large one meaning
/// "no timeout") and an empty host list. Checked in a child process, since the failure is a trap.
@Suite struct TrapTests {
    /// A request timeout of Millis.max (no timeout) saturates instead of overflowing.
    @Test
    func aHugeRequestTimeoutDoesNotTrap() async {
        await #expect(processExitsWith: .success) {
            var machine = SessionStateMachine(configuration: SessionConfiguration(connectString: ConnectString(hosts: [HostAddress(host: "a", port: 1)]), shuffleSeed: 1))
            _ = machine.start(now: 10)
            _ = machine.submit(.sync(path: "/"), timeout: .max, now: 10)
            _ = machine.tick(now: 20)
        }
    }

    /// So does a close timeout.
    @Test
    func aHugeCloseTimeoutDoesNotTrap() async {
        await #expect(processExitsWith: .success) {
            var machine = SessionStateMachine(configuration: SessionConfiguration(connectString: ConnectString(hosts: [HostAddress(host: "a", port: 1)]), shuffleSeed: 1))
            _ = machine.start(now: 10)
            _ = machine.connectionEstablished(1, now: 10)
            let response = FrameEncoder.frame {
                ConnectResponse(timeOut: 9_000, sessionId: 1, passwd: [UInt8](repeating: 1, count: 16)).encode(to: &$0)
            }
            _ = machine.bytesReceived(response, connection: 1, now: 10)
            _ = machine.close(now: 20, timeout: .max)
        }
    }

    /// `ConnectString(hosts: [])` is accepted by the public initializer; with nothing to
    /// connect to, the session closes instead of dividing by the empty host count.
    @Test
    func anEmptyHostListDoesNotTrap() async {
        await #expect(processExitsWith: .success) {
            var machine = SessionStateMachine(configuration: SessionConfiguration(
                connectString: ConnectString(hosts: []), reconnectPause: 0, shuffleSeed: 1))
            _ = machine.start(now: 0)
        }
    }
}
