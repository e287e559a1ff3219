import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Requests the server would refuse for their shape fail before anything is sent.
@Suite struct ValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var operation: Operation
        var code: ErrorCode
        var path: String?
        var testDescription: String { "\(operation)" }
    }

    static let cases: [Case] = [
        Case(operation: .getData(path: "", watch: false), code: .badArguments, path: ""),
        Case(operation: .getData(path: "relative", watch: false), code: .badArguments, path: "relative"),
        Case(operation: .exists(path: "/a/", watch: false), code: .badArguments, path: "/a/"),
        Case(operation: .delete(path: "/a//b", version: -1), code: .badArguments, path: "/a//b"),
        Case(operation: .setData(path: "/a/./b", data: [], version: -1), code: .badArguments, path: "/a/./b"),
        Case(operation: .getChildren(path: "/a/..", watch: false, includeStat: false), code: .badArguments, path: "/a/.."),
        Case(operation: .sync(path: "/a\u{0}b"), code: .badArguments, path: "/a\u{0}b"),
        Case(operation: .getACL(path: "/a\u{1}"), code: .badArguments, path: "/a\u{1}"),
        Case(operation: .create(path: "/a/", data: [], acl: openACL, mode: .persistent), code: .badArguments, path: "/a/"),
        Case(operation: .create(path: "/a", data: [], acl: [], mode: .persistent), code: .invalidACL, path: "/a"),
        Case(operation: .setACL(path: "/a", acl: [], version: -1), code: .invalidACL, path: "/a"),
        Case(operation: .create(path: "/t", data: [], acl: openACL, mode: .persistentWithTTL), code: .badArguments, path: "/t"),
        Case(operation: .create(path: "/t", data: [], acl: openACL, mode: .persistentSequentialWithTTL, ttl: 0), code: .badArguments, path: "/t"),
        Case(operation: .create(path: "/t", data: [], acl: openACL, mode: .persistentWithTTL, ttl: 0x100_0000_0000), code: .badArguments, path: "/t"),
        Case(operation: .create(path: "/t", data: [], acl: openACL, mode: .persistent, ttl: 1_000), code: .badArguments, path: "/t"),
        Case(operation: .getEphemerals(prefix: "job-"), code: .badArguments, path: "job-"),
        Case(operation: .multi([]), code: .badArguments, path: nil),
        Case(operation: .multi([.delete(DeleteRequest(path: "bad"))]), code: .badArguments, path: "bad"),
        Case(operation: .multi([.getData(PathWatchRequest(path: "/a"))]), code: .badArguments, path: "/a"),
        Case(operation: .multiRead([.delete(DeleteRequest(path: "/a"))]), code: .badArguments, path: "/a"),
        Case(operation: .addWatch(path: "x", mode: .persistent), code: .badArguments, path: "x"),
        Case(operation: .removeWatches(path: "x", type: .any, local: true), code: .badArguments, path: "x"),
    ]

    @Test(arguments: cases)
    func refusedWithoutASend(_ c: Case) throws {
        var h = try Harness("a:1")
        try h.connect()
        let (id, actions) = h.submit(c.operation, watcher: 1)
        #expect(!sendsAnything(actions))
        guard case let .complete(completed, .failure(error))? = actions.first, actions.count == 1 else {
            Issue.record("expected one failure, got \(acts(actions))")
            return
        }
        #expect(completed == id)
        #expect(error.code == c.code)
        #expect(error.path == c.path)
        #expect(h.machine.pendingCount == 0)
        #expect(h.machine.isConnectionOpen)
    }

    @Test func refusedWhileDisconnectedToo() throws {
        var h = try Harness("a:1")
        _ = h.start()
        let (id, actions) = h.submit(.create(path: "/a", data: [], acl: [], mode: .ephemeral))
        #expect(acts(actions).count == 1)
        #expect(acts(actions).first.map { if case .complete(id, .failure) = $0 { true } else { false } } == true)
        #expect(h.machine.pendingCount == 0)
    }

    @Test(arguments: [
        Operation.create(path: "/seq/", data: [], acl: openACL, mode: .persistentSequential),
        .create(path: "/t", data: [], acl: openACL, mode: .persistentWithTTL, ttl: 1),
        .create(path: "/t", data: [], acl: openACL, mode: .persistentWithTTL, ttl: 0xFF_FFFF_FFFF),
        .getEphemerals(prefix: "/"),
        .getData(path: "/", watch: false),
        .getData(path: "/zookeeper/config", watch: false),
    ])
    func validRequestsAreSent(_ operation: Operation) throws {
        var h = try Harness("a:1")
        try h.connect()
        let (_, actions) = h.submit(operation)
        #expect(try h.frames(actions).count == 1)
    }

    @Test func aSequentialCreateMayEndInSlash() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (_, actions) = h.submit(.create(path: "/q/", data: [], acl: openACL, mode: .ephemeralSequential))
        #expect(try h.onlyRequest(actions).body(CreateRequest.self) == CreateRequest(path: "/q/", data: [], acl: openACL, mode: .ephemeralSequential))
    }
}
