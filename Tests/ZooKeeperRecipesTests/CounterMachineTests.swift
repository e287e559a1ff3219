import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

@Suite struct CounterMachineTests {
    @Test func theEncodingIsAFourByteBigEndianInt() {
        #expect(CounterMachine.encode(1) == [0, 0, 0, 1])
        #expect(CounterMachine.encode(-2) == [0xFF, 0xFF, 0xFF, 0xFE])
        #expect(CounterMachine.encode(0x0102_0304) == [1, 2, 3, 4])
        #expect(CounterMachine.decode([0x80, 0, 0, 0]) == Int32.min)
        #expect(CounterMachine.decode([1, 2, 3]) == nil)
    }

    @Test func addIsACompareAndSetThatRetriesALostRace() throws {
        var script = Script(CounterMachine(path: "/c", change: .add(5)))
        #expect(operations(script.command { $0.start() }) == [.getData(path: "/c", watch: false)])
        let set = try script.answerLast(.success(.data(CounterMachine.encode(10), stat(version: 7))))
        #expect(operations(set) == [.setData(path: "/c", data: CounterMachine.encode(15), version: 7)])
        // Someone else changed it first: read again, set from the new version.
        #expect(operations(try script.answerLast(.failure(ZooKeeperError(.badVersion)))) == [.getData(path: "/c", watch: false)])
        let again = try script.answerLast(.success(.data(CounterMachine.encode(11), stat(version: 8))))
        #expect(operations(again) == [.setData(path: "/c", data: CounterMachine.encode(16), version: 8)])
        let done = try script.answerLast(.success(.stat(stat(version: 9))))
        #expect(notices(done) == [.value(16)])
        #expect(finishes(done))
    }

    @Test func aLostSetIsRetriedOnlyWhenTheVersionShowsItDidNotHappen() throws {
        var script = Script(CounterMachine(path: "/c", change: .add(1)))
        script.command { $0.start() }
        try script.answerLast(.success(.data(CounterMachine.encode(3), stat(version: 2))))
        #expect(operations(try script.answerLast(.failure(loss))) == [.getData(path: "/c", watch: false)])
        // Still at version 2: our set did not happen; the same set again is safe.
        let retry = try script.answerLast(.success(.data(CounterMachine.encode(3), stat(version: 2))))
        #expect(operations(retry) == [.setData(path: "/c", data: CounterMachine.encode(4), version: 2)])
        try script.answerLast(.failure(loss))
        // Version moved: ours or someone's? Nobody can tell, so no second increment.
        let steps = try script.answerLast(.success(.data(CounterMachine.encode(4), stat(version: 3))))
        #expect(operations(steps).isEmpty)
        guard case let .failed(error)? = notices(steps).first else {
            Issue.record("expected a failure, got \(steps)")
            return
        }
        #expect(error.code == .connectionLoss)
    }

    @Test func aMissingCounterIsCreatedWithTheSeedAndItsParentsAsContainers() throws {
        var script = Script(CounterMachine(path: "/app/n", change: .get))
        script.command { $0.start() }
        let create = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(create) == [
            .create(path: "/app", data: [], acl: Ids.openACLUnsafe, mode: .container),
            .create(path: "/app/n", data: [0, 0, 0, 0], acl: Ids.openACLUnsafe, mode: .persistent),
        ])
        #expect(notices(try script.answerLast(.success(.created(path: "/app/n", stat: nil)))) == [.value(0)])
    }

    @Test func dataThatIsNotACounterIsRefused() throws {
        var script = Script(CounterMachine(path: "/c", change: .add(1)))
        script.command { $0.start() }
        let steps = try script.answerLast(.success(.data(Array("12".utf8), stat())))
        guard case let .failed(error)? = notices(steps).first else {
            Issue.record("expected a failure, got \(steps)")
            return
        }
        #expect(error.code == .badArguments)
        #expect(operations(steps).isEmpty)
    }

    @Test func setWritesWhateverTheVersion() throws {
        var script = Script(CounterMachine(path: "/c", change: .set(-3)))
        #expect(operations(script.command { $0.start() }) == [.setData(path: "/c", data: CounterMachine.encode(-3), version: -1)])
        #expect(notices(try script.answerLast(.success(.stat(stat())))) == [.value(-3)])
    }
}
