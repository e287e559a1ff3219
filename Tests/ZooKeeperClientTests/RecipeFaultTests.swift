import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// A lock holder and a leader whose own server fails (kill -9, or a freeze: a silent partition)
/// on a real 3-node ensemble: the session resumes on another server within its timeout, so the
/// lock and the leadership stay where they were. The holder is told it may have lost them while
/// disconnected (suspended / stepped down), and nobody else gets them meanwhile.
@Suite(.serialized) struct RecipeFaultTests {
    enum Fault: String, CustomStringConvertible, CaseIterable {
        case kill9, freeze
        var description: String { rawValue }
    }

    static let sessionTimeout = Duration.seconds(6)

    /// Two clients on different servers of a fresh ensemble; the first one's server is the victim.
    struct Bed {
        let ensemble: ZooKeeperServer
        let holder: ZooKeeperClient
        let contender: ZooKeeperClient
        let victim: Int

        static func start() async throws -> Bed {
            let ensemble = try await ZooKeeperServer.startEnsemble()
            let holder = try await ZooKeeperClient.connect(ensemble.connectString, sessionTimeout: sessionTimeout)
            let victim = try serverID(of: holder, in: ensemble)
            let other = try #require(ensemble.serverIDs.first { $0 != victim })
            let contender = try await ZooKeeperClient.connect("127.0.0.1:\(ensemble.port(of: other))", sessionTimeout: sessionTimeout)
            return Bed(ensemble: ensemble, holder: holder, contender: contender, victim: victim)
        }

        func strike(_ fault: Fault) async throws {
            switch fault {
            case .kill9: try await ensemble.kill9(server: victim)
            case .freeze: try await ensemble.stop(server: victim)
            }
        }

        /// Brings the victim back (a frozen server is resumed, a killed one restarted).
        func heal(_ fault: Fault) async throws {
            switch fault {
            case .kill9: try await ensemble.restart(server: victim)
            case .freeze: try await ensemble.resume(server: victim)
            }
        }

        func close() async {
            await contender.close()
            await holder.close()
            ensemble.stopAll()
        }
    }

    /// Waits until `log` holds `first` and, after it, `then`; returns the arrival of `then`.
    func waitForSequence<T: Equatable & Sendable>(_ log: EventLog<T>, _ first: T, then: T, timeout: Duration) async -> ContinuousClock.Instant? {
        await log.waitFor(timeout: timeout, after: { $0 == first }) { $0 == then }
    }

    @Test(arguments: Fault.allCases) func aLockHolderKeepsTheLockWhenItsServerFails(_ fault: Fault) async throws {
        let bed = try await Bed.start()
        let session = bed.holder.sessionId
        let path = "/faults/lock-\(fault)"
        let held = bed.holder.lock(path)
        try await held.acquire(timeout: .seconds(10))
        let statuses = EventLog<DistributedLock.Status>()
        let watching = Task { for await status in held.statusChanges() { statuses.append(status) } }
        defer { watching.cancel() }

        let waiting = bed.contender.lock(path)
        let contended = Task { () throws -> ContinuousClock.Instant in
            try await waiting.acquire(timeout: .seconds(60))
            return .now
        }
        // The contender is in line (its node is there) before the fault.
        while try await bed.contender.childrenAfterSync(path).count < 2 { try await Task.sleep(for: .milliseconds(20)) }

        let struckAt = ContinuousClock.now
        try await bed.strike(fault)
        let suspendedAt = try #require(await statuses.waitFor(timeout: Self.sessionTimeout) { $0 == .suspended },
                                       "the holder is told at once: \(statuses.events)")
        let heldAt = try #require(await waitForSequence(statuses, .suspended, then: .held, timeout: Self.sessionTimeout * 2),
                                  "held again after the reconnect: \(statuses.events)")
        #expect(suspendedAt - struckAt < Self.sessionTimeout, "suspended \(suspendedAt - struckAt) after the \(fault)")
        #expect(heldAt - struckAt < Self.sessionTimeout, "held again \(heldAt - struckAt) after the \(fault)")
        #expect(bed.holder.sessionId == session)
        #expect(!statuses.events.contains(.lost), "\(statuses.events)")
        try await bed.heal(fault)

        // Nobody else got it meanwhile; the contender gets it as soon as the holder lets go.
        try await Task.sleep(for: .milliseconds(300))
        #expect(waiting.status == .acquiring)
        #expect(held.isHeld)
        let releasedAt = ContinuousClock.now
        try await held.release()
        let acquiredAt = try await contended.value
        #expect(acquiredAt - releasedAt < .seconds(1), "the contender took over \(acquiredAt - releasedAt) after the release")
        try await waiting.release()
        await bed.close()
    }

    @Test(arguments: Fault.allCases) func aLeaderStepsDownWhileCutOffAndLeadsAgainWithNobodyElseLeading(_ fault: Fault) async throws {
        let bed = try await Bed.start()
        let path = "/faults/election-\(fault)"
        let leader = bed.holder.election(path, id: "first")
        #expect(await leader.waitForLeadership())
        let follower = bed.contender.election(path, id: "second")
        let leading = EventLog<Bool>(), following = EventLog<Bool>()
        let watching = [
            Task { for await value in leader.leadershipChanges() { leading.append(value) } },
            Task { for await value in follower.leadershipChanges() { following.append(value) } },
        ]
        defer { for task in watching { task.cancel() } }
        while try await bed.contender.childrenAfterSync(path).count < 2 { try await Task.sleep(for: .milliseconds(20)) }

        let struckAt = ContinuousClock.now
        try await bed.strike(fault)
        let steppedDownAt = try #require(await waitForSequence(leading, true, then: false, timeout: Self.sessionTimeout),
                                         "the leader steps down while cut off: \(leading.events)")
        let backAt = try #require(await waitForSequence(leading, false, then: true, timeout: Self.sessionTimeout * 2),
                                  "the leader leads again after the reconnect: \(leading.events)")
        #expect(steppedDownAt - struckAt < Self.sessionTimeout)
        #expect(backAt - struckAt < Self.sessionTimeout, "leads again \(backAt - struckAt) after the \(fault)")
        try await bed.heal(fault)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!following.events.contains(true), "the other participant never led: \(following.events)")
        #expect(try await follower.leaderID() == "first")

        // Hand-over once the leader leaves.
        let closedAt = ContinuousClock.now
        await leader.close()
        let tookOverAt = try #require(await following.waitFor(timeout: .seconds(5)) { $0 }, "\(following.events)")
        #expect(tookOverAt - closedAt < .seconds(1), "took over \(tookOverAt - closedAt) after close()")
        await follower.close()
        await bed.close()
    }
}
