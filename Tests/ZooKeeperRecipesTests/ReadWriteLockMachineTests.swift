import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The two sides of the read-write lock (Curator's `InterProcessReadWriteLock` layout) under
/// scripted inputs.
@Suite struct ReadWriteLockMachineTests {
    let reader = "_c_11111111-2222-4333-8444-555555555555-__READ__0000000001"
    let writer = "_c_22222222-2222-4333-8444-555555555555-__WRIT__0000000002"
    let laterWriter = "_c_33333333-2222-4333-8444-555555555555-__WRIT__0000000004"

    func children(_ names: [String]) -> Result<OperationResult, ZooKeeperError> { .success(.children(names, nil)) }
    func ours(_ name: String, _ sequence: String) -> String { "/rw/\(ourPrefix)\(name)\(sequence)" }
    var list: Operation { .getChildren(path: "/rw", watch: false, includeStat: false) }

    /// `machine` acquiring, its create answered with `path`.
    func created(_ machine: LockMachine, as path: String) throws -> Script<LockMachine> {
        var script = Script(machine)
        script.command { $0.acquire() }
        #expect(operations(try script.answerLast(.success(.created(path: path, stat: nil)))) == [list])
        return script
    }

    @Test func theSidesUseCuratorsNodeNames() {
        var read = Script(LockMachine.read(path: "/rw", protectedId: testId))
        #expect(operations(read.command { $0.acquire() }) == [.create(path: "/rw/\(ourPrefix)__READ__", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
        var write = Script(LockMachine.write(path: "/rw", protectedId: testId))
        #expect(operations(write.command { $0.acquire() }) == [.create(path: "/rw/\(ourPrefix)__WRIT__", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
    }

    @Test func readersShareTheLockWhileNoWriterIsBeforeThem() throws {
        let path = ours("__READ__", "0000000003")
        var script = try created(.read(path: "/rw", protectedId: testId), as: path)
        // A reader before us and a writer after us: held.
        let steps = try script.answerLast(children([laterWriter, RecipePathTestNames.name(path), reader]))
        #expect(notices(steps) == [.acquired(path: path)])
    }

    @Test func aReaderWaitsOnTheFirstWriterBeforeItNotItsImmediatePredecessor() throws {
        let path = ours("__READ__", "0000000005")
        var script = try created(.read(path: "/rw", protectedId: testId), as: path)
        let steps = try script.answerLast(children([RecipePathTestNames.name(path), laterWriter, reader, writer]))
        #expect(operations(steps) == [.getData(path: "/rw/\(writer)", watch: true)])
        #expect(notices(steps).isEmpty)
    }

    @Test func aWriterWaitsOnItsImmediatePredecessorEvenAReader() throws {
        let path = ours("__WRIT__", "0000000003")
        var script = try created(.write(path: "/rw", protectedId: testId), as: path)
        let steps = try script.answerLast(children([writer, RecipePathTestNames.name(path), reader]))
        #expect(operations(steps) == [.getData(path: "/rw/\(writer)", watch: true)])
        var alone = try created(.write(path: "/rw", protectedId: testId), as: path)
        #expect(notices(try alone.answerLast(children([RecipePathTestNames.name(path), laterWriter]))) == [.acquired(path: path)])
    }

    @Test func aWriterGoneBetweenGetChildrenAndTheWatchIsSeenAndTheNextWriterWatched() throws {
        let path = ours("__READ__", "0000000005")
        var script = try created(.read(path: "/rw", protectedId: testId), as: path)
        try script.answerLast(children([writer, laterWriter, RecipePathTestNames.name(path)]))
        // The first writer went before getData reached the server: look again.
        #expect(operations(try script.answerLast(.failure(ZooKeeperError(.noNode)))) == [list])
        let steps = try script.answerLast(children([laterWriter, RecipePathTestNames.name(path)]))
        #expect(operations(steps) == [.getData(path: "/rw/\(laterWriter)", watch: true)])
        let wait = try script.last()
        try script.answerLast(.success(.data([], stat())))
        let woke = script.feed(.watch(wait.token, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/rw/\(laterWriter)")))
        #expect(operations(woke) == [list])
        #expect(notices(try script.answerLast(children([reader, RecipePathTestNames.name(path)]))) == [.acquired(path: path)])
    }

    @Test func aLostCreateFindsOurReadNodeAmongOurEphemerals() throws {
        var script = Script(LockMachine.read(path: "/rw", protectedId: testId))
        script.command { $0.acquire() }
        let find = try script.answerLast(.failure(loss))
        #expect(operations(find) == [.getEphemerals(prefix: "/rw/\(ourPrefix)__READ__")])
        let path = ours("__READ__", "0000000007")
        #expect(operations(try script.answerLast(.success(.paths([path])))) == [list])
        #expect(operations(script.steps).filter { if case .create = $0 { true } else { false } }.count == 1)
    }

    @Test func expiryWhileAWriterWaitsFailsIt() throws {
        let path = ours("__WRIT__", "0000000003")
        var script = try created(.write(path: "/rw", protectedId: testId), as: path)
        try script.answerLast(children([reader, RecipePathTestNames.name(path)]))
        try script.answerLast(.success(.data([], stat())))
        let steps = script.feed(.session(.expired))
        #expect(notices(steps) == [.failed(ZooKeeperError(.sessionExpired, path: "/rw"))])
        #expect(operations(steps).isEmpty)
    }

    @Test func aReaderIsSuspendedAtDisconnectAndHoldsAgainWhenItsNodeSurvived() throws {
        let path = ours("__READ__", "0000000003")
        var script = try created(.read(path: "/rw", protectedId: testId), as: path)
        try script.answerLast(children([reader, RecipePathTestNames.name(path)]))
        #expect(notices(script.feed(.session(.disconnected))) == [.suspended])
        #expect(operations(script.feed(.session(.reconnected))) == [.exists(path: path, watch: false)])
        #expect(notices(try script.answerLast(.success(.stat(stat())))) == [.acquired(path: path)])
    }

    @Test func theSharedRuleIgnoresNodesThatAreNotWriters() {
        let sorted = Contenders.sorted(["x-lock-0000000001", reader, "_c_x-__READ__0000000000", "mine__READ__0000000009"])
        #expect(LockRule.shared(writers: LockMachine.writeName).wait(in: sorted, at: 3) == nil)
        #expect(LockRule.exclusive.wait(in: sorted, at: 3) == .node(sorted[2]))
    }
}
