import Testing
import ZooKeeperProtocol
import ZooKeeperSession
import ZooKeeperTestSupport

@testable import ZooKeeperLua

/// The Lua client's calls through the hosted transport against the fake server: what each
/// call sends, and what it answers Lua, with no Lua, no socket and no ZooKeeper.
@Suite struct HostedClientTests {
    @Test func connectGetDataClose() throws {
        let bed = HostedBed()
        #expect(try HostedBed.values(bed.call("session_state")) == [.string("not_connected")])
        try bed.connect()
        #expect(bed.connects == ["zk1:2181"])
        #expect(try HostedBed.values(bed.call("session_state")) == [.string("connected")])

        let pending = bed.call("get_data", .string("/a"))
        let request = try bed.answer { FakeServer.reply(xid: $0, GetDataResponse(data: Array("hello".utf8), stat: sampleStat)) }
        #expect(request.opCode == .getData)
        #expect(try request.body(GetDataRequest.self) == GetDataRequest(path: "/a", watch: false))
        #expect(try bed.finish(pending) == [.string("hello")])

        let closing = bed.call("close")
        let close = try bed.answer { FakeServer.reply(xid: $0) }
        #expect(close.opCode == .closeSession)
        #expect(try bed.finish(closing) == [.boolean(true)])
        #expect(bed.link == 0, "the link is closed once the server confirmed")
        #expect(try HostedBed.values(bed.call("session_state")) == [.string("closed")])
        #expect(try HostedBed.values(bed.call("close")) == [.boolean(true)], "close() is idempotent")
    }

    @Test func contractFailuresKeepTheOriginalWords() throws {
        let bed = HostedBed()
        try bed.connect()
        let exists = bed.call("exists", .string("/none"))
        try bed.answer { FakeServer.reply(xid: $0, err: .noNode) }
        #expect(try bed.finish(exists) == [.boolean(false)])

        let get = bed.call("get_data", .string("/none"))
        try bed.answer { FakeServer.reply(xid: $0, err: .noNode) }
        #expect(Array(try bed.finish(get).prefix(2)) == [.nil, .string("node does not exist")])

        let create = bed.call("create", .string("/a/b"), .string("x"))
        let request = try bed.answer { FakeServer.reply(xid: $0, err: .noNode) }
        #expect(request.opCode == .create2)
        #expect(Array(try bed.finish(create).prefix(2)) == [.nil, .string("parent node does not exist")])
    }

    @Test func callsBeforeConnectAnswerNotConnected() throws {
        let bed = HostedBed()
        #expect(Array(try HostedBed.values(bed.call("get_data", .string("/a"))).prefix(2)) == [.nil, .string("not connected")])
        try bed.pump()
        #expect(bed.connects.isEmpty, "nothing was sent")
    }

    @Test func badArgumentsRaiseAndTheClientStaysUsable() throws {
        let bed = HostedBed()
        try bed.connect()
        #expect(HostedBed.raised(bed.call("set_timeout", .string("x"))) == "bad argument #2 to 'set_timeout' (number expected, got string)")
        #expect(HostedBed.raised(bed.call("get_data", .boolean(true))) == "bad argument #2 to 'get_data' (string expected, got boolean)")
        #expect(HostedBed.raised(bed.call("nope")) == "resty.zookeeper: no method 'nope'")
        let exists = bed.call("exists", .string("/a"))
        try bed.answer { FakeServer.reply(xid: $0, ExistsResponse(stat: sampleStat)) }
        #expect(try bed.finish(exists) == [.boolean(true)])
    }

    @Test func aWatchCallbackRunsOnceAndIsHandedBack() throws {
        let bed = HostedBed()
        try bed.connect()
        let callback: Int32 = 41
        let get = bed.call("get", .string("/w"), .function(callback))
        let request = try bed.answer { FakeServer.reply(xid: $0, GetDataResponse(data: [], stat: sampleStat)) }
        #expect(try request.body(GetDataRequest.self) == GetDataRequest(path: "/w", watch: true))
        #expect(try bed.finish(get).first == .string(""))
        #expect(bed.lua.check(0) == .pending, "no callback due yet")

        try bed.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/w"))
        #expect(bed.lua.check(0) == .callbackDue)
        let due = try #require(bed.lua.nextCallback())
        #expect(due.ref == callback)
        #expect(due.arguments == [.record(["type": .int(EventType.nodeDataChanged.rawValue), "state": .int(KeeperState.syncConnected.rawValue), "path": .string("/w")])])
        #expect(bed.lua.nextCallback() == nil)
        #expect(bed.lua.takeReleasedRef() == callback, "a one-shot watch's callback goes back to Lua after it ran")
        #expect(bed.lua.takeReleasedRef() == 0)
    }

    @Test func aBatchSendsEveryRequestAtOnce() throws {
        let bed = HostedBed()
        try bed.connect()
        let batch = bed.call("batch", .array([.array([.string("exists"), .string("/a")]), .array([.string("get_data"), .string("/b")])]))
        try bed.pump()
        #expect(bed.frames.map(\.opCode) == [.exists, .getData], "both requests are out before any answer")
        try bed.answer { FakeServer.reply(xid: $0, ExistsResponse(stat: sampleStat)) }
        guard case let .wait(ticket) = batch else {
            Issue.record("expected a call that waits, got \(batch)")
            return
        }
        #expect(bed.lua.check(ticket.id) == .pending, "half answered")
        try bed.answer { FakeServer.reply(xid: $0, GetDataResponse(data: Array("b".utf8), stat: sampleStat)) }
        let packed: (LuaValue) -> LuaValue = { value in .table([(.string("n"), .int(1)), (.number(1), value)]) }
        #expect(try bed.finish(batch) == [.array([packed(.boolean(true)), packed(.string("b"))])])
    }

    @Test func anAsyncCallIsItsMethod() throws {
        let bed = HostedBed()
        try bed.connect()
        let pending = bed.call("set_data_async", .string("/a"), .string("v"), .number(3))
        let request = try bed.answer { FakeServer.reply(xid: $0, SetDataResponse(stat: sampleStat)) }
        #expect(try request.body(SetDataRequest.self) == SetDataRequest(path: "/a", data: Array("v".utf8), version: 3))
        #expect(try bed.finish(pending) == [LuaFormat.stat(sampleStat)])
        #expect(HostedBed.raised(bed.call("watch_async", .string("/a"))) == "resty.zookeeper: no method 'watch_async'")
    }

    @Test func aForgottenCallsAnswerIsDropped() throws {
        let bed = HostedBed()
        try bed.connect()
        guard case let .wait(ticket) = bed.call("exists_async", .string("/a")) else {
            Issue.record("expected a call that waits")
            return
        }
        bed.lua.forget(ticket.id)
        try bed.answer { FakeServer.reply(xid: $0, ExistsResponse(stat: sampleStat)) }
        #expect(bed.lua.tickets.isEmpty)
        _ = bed.call("session_state")  // the next call drops the late answer
        #expect(bed.lua.abandonedTickets.isEmpty)
    }
}
