import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The read-write lock, semaphore, barriers, queue and tree cache when a client's server fails
/// (kill -9, or a freeze: a silent partition) on a real 3-node ensemble, as `RecipeFaultTests`
/// does for the lock and the election. The struck server is a follower, so the others keep
/// their quorum and leader and only the clients of the victim move: what is shown is the
/// recipe riding its session's failover (or its expiry), not an election's timing.
@Suite(.serialized) struct CoordinationFaultTests {
    static let sessionTimeout = RecipeFaultTests.sessionTimeout

    // MARK: Read-write lock

    @Test func aWriterKeepsItsLockAcrossAKill9AndReadersKeepTheirsAcrossAFreeze() async throws {
        let bed = try await FaultBed.start()
        let (victim, others) = try await bed.followerAndOthers()

        // The writer's server is killed: it keeps the write lock; a queued reader and writer
        // get nothing meanwhile, and take their turns in order after it.
        let path = "/faults/rw-kill9"
        let writerClient = try await bed.client(on: victim)
        let session = writerClient.sessionId
        let writer = writerClient.readWriteLock(path).writeLock
        try await writer.acquire(timeout: .seconds(10))
        let writerLog = StatusLog(writer)
        let reader = try await bed.pinned(to: others[0]).readWriteLock(path).readLock
        let readerLog = StatusLog(reader)
        let reading = Task { try await reader.acquire(timeout: .seconds(60)) }
        try await bed.waitForChildren(path, count: 2)
        let secondWriterClient = try await bed.pinned(to: others[1])
        let secondWriter = secondWriterClient.readWriteLock(path).writeLock
        let secondLog = StatusLog(secondWriter)
        let writing = Task { try await secondWriter.acquire(timeout: .seconds(60)) }
        try await bed.waitForChildren(path, count: 3)

        let struckAt = ContinuousClock.now
        try await bed.ensemble.kill9(server: victim)
        try #require(await writerLog.log.waitFor(timeout: Self.sessionTimeout) { $0 == .suspended } != nil,
                     "the writer is told at once: \(writerLog.log.events)")
        let heldAt = try #require(await writerLog.sequence(.suspended, then: .held, timeout: Self.sessionTimeout * 2),
                                  "held again after the reconnect: \(writerLog.log.events)")
        #expect(heldAt - struckAt < Self.sessionTimeout, "held again \(heldAt - struckAt) after the kill -9")
        #expect(writerClient.sessionId == session)
        #expect(!writerLog.log.events.contains(.lost), "\(writerLog.log.events)")
        try await bed.ensemble.restart(server: victim)  // seconds, in which nobody else may get in
        #expect(!readerLog.log.events.contains(.held) && !secondLog.log.events.contains(.held),
                "reader \(readerLog.log.events), second writer \(secondLog.log.events)")

        let releasedAt = ContinuousClock.now
        try await writer.release()
        try await reading.value
        #expect(ContinuousClock.now - releasedAt < .seconds(1), "the reader got in \(ContinuousClock.now - releasedAt) after the release")
        try await bed.hearChanges(of: path, on: secondWriterClient)
        #expect(secondWriter.status == .acquiring, "the second writer waits for the reader")
        try await reader.release()
        try await writing.value
        try await secondWriter.release()

        // Two readers' server freezes: both keep their read locks; a writer waits until both
        // have released, not one.
        let frozenPath = "/faults/rw-freeze"
        let readers = try await [bed.client(on: victim), bed.client(on: victim)].map { $0.readWriteLock(frozenPath).readLock }
        for reader in readers { try await reader.acquire(timeout: .seconds(10)) }
        let readerLogs = readers.map(StatusLog.init)
        let writerOfFrozen = try await bed.pinned(to: others[0])
        let waitingWriter = writerOfFrozen.readWriteLock(frozenPath).writeLock
        let waitingLog = StatusLog(waitingWriter)
        let waiting = Task { () throws -> ContinuousClock.Instant in
            try await waitingWriter.acquire(timeout: .seconds(60))
            return .now
        }
        try await bed.waitForChildren(frozenPath, count: 3)

        let frozenAt = ContinuousClock.now
        try await bed.ensemble.stop(server: victim)
        for log in readerLogs {
            let back = try #require(await log.sequence(.suspended, then: .held, timeout: Self.sessionTimeout * 2),
                                    "suspended, then held again: \(log.log.events)")
            #expect(back - frozenAt < Self.sessionTimeout, "held again \(back - frozenAt) after the freeze")
            #expect(!log.log.events.contains(.lost))
        }
        try await bed.ensemble.resume(server: victim)
        #expect(!waitingLog.log.events.contains(.held), "\(waitingLog.log.events)")

        try await readers[0].release()
        try await bed.hearChanges(of: frozenPath, on: writerOfFrozen)
        #expect(waitingWriter.status == .acquiring, "one reader still holds: the writer waits")
        let lastReleaseAt = ContinuousClock.now
        try await readers[1].release()
        let writtenAt = try await waiting.value
        #expect(writtenAt > lastReleaseAt)
        #expect(writtenAt - lastReleaseAt < .seconds(1), "the writer got in \(writtenAt - lastReleaseAt) after the last reader left")
        try await waitingWriter.release()
        await bed.close()
    }

    // MARK: Semaphore

    /// A semaphore of 2 leases held by A (on the victim) and B, with C waiting: through a
    /// kill -9 and then a freeze of A's server, A keeps its lease and C gets none; an
    /// independent observer (a persistent watch of another session on `leases/`) sees no lease
    /// node go, so at no moment were 3 leases out.
    @Test func aLeaseHolderKeepsItsLeaseAndNoThirdLeaseIsOutWhenItsServerFails() async throws {
        let bed = try await FaultBed.start()
        for fault in RecipeFaultTests.Fault.allCases {
            let (victim, others) = try await bed.followerAndOthers()
            let path = "/faults/semaphore-\(fault)"
            let leasesPath = path + "/leases"
            let holders = try await [bed.client(on: victim), bed.pinned(to: others[0])]
            let leases = try await [holders[0].semaphore(path, leases: 2).acquire(timeout: .seconds(10)),
                                    holders[1].semaphore(path, leases: 2).acquire(timeout: .seconds(10))]
            let leaseLog = StatusLog(leases[0].statusChanges())
            let observer = try await bed.pinned(to: others[1])
            let deletions = EventLog<String>()
            let watching = try await observer.watchEvents(leasesPath, mode: .persistentRecursive)
            let observing = Task { for await event in watching where event.type == .nodeDeleted { deletions.append(event.path) } }
            defer { observing.cancel() }
            let waiter = try await bed.pinned(to: others[1]).semaphore(path, leases: 2)
            let waited = EventLog<ContinuousClock.Instant>()
            let waiting = Task { () throws -> SemaphoreLease in
                let lease = try await waiter.acquire(timeout: .seconds(60))
                waited.append(.now)
                return lease
            }
            try await bed.waitForChildren(leasesPath, count: 3)

            let struckAt = ContinuousClock.now
            try await bed.strike(fault, victim)
            let backAt = try #require(await leaseLog.sequence(.suspended, then: .held, timeout: Self.sessionTimeout * 2),
                                      "\(fault): suspended, then held again: \(leaseLog.log.events)")
            #expect(backAt - struckAt < Self.sessionTimeout, "\(fault): held again \(backAt - struckAt) after the fault")
            try await bed.heal(fault, victim)
            #expect(!leaseLog.log.events.contains(.lost))
            #expect(deletions.events.isEmpty, "\(fault): a lease node went: \(deletions.events)")
            #expect(waited.events.isEmpty, "\(fault): a third lease was out")
            #expect(try await observer.childrenAfterSync(leasesPath).count == 3)

            let releasedAt = ContinuousClock.now
            try await leases[0].release()
            let third = try await waiting.value
            #expect(try #require(waited.events.first) - releasedAt < .seconds(1))
            try await third.release()
            try await leases[1].release()
            await bed.closeClients()
        }
        await bed.close()
    }

    // MARK: Barriers

    @Test func barrierWaitersKeepWaitingThroughFaultsAndPassOnlyWhenReleased() async throws {
        let bed = try await FaultBed.start()

        // A barrier waiter's server is killed: it waits on after the reconnect, and passes once
        // the barrier is removed, not before.
        var (victim, others) = try await bed.followerAndOthers()
        let gatePath = "/faults/barrier"
        let coordinator = try await bed.pinned(to: others[0])
        try await coordinator.barrier(gatePath).set()
        let waiterClient = try await bed.client(on: victim)
        let states = EventLog<SessionEvent>()
        let observation = waiterClient.onStateChange { states.append($0) }
        defer { observation.cancel() }
        let passed = EventLog<ContinuousClock.Instant>()
        let waiting = Task {
            try await waiterClient.barrier(gatePath).wait(timeout: .seconds(60))
            passed.append(.now)
        }
        try await bed.waitForWatch(on: waiterClient, gatePath)
        try await bed.ensemble.kill9(server: victim)
        try #require(await states.waitFor(timeout: Self.sessionTimeout) { $0 == .reconnected } != nil, "\(states.events)")
        try await bed.waitForWatch(on: waiterClient, gatePath)
        try await bed.ensemble.restart(server: victim)
        #expect(passed.events.isEmpty, "passed while the barrier was up")
        let removedAt = ContinuousClock.now
        try await coordinator.barrier(gatePath).remove()
        try await waiting.value
        let passedAt = try #require(passed.events.first)
        #expect(passedAt > removedAt && passedAt - removedAt < .seconds(1), "passed \(passedAt - removedAt) after the removal")

        // A double barrier member's server freezes while it waits to enter; the last member
        // arrives meanwhile (so `ready` is made while the member is cut off): it passes after
        // its session moves, with no wake-up lost, and not before the last member came.
        (victim, others) = try await bed.followerAndOthers()
        let roundPath = "/faults/double-barrier"
        let memberClients = try await [bed.client(on: victim), bed.pinned(to: others[0]), bed.pinned(to: others[1])]
        let members = memberClients.map { $0.doubleBarrier(roundPath, count: 3) }
        let entered = EventLog<Int>()
        let entering = (0..<2).map { index in
            Task {
                try await members[index].enter(timeout: .seconds(60))
                entered.append(index)
            }
        }
        try await bed.waitForChildren(roundPath, count: 2)
        for client in memberClients[0..<2] { try await bed.waitForWatch(on: client, roundPath + "/ready") }
        let frozenAt = ContinuousClock.now
        try await bed.ensemble.stop(server: victim)
        #expect(entered.events.isEmpty, "entered with 2 of 3: \(entered.events)")
        let lastArrivedAt = ContinuousClock.now
        try await members[2].enter(timeout: .seconds(10))
        for task in entering { try await task.value }
        let cutOffAt = try #require(await entered.waitFor(timeout: .zero) { $0 == 0 })
        let otherAt = try #require(await entered.waitFor(timeout: .zero) { $0 == 1 })
        #expect(otherAt > lastArrivedAt && otherAt - lastArrivedAt < .seconds(1))
        #expect(cutOffAt > lastArrivedAt && cutOffAt - frozenAt < Self.sessionTimeout, "the cut-off member entered \(cutOffAt - frozenAt) after the freeze")
        try await bed.ensemble.resume(server: victim)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { try await member.leave(timeout: .seconds(10)) } }
            try await group.waitForAll()
        }
        #expect(try await bed.clients[1].childrenAfterSync(roundPath).isEmpty)
        await bed.close()
    }

    // MARK: Queue

    /// A producer and two consumers, one on the victim, across a kill -9 of that consumer's
    /// server in mid-stream: every item is handed to exactly one take. The one take whose
    /// delete may have been in flight at the kill can fail with connectionLoss naming its item
    /// (nobody can tell who deleted it then): that item is counted as told, never handed out.
    @Test func everyItemIsTakenOnceAcrossAKill9OfAConsumersServer() async throws {
        let bed = try await FaultBed.start()
        let (victim, others) = try await bed.followerAndOthers()
        let path = "/faults/queue"
        let producer = try await bed.pinned(to: others[0]).queue(path)
        let consumers = try await [bed.client(on: victim), bed.pinned(to: others[1])].map { $0.queue(path) }
        let total = 60
        var items: [String: Int] = [:]  // node -> item number
        for index in 0..<total / 2 { items[try await producer.put(Array("item-\(index)".utf8))] = index }

        enum Taken: Sendable, Equatable { case item(Int), unknown(path: String?), failed(String) }
        let taken = EventLog<Taken>()
        let consuming = consumers.map { consumer in
            Task {
                while !Task.isCancelled {
                    do {
                        let data = try await consumer.take(timeout: .seconds(60))
                        taken.append(.item(Int(String(decoding: data.dropFirst(5), as: UTF8.self)) ?? -1))
                    } catch let error as ZooKeeperError where error.code == .connectionLoss {
                        taken.append(.unknown(path: error.path))
                    } catch is CancellationError {
                        return
                    } catch {
                        taken.append(.failed("\(error)"))
                        return
                    }
                }
            }
        }
        _ = await taken.wait(count: 10)
        try await bed.ensemble.kill9(server: victim)
        for index in total / 2..<total { items[try await producer.put(Array("item-\(index)".utf8))] = index }

        // Every item handed out once; a take that lost its delete's answer names the item, which
        // another take may have handed out (its delete won) or nobody (ours took it unseen).
        let everyItem = Set(0..<total)
        func tally() -> (handedOut: [Int: Int], unknown: [Int?], failures: [String]) {
            var handedOut: [Int: Int] = [:], unknown: [Int?] = [], failures: [String] = []
            for event in taken.events {
                switch event {
                case let .item(index): handedOut[index, default: 0] += 1
                case let .unknown(node): unknown.append(node.flatMap { items[$0] })
                case let .failed(error): failures.append(error)
                }
            }
            return (handedOut, unknown, failures)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (handedOut, unknown, failures) = tally()
            if !failures.isEmpty || Set(handedOut.keys).union(unknown.compactMap { $0 }) == everyItem { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        for task in consuming { task.cancel() }
        try await bed.ensemble.restart(server: victim)

        let (handedOut, unknown, failures) = tally()
        #expect(failures.isEmpty, "\(failures)")
        #expect(handedOut.values.allSatisfy { $0 == 1 }, "handed out twice: \(handedOut.filter { $0.value > 1 })")
        #expect(unknown.count <= 1 && unknown.allSatisfy { $0 != nil }, "only the take in flight at the kill may not know, and it names its item: \(unknown)")
        let missing = everyItem.subtracting(handedOut.keys).subtracting(unknown.compactMap { $0 })
        #expect(missing.isEmpty, "never handed out: \(missing)")
        #expect(try await bed.clients[0].childrenAfterSync(path).isEmpty)
        await bed.close()
    }

    // MARK: Tree cache, and what an expiry frees

    /// A tree cache converges to the server's truth after its server is killed while another
    /// client changes the tree (the changes are made while the server is frozen, so they are
    /// surely missed, then it is killed); then a session expiry (its server frozen past the
    /// timeout) frees that session's semaphore lease for a waiter, and its cache, resumed on
    /// a new client, reports only what changed meanwhile and converges again.
    @Test func aCacheConvergesAfterAKill9AndAfterAnExpiryWhoseLeaseIsFreed() async throws {
        let bed = try await FaultBed.start()
        let leader = try #require(await bed.ensemble.leader())
        let followers = bed.ensemble.serverIDs.filter { $0 != leader }
        let writer = try await bed.pinned(to: leader)
        let root = "/faults/cache"
        try await writer.create("/faults")
        try await writer.create(root, data: Array("root".utf8))
        for (name, data) in [("a", "1"), ("b", "1"), ("c", "")] { try await writer.create(root + "/" + name, data: Array(data.utf8)) }
        try await writer.create(root + "/c/x", data: Array("x".utf8))

        let moving = try await bed.client(on: followers[0]).cache(root)   // can fail over
        let expiring = try await bed.pinned(to: followers[1])                 // cannot
        let stranded = expiring.cache(root)
        let movingLog = CacheLog(moving), strandedLog = CacheLog(stranded)
        for log in [movingLog, strandedLog] {
            try #require(await log.events.waitFor(timeout: .seconds(10)) { $0.kind == .initialized } != nil)
        }

        // kill -9, with changes made while the server was silent.
        try await bed.ensemble.stop(server: followers[0])
        let silencedAt = ContinuousClock.now
        try await writer.setData(root + "/a", data: Array("2".utf8))
        try await writer.create(root + "/d", data: Array("d".utf8))
        try await writer.delete(root + "/b")
        try await writer.delete(root + "/c/x")
        try await bed.ensemble.kill9(server: followers[0])
        for log in [movingLog, strandedLog] {
            try await expectConverged(log.cache, to: writer, root)
            // Each told once (in the order a walk finds them, for the one that moved).
            let told = log.changes(after: silencedAt)
            #expect(told.count == 4 && Set(told) == [CacheEvent(.changed, root + "/a"), CacheEvent(.created, root + "/d"),
                                                     CacheEvent(.deleted, root + "/b"), CacheEvent(.deleted, root + "/c/x")], "\(told)")
        }
        try await bed.ensemble.restart(server: followers[0])

        // An expiry: the stranded session's lease goes to the waiter, not before the holder was
        // told; its cache carries on in a new session.
        let semaphorePath = "/faults/semaphore-expiry"
        let lease = try await expiring.semaphore(semaphorePath, leases: 1).acquire(timeout: .seconds(10))
        let leaseLog = StatusLog(lease.statusChanges())
        let states = EventLog<SessionEvent>()
        let observation = expiring.onStateChange { states.append($0) }
        defer { observation.cancel() }
        let waited = EventLog<ContinuousClock.Instant>()
        let waiting = Task { () throws -> SemaphoreLease in
            let lease = try await writer.semaphore(semaphorePath, leases: 1).acquire(timeout: .seconds(60))
            waited.append(.now)
            return lease
        }
        try await bed.waitForChildren(semaphorePath + "/leases", count: 2)

        let frozenAt = ContinuousClock.now
        try await bed.ensemble.stop(server: followers[1])
        try await writer.setData(root + "/a", data: Array("3".utf8))
        try await writer.create(root + "/e", data: [])
        try await writer.delete(root + "/d")
        let suspendedAt = try #require(await leaseLog.log.waitFor(timeout: Self.sessionTimeout) { $0 == .suspended }, "\(leaseLog.log.events)")
        let freedLease = try await waiting.value
        let freedAt = try #require(waited.events.first)
        #expect(suspendedAt < freedAt, "the holder was told before its lease went")
        #expect(freedAt - frozenAt < Self.sessionTimeout * 2, "the lease was freed \(freedAt - frozenAt) after the freeze")
        try #require(await states.waitFor(timeout: Self.sessionTimeout * 2) { $0 == .expired } != nil, "\(states.events)")
        #expect(await leaseLog.log.waitFor(timeout: .seconds(5)) { $0 == .lost } != nil, "\(leaseLog.log.events)")

        #expect(stranded.error?.code == .sessionExpired)
        #expect(stranded.get(root + "/a")?.data == Array("2".utf8), "it keeps what it held")
        let resumedAt = ContinuousClock.now
        stranded.resume(on: try await bed.pinned(to: leader))
        try await bed.ensemble.resume(server: followers[1])
        for log in [movingLog, strandedLog] {
            try await expectConverged(log.cache, to: writer, root)
            let told = log.changes(after: frozenAt)
            #expect(told.count == 3 && Set(told) == [CacheEvent(.changed, root + "/a"), CacheEvent(.created, root + "/e"),
                                                     CacheEvent(.deleted, root + "/d")], "\(told)")
        }
        #expect(strandedLog.events.events.filter { $0.kind == .initialized }.count == 1, "no second initialized")
        #expect(strandedLog.changes(after: resumedAt).count == 3, "only what changed is told")
        #expect(stranded.error == nil)
        try await freedLease.release()
        moving.close()
        stranded.close()
        await bed.close()
    }

    /// Waits until the cache holds exactly what the server holds under `root` (data, creation
    /// and modification zxids, children), or fails after 10 s.
    func expectConverged(_ cache: TreeCache, to client: ZooKeeperClient, _ root: String,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let truth = try await TreeView.read(client, root)
        let deadline = ContinuousClock.now + .seconds(10)
        while TreeView.of(cache, root) != truth, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(TreeView.of(cache, root) == truth, "the cache did not converge", sourceLocation: sourceLocation)
    }
}

// MARK: Support

/// A fresh 3-node ensemble and the clients of one test, placed on chosen servers.
final class FaultBed: @unchecked Sendable {
    let ensemble: ZooKeeperServer
    private(set) var clients: [ZooKeeperClient] = []

    private init(ensemble: ZooKeeperServer) { self.ensemble = ensemble }

    static func start() async throws -> FaultBed {
        FaultBed(ensemble: try await ZooKeeperServer.startEnsemble())
    }

    /// A follower to strike, and the other two servers (leader first).
    func followerAndOthers() async throws -> (victim: Int, others: [Int]) {
        let leader = try #require(await ensemble.leader())
        let victim = try #require(ensemble.serverIDs.first { $0 != leader })
        return (victim, [leader] + ensemble.serverIDs.filter { $0 != leader && $0 != victim })
    }

    /// A client with every server in its connect string (so it can fail over), connected to
    /// `server`: the host order is shuffled, so clients landing elsewhere are closed and
    /// another is tried (1 in 3 lands there; 60 misses in a row: (2/3)^60, about 3e-11).
    func client(on server: Int) async throws -> ZooKeeperClient {
        for _ in 0..<60 {
            let client = try await ZooKeeperClient.connect(ensemble.connectString, sessionTimeout: CoordinationFaultTests.sessionTimeout)
            if try serverID(of: client, in: ensemble) == server {
                clients.append(client)
                return client
            }
            await client.close()
        }
        throw ZooKeeperError(.connectionLoss, message: "no client landed on server \(server)")
    }

    /// A client of `server` alone: it stays there (or its session expires with it).
    func pinned(to server: Int) async throws -> ZooKeeperClient {
        let client = try await ZooKeeperClient.connect("127.0.0.1:\(ensemble.port(of: server))", sessionTimeout: CoordinationFaultTests.sessionTimeout)
        clients.append(client)
        return client
    }

    func strike(_ fault: RecipeFaultTests.Fault, _ server: Int) async throws {
        switch fault {
        case .kill9: try await ensemble.kill9(server: server)
        case .freeze: try await ensemble.stop(server: server)
        }
    }

    func heal(_ fault: RecipeFaultTests.Fault, _ server: Int) async throws {
        switch fault {
        case .kill9: try await ensemble.restart(server: server)
        case .freeze: try await ensemble.resume(server: server)
        }
    }

    /// Waits (10 s at most) until `path` has `count` children, as the first client sees them.
    func waitForChildren(_ path: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? await clients[0].getChildren(path).count) != count {
            guard ContinuousClock.now < deadline else { throw ZooKeeperError(.operationTimeout, path: path, message: "not \(count) children") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits (10 s at most) until the server holds a data watch of `client`'s session on `path`.
    func waitForWatch(on client: ZooKeeperClient, _ path: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do { return try await client.checkWatches(path, type: .data) } catch let error as ZooKeeperError where error.code == .noWatcher {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Returns once `client` has heard the changes of `path` made so far and what its recipes
    /// asked about them: a session's notifications and answers come in order, so a sync and
    /// two listings come back after the watch events, and after the answers to the requests
    /// those events made a recipe send (it reacts inline, on the client's I/O thread).
    func hearChanges(of path: String, on client: ZooKeeperClient) async throws {
        try await client.sync(path)
        _ = try await client.getChildren(path)
        _ = try await client.getChildren(path)
    }

    func closeClients() async {
        for client in clients { await client.close() }
        clients = []
    }

    func close() async {
        await closeClients()
        ensemble.stopAll()
    }
}

/// A lock's (or lease's) statuses as they come.
final class StatusLog: Sendable {
    let log = EventLog<DistributedLock.Status>()
    private let task: Task<Void, Never>

    convenience init(_ lock: DistributedLock) { self.init(lock.statusChanges()) }

    init(_ statuses: AsyncStream<DistributedLock.Status>) {
        let log = log
        task = Task { for await status in statuses { log.append(status) } }
    }

    deinit { task.cancel() }

    /// When `then` came after `first`, or nil if not within `timeout`.
    func sequence(_ first: DistributedLock.Status, then: DistributedLock.Status, timeout: Duration) async -> ContinuousClock.Instant? {
        await log.waitFor(timeout: timeout, after: { $0 == first }) { $0 == then }
    }
}

/// A cache's events as they come, with their arrival.
final class CacheLog: Sendable {
    let cache: TreeCache
    let events = EventLog<CacheEvent>()
    private let task: Task<Void, Never>
    private let arrivals = EventLog<(CacheEvent, ContinuousClock.Instant)>()

    init(_ cache: TreeCache) {
        self.cache = cache
        let events = events, arrivals = arrivals, stream = cache.changes()
        task = Task {
            for await event in stream {
                events.append(event)
                arrivals.append((event, .now))
            }
        }
    }

    deinit { task.cancel() }

    /// The events that arrived after `instant`, in order.
    func changes(after instant: ContinuousClock.Instant) -> [CacheEvent] {
        arrivals.events.filter { $0.1 > instant }.map(\.0)
    }
}

/// A tree as a cache or the server holds it: per path, data, creation and modification zxids
/// and children (a cached stat's child counters are not refreshed by a child's change).
struct TreeView: Equatable {
    struct Node: Equatable {
        let data: [UInt8]
        let czxid: Int64
        let mzxid: Int64
        let children: [String]
    }

    var nodes: [String: Node] = [:]

    static func of(_ cache: TreeCache, _ root: String) -> TreeView {
        var view = TreeView()
        var pending = [root]
        while let path = pending.popLast() {
            guard let node = cache.get(path), let children = cache.children(path) else { continue }
            view.nodes[path] = Node(data: node.data, czxid: node.stat.czxid, mzxid: node.stat.mzxid, children: children)
            pending += children.map { path + "/" + $0 }
        }
        return view
    }

    static func read(_ client: ZooKeeperClient, _ root: String) async throws -> TreeView {
        var view = TreeView()
        var pending = [root]
        while let path = pending.popLast() {
            let (data, stat) = try await client.getData(path)
            let children = try await client.getChildren(path).sorted()
            view.nodes[path] = Node(data: data, czxid: stat.czxid, mzxid: stat.mzxid, children: children)
            pending += children.map { path + "/" + $0 }
        }
        return view
    }
}
