import Testing
import ZooKeeperProtocol
import ZooKeeperSession
import ZooKeeperTestSupport

@testable import ZooKeeperLua

/// nginx per-request clients keeping their sessions between requests (SessionKeepalive): which
/// sessions are kept, how the next client takes one over, and what the sweeper gets. Each test
/// names its own servers: the kept sessions are the process's.
@Suite struct SessionKeepaliveTests {
    private func keepingBed(_ hosts: String, debug: Bool = false) -> HostedBed {
        let bed = HostedBed(connectString: hosts, debug: debug)
        bed.lua.keepalive = SessionKeepalive.Options()
        return bed
    }

    private func getData(_ bed: HostedBed, _ path: String) throws -> ClientFrame {
        let pending = bed.call("get_data", .string(path))
        let request = try bed.answer { FakeServer.reply(xid: $0, GetDataResponse(data: Array("v".utf8), stat: sampleStat)) }
        #expect(try bed.finish(pending) == [.string("v")])
        return request
    }

    @Test func aCleanSessionIsKeptAndTheNextClientTakesItOver() throws {
        let first = keepingBed("keep-a:2181")
        try first.connect()
        let sessionId = try HostedBed.values(first.call("__field", .string("session_id")))
        let firstRead = try getData(first, "/a")

        // close() parks: no closeSession, the client reads as closed, its link stays open.
        let parked = try HostedBed.values(first.call("__park", .string("pool-1")))
        #expect(parked == [.int(2_250)], "a quarter of the negotiated 9 s, below the 10 s default")
        try first.pump()
        #expect(first.frames.isEmpty, "nothing sent: the session stays open")
        #expect(first.link != 0)
        #expect(try HostedBed.values(first.call("session_state")) == [.string("closed")])
        #expect(try HostedBed.values(first.call("get_data", .string("/a"))).first == .nil, "a parked session is no longer the client's")

        // The next client with the same settings gets it, link and pool name included, and
        // connect() answers at once: no handshake.
        let second = keepingBed("keep-a:2181")
        let taken = try HostedBed.values(second.call("__take"))
        #expect(taken == [.int(Int64(first.link)), .string("keep-a"), .int(2181), .string("pool-1")])
        second.takeOver(from: first, link: first.link)
        #expect(try HostedBed.values(second.call("connect")) == [.boolean(true)])
        #expect(try HostedBed.values(second.call("__field", .string("session_id"))) == sessionId)
        let secondRead = try getData(second, "/b")
        #expect(secondRead.xid.map { $0 > (firstRead.xid ?? 0) } == true, "the same session's xids go on")
        #expect(second.connects.isEmpty, "no new connection")

        // Nobody else gets it meanwhile.
        let third = keepingBed("keep-a:2181")
        #expect(try HostedBed.values(third.call("__take")) == [])

        // A real close when the client opted out.
        second.lua.keepalive = nil
        #expect(try HostedBed.values(second.call("__park", .string("pool-2"))) == [.nil])
        let closing = second.call("close")
        #expect(try second.answer { FakeServer.reply(xid: $0) }.opCode == .closeSession)
        #expect(try second.finish(closing) == [.boolean(true)])
    }

    @Test func sessionsTiedToTheirOwnerAreNotKept() throws {
        // An ephemeral node, a watch, an added identity: each belongs to the session's owner.
        let ephemeral = keepingBed("keep-b1:2181")
        try ephemeral.connect()
        let create = ephemeral.call("create", .string("/e"), .string(""), .string("ephemeral"))
        try ephemeral.answer { FakeServer.reply(xid: $0, CreateResponse(path: "/e")) }
        _ = try ephemeral.finish(create)
        #expect(try HostedBed.values(ephemeral.call("__park", .string("p"))) == [.nil])

        let watching = keepingBed("keep-b2:2181")
        try watching.connect()
        let get = watching.call("get", .string("/w"), .function(41))
        try watching.answer { FakeServer.reply(xid: $0, GetDataResponse(data: [], stat: sampleStat)) }
        _ = try watching.finish(get)
        #expect(try HostedBed.values(watching.call("__park", .string("p"))) == [.nil])

        let authed = keepingBed("keep-b3:2181")
        try authed.connect()
        let auth = authed.call("add_auth", .string("digest"), .string("bob:secret"))
        try authed.receive(FakeServer.authReply())
        _ = try authed.finish(auth)
        #expect(try HostedBed.values(authed.call("__park", .string("p"))) == [.nil])

        // debug prints each connect's handshake: never skipped by a kept session.
        let debugging = keepingBed("keep-b4:2181", debug: true)
        try debugging.connect()
        #expect(try HostedBed.values(debugging.call("__park", .string("p"))) == [.nil])

        // A call still waiting for its answer.
        let busy = keepingBed("keep-b5:2181")
        try busy.connect()
        _ = busy.call("get_data", .string("/slow"))
        #expect(try HostedBed.values(busy.call("__park", .string("p"))) == [.nil])
    }

    @Test func onlyTheSameSettingsTakeASessionOver() throws {
        let first = keepingBed("keep-c:2181")
        try first.connect()
        #expect(try HostedBed.values(first.call("__park", .string("p"))).first != .nil)

        let otherServers = keepingBed("keep-c2:2181")
        #expect(try HostedBed.values(otherServers.call("__take")) == [])
        let otherTimeout = keepingBed("keep-c:2181")
        #expect(try HostedBed.values(otherTimeout.call("__take", .nil, .number(20_000))) == [])
        // connect()'s own connect string counts, as connect() will use it.
        let named = keepingBed("elsewhere:2181")
        #expect(try HostedBed.values(named.call("__take", .string("keep-c:2181"))).first == .int(Int64(first.link)))
    }

    @Test func anIdleSessionGoesToTheSweeperNotToTheNextClient() throws {
        let first = keepingBed("keep-d:2181")
        try first.connect()
        // Parked 10 s ago, as far as the pool knows (other tests' sessions are parked just now).
        let now = monotonicNow()
        #expect(SessionKeepalive.park(first.lua, poolName: "p", now: now - 10_000) == 2_250)

        let late = keepingBed("keep-d:2181")
        #expect(SessionKeepalive.take(for: late.lua, now: now) == nil, "past its idle limit")
        let sweeper = HostedBed(connectString: "sweeper:1")
        var swept: SessionKeepalive.Link?
        // Another test's session may be idle too: sweep until this one comes.
        while let link = SessionKeepalive.takeIdle(for: sweeper.lua, all: false, now: now) {
            if link.host == "keep-d" {
                swept = link
                break
            }
            sweeper.lua.zk = nil
        }
        #expect(swept?.link == first.link)
        #expect(try HostedBed.values(sweeper.call("session_state")) == [.string("connected")])
    }

    @Test func thePoolSizeBoundsTheSessionsKept() throws {
        var options = SessionKeepalive.Options()
        options.poolSize = 1
        let beds = [keepingBed("keep-e:2181"), keepingBed("keep-e:2181")]
        for bed in beds {
            bed.lua.keepalive = options
            try bed.connect()
        }
        #expect(try HostedBed.values(beds[0].call("__park", .string("p0"))).first != .nil)
        #expect(try HostedBed.values(beds[1].call("__park", .string("p1"))) == [.nil], "the pool is full: close() closes")
    }

    @Test func theOptionIsChecked() throws {
        #expect(try SessionKeepalive.Options.parse(.nil) == SessionKeepalive.Options())
        #expect(try SessionKeepalive.Options.parse(.boolean(false)) == nil)
        let table = LuaValue.table([(.string("timeout"), .number(500)), (.string("pool_size"), .number(4))])
        #expect(try SessionKeepalive.Options.parse(table) == SessionKeepalive.Options(idleMillis: 500, poolSize: 4))
        for bad: LuaValue in [.string("yes"), .table([(.string("timeout"), .number(-1))]), .table([(.string("pool_size"), .number(1.5))]),
                              .table([(.string("idle"), .number(1))])] {
            #expect(throws: SecurityOptions.Invalid.self) { try SessionKeepalive.Options.parse(bad) }
        }
    }
}
