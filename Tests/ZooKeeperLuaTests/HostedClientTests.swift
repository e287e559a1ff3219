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

    /// Paths, data and numbers read in place from the Lua stack answer as the value stream does.
    @Test func simpleArgumentsAnswerAsTheValueStreamDoes() throws {
        let bed = HostedBed()
        try bed.connect()
        let pending = bed.callSimple("set_data", .string("/s"), .string("v\u{0}w"), .number(7))
        let request = try bed.answer { FakeServer.reply(xid: $0, SetDataResponse(stat: sampleStat)) }
        #expect(try request.body(SetDataRequest.self) == SetDataRequest(path: "/s", data: Array("v\u{0}w".utf8), version: 7))
        #expect(try bed.finish(pending) == [LuaFormat.stat(sampleStat)])
        let mistakes: [[LuaValue]] = [[.string("/a\u{0}b")], [.boolean(true)], [.nil], [.number(1.5)], []]
        for arguments in mistakes {
            let viaStream = HostedBed.raised(bed.lua.perform("get_data", arguments))
            let viaStack = HostedBed.raised(arguments.isEmpty ? bed.callSimple("get_data") : bed.callSimple("get_data", arguments[0]))
            #expect(viaStack == viaStream, "\(arguments)")
        }
        #expect(HostedBed.raised(bed.callSimple("set_timeout", .number(0))) == "bad argument #2 to 'set_timeout' (integer between 1 and 86400000 expected, got 0)")
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

    /// A shared client's driver learns which waiters to wake, without asking about each.
    @Test func theReadyListNamesTheAnsweredTicketsOnce() throws {
        let bed = HostedBed(shared: true)
        try bed.connect()
        _ = bed.lua.takeReadyTickets()
        guard case let .wait(first) = bed.call("exists", .string("/1")), case let .wait(second) = bed.call("exists", .string("/2")),
              case let .wait(batch) = bed.call("batch", .array([.array([.string("exists"), .string("/3")]), .array([.string("exists"), .string("/4")])]))
        else {
            Issue.record("expected calls that wait")
            return
        }
        try bed.pump()
        let xids = bed.frames.compactMap(\.xid)
        try #require(xids.count == 4)
        try bed.receive(FakeServer.reply(xid: xids[0], ExistsResponse(stat: sampleStat)))
        #expect(bed.lua.takeReadyTickets().ids == [first.id])
        #expect(bed.lua.takeReadyTickets().ids == [], "each answer is reported once")
        try bed.receive(FakeServer.reply(xid: xids[1], ExistsResponse(stat: sampleStat)) + FakeServer.reply(xid: xids[2], ExistsResponse(stat: sampleStat)))
        #expect(bed.lua.takeReadyTickets().ids == [second.id], "half a batch is not ready")
        try bed.receive(FakeServer.reply(xid: xids[3], ExistsResponse(stat: sampleStat)))
        #expect(bed.lua.takeReadyTickets().ids == [batch.id])
        guard case let .wait(dispatch) = bed.call("dispatch", .number(1_000)) else {
            Issue.record("dispatch waits")
            return
        }
        #expect(bed.lua.takeReadyTickets().ids == [])
        let callback: Int32 = 9
        _ = bed.call("on_state", .function(callback))
        bed.lua.io.report(.closed, link: bed.link, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        let ready = bed.lua.takeReadyTickets()
        #expect(ready.callbackDue, "the disconnection is due for on_state")
        #expect(bed.lua.nextCallback()?.ref == callback)
        #expect(bed.lua.takeReadyTickets().ids == [dispatch.id], "dispatch is ready once a callback ran")
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
