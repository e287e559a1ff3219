import NIOConcurrencyHelpers
import ZooKeeperSession

/// The session's public facts, copied after every step of the driver so that any thread can
/// read them without a hop to the event loop.
final class SessionSnapshot: Sendable {
    struct Facts: Sendable {
        var state: SessionState = .connecting
        var sessionId: Int64 = 0
        var password: [UInt8] = []
        var sessionTimeout: Int64 = 0
        var lastZxid: Int64 = 0
        var host: HostAddress?
        var connectResponse: ConnectResponse?
    }

    private let box = NIOLockedValueBox(Facts())

    var facts: Facts { box.withLockedValue { $0 } }

    func update(_ machine: SessionStateMachine) {
        box.withLockedValue { facts in
            facts.state = machine.state
            facts.sessionId = machine.sessionId
            if facts.password != machine.password { facts.password = machine.password }
            facts.sessionTimeout = machine.sessionTimeout
            facts.lastZxid = machine.lastZxid
            facts.host = machine.currentHost
            facts.connectResponse = machine.lastConnectResponse
        }
    }
}
