import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The protocol library over a bare socket against a real ZooKeeper: every record the client
/// writes must be read by the server as meant, and every reply must decode.
@Suite(.serialized) struct ProtocolAgainstServerTests {
    let server: ZooKeeperServer
    let root: String

    init() async throws {
        server = try await ZooKeeperServer.shared()
        root = "/proto-\(UInt32.random(in: 0...UInt32.max))"
    }

    func connect(sessionTimeout: Int32 = 10_000) throws -> PlainConnection {
        try PlainConnection(port: server.port(of: server.serverIDs[0]), sessionTimeout: sessionTimeout)
    }

    func makeRoot(_ c: PlainConnection) throws {
        var reply = try c.call(.create2, CreateRequest(path: root, data: [], acl: Ids.openACLUnsafe, mode: .persistent))
        _ = try reply.decode(Create2Response.self)
    }

    @Test func handshakeYieldsASessionTheServerKnows() async throws {
        let c = try connect(sessionTimeout: 12_000)
        #expect(c.session.timeOut == 12_000, "negotiated timeout within the server's bounds")
        #expect(c.session.passwd.count == 16)
        #expect(c.session.passwd != [UInt8](repeating: 0, count: 16))
        #expect(c.session.readOnly == false)
        #expect(c.session.sessionId != 0)
        let cons = try await server.fourLetterWord("cons", server: server.serverIDs[0])
        #expect(cons.contains("sid=\(SessionId.hex(c.session.sessionId))"), "cons lists \(SessionId.hex(c.session.sessionId)):\n\(cons)")

        // Out-of-range timeouts are clamped to the server's minSessionTimeout.
        let short = try connect(sessionTimeout: 10)
        #expect(short.session.timeOut == 1_000)
        try c.closeSession()
        try short.closeSession()
    }

    @Test func resumingASessionKeepsItsId() throws {
        let first = try connect()
        let resumed = try PlainConnection(
            port: server.port(of: server.serverIDs[0]), sessionId: first.session.sessionId, passwd: first.session.passwd)
        #expect(resumed.session.sessionId == first.session.sessionId)
        #expect(!resumed.session.isSessionExpired)
        try resumed.closeSession()
        // A closed session cannot be resumed: the server answers with timeOut 0.
        let expired = try PlainConnection(
            port: server.port(of: server.serverIDs[0]), sessionId: first.session.sessionId, passwd: first.session.passwd)
        #expect(expired.session.isSessionExpired)
    }

    @Test func nodeLifecycleWithStats() throws {
        let c = try connect()
        try makeRoot(c)
        let path = root + "/node"

        var created = try c.call(.create2, CreateRequest(path: path, data: Array("hello".utf8), acl: Ids.openACLUnsafe, mode: .persistent))
        let create2 = try created.decode(Create2Response.self)
        #expect(create2.path == path)
        #expect(create2.stat.dataLength == 5)
        #expect(create2.stat.version == 0)
        #expect(create2.stat.czxid == create2.stat.mzxid)
        #expect(create2.stat.czxid == created.header.zxid)

        var got = try c.call(.getData, GetDataRequest(path: path))
        let data = try got.decode(GetDataResponse.self)
        #expect(data.data == Array("hello".utf8))
        #expect(data.stat == create2.stat)

        var set = try c.call(.setData, SetDataRequest(path: path, data: Array("world!".utf8), version: 0))
        let afterSet = try set.decode(SetDataResponse.self).stat
        #expect(afterSet.version == 1 && afterSet.dataLength == 6)

        let stale = try c.call(.setData, SetDataRequest(path: path, data: [], version: 0))
        #expect(stale.error == .badVersion)

        var exists = try c.call(.exists, ExistsRequest(path: path))
        #expect(try exists.decode(ExistsResponse.self).stat == afterSet)
        #expect(try c.call(.exists, ExistsRequest(path: path + "-missing")).error == .noNode)

        var seq = try c.call(.create, CreateRequest(path: root + "/seq-", data: [], acl: Ids.openACLUnsafe, mode: .persistentSequential))
        let seqPath = try seq.decode(CreateResponse.self).path
        #expect(seqPath.hasPrefix(root + "/seq-") && seqPath.count == (root + "/seq-").count + 10)

        var children = try c.call(.getChildren2, GetChildren2Request(path: root))
        let listing = try children.decode(GetChildren2Response.self)
        #expect(Set(listing.children) == ["node", String(seqPath.split(separator: "/").last!)])
        #expect(listing.stat.numChildren == 2)

        var plain = try c.call(.getChildren, GetChildrenRequest(path: root))
        #expect(Set(try plain.decode(GetChildrenResponse.self).children) == Set(listing.children))

        #expect(try c.call(.delete, DeleteRequest(path: root, version: -1)).error == .notEmpty)
        #expect(try c.call(.create, CreateRequest(path: path, data: [], acl: Ids.openACLUnsafe, mode: .persistent)).error == .nodeExists)
        #expect(try c.call(.create, CreateRequest(path: root + "/none/x", data: [], acl: Ids.openACLUnsafe, mode: .persistent)).error == .noNode)
        #expect(try c.call(.delete, DeleteRequest(path: path, version: 5)).error == .badVersion)
        #expect(try c.call(.delete, DeleteRequest(path: path, version: 1)).error == .ok)

        var count = try c.call(.getAllChildrenNumber, GetAllChildrenNumberRequest(path: root))
        #expect(try count.decode(GetAllChildrenNumberResponse.self).totalNumber == 1)

        var sync = try c.call(.sync, SyncRequest(path: root))
        #expect(try sync.decode(SyncResponse.self).path == root)
        try c.closeSession()
    }

    @Test func aclsAndDigestAuth() throws {
        let c = try connect()
        try makeRoot(c)
        let path = root + "/secured"
        let digest = Ids.digest(user: "alice", password: "secret")
        _ = try c.call(.create, CreateRequest(path: path, data: Array("x".utf8), acl: Ids.openACLUnsafe, mode: .persistent))

        var acl = try c.call(.getACL, GetACLRequest(path: path))
        let before = try acl.decode(GetACLResponse.self)
        #expect(before.acl == Ids.openACLUnsafe)

        var setACL = try c.call(.setACL, SetACLRequest(path: path, acl: [ACL(permissions: .all, id: digest)], version: 0))
        #expect(try setACL.decode(SetACLResponse.self).stat.aversion == 1)
        #expect(try c.call(.getData, GetDataRequest(path: path)).error == .noAuth)

        let auth = try c.call(xid: Xid.auth, .auth, AuthPacket(scheme: "digest", auth: DigestAuth.credentials(user: "alice", password: "secret")))
        #expect(auth.error == .ok)
        var readable = try c.call(.getData, GetDataRequest(path: path))
        #expect(try readable.decode(GetDataResponse.self).data == Array("x".utf8))

        var who = try c.call(.whoAmI, EmptyRecord())
        let identities = try who.decode(WhoAmIResponse.self).clientInfo
        #expect(identities.contains(ClientInfo(authScheme: "ip", user: "127.0.0.1")))
        #expect(identities.contains(ClientInfo(authScheme: "digest", user: "alice")))

        let invalid = try c.call(.create, CreateRequest(path: root + "/bad-acl", data: [], acl: [ACL(permissions: .all, id: Id(scheme: "digest", id: "no-colon"))], mode: .persistent))
        #expect(invalid.error == .invalidACL)

        #expect(try c.call(.setACL, SetACLRequest(path: path, acl: Ids.openACLUnsafe, version: 0)).error == .badVersion)
        #expect(try c.call(.setACL, SetACLRequest(path: path, acl: Ids.openACLUnsafe, version: 1)).error == .ok)
        try c.closeSession()
    }

    @Test func multiReportsPerOperationErrors() throws {
        let c = try connect()
        try makeRoot(c)
        let path = root + "/multi"
        // The check fails, so the whole transaction is rolled back.
        var failed = try c.call(.multi, MultiRequest(operations: [
            .create(CreateRequest(path: path, data: [1], acl: Ids.openACLUnsafe, mode: .persistent)),
            .check(CheckVersionRequest(path: path, version: 7)),
            .setData(SetDataRequest(path: path, data: [2], version: -1)),
        ]))
        let results = try decodeMulti(&failed)
        #expect(results.count == 3)
        #expect(results[0] == .error(.ok))
        #expect(results[1] == .error(.badVersion))
        #expect(results[2] == .error(.runtimeInconsistency))
        #expect(MultiResponse(results: results).firstError?.code == .badVersion)
        #expect(try c.call(.exists, ExistsRequest(path: path)).error == .noNode)

        var succeeded = try c.call(.multi, MultiRequest(operations: [
            .create(CreateRequest(path: path, data: [1], acl: Ids.openACLUnsafe, mode: .persistent)),
            .create2(CreateRequest(path: path + "/child", data: [], acl: Ids.openACLUnsafe, mode: .ephemeral)),
            .check(CheckVersionRequest(path: path, version: 0)),
            .setData(SetDataRequest(path: path, data: [2], version: 0)),
            .delete(DeleteRequest(path: path + "/child")),
        ]))
        let ok = try decodeMulti(&succeeded)
        #expect(ok.count == 5)
        #expect(ok[0] == .create(path: path))
        // ZooKeeper 3.8 answers a create2 inside multi with a plain create result (no Stat).
        switch ok[1] {
        case let .create(p): #expect(p == path + "/child")
        case let .create2(p, stat): #expect(p == path + "/child" && stat.ephemeralOwner == c.session.sessionId)
        default: Issue.record("unexpected result \(ok[1])")
        }
        #expect(ok[2] == .check && ok[4] == .delete)
        if case let .setData(stat) = ok[3] { #expect(stat.version == 1) } else { Issue.record("\(ok[3])") }

        var read = try c.call(.multiRead, MultiRequest(operations: [
            .getData(GetDataRequest(path: path)), .getChildren(GetChildrenRequest(path: root)),
            .getData(GetDataRequest(path: root + "/missing")),
        ]))
        let reads = try decodeMulti(&read)
        #expect(reads.count == 3)
        if case let .getData(data, stat) = reads[0] { #expect(data == [2] && stat.version == 1) } else { Issue.record("\(reads[0])") }
        #expect(reads[1] == .getChildren(children: ["multi"]))
        #expect(reads[2] == .error(.noNode))
        try c.closeSession()
    }

    /// A multi's reply header may carry the failure; the body still lists every result.
    func decodeMulti(_ reply: inout PlainConnection.Reply) throws -> [MultiResult] {
        try MultiResponse.decode(from: &reply.body).results
    }

    @Test func ephemeralsTTLAndContainers() throws {
        let c = try connect()
        try makeRoot(c)
        _ = try c.call(.create, CreateRequest(path: root + "/eph", data: [], acl: Ids.openACLUnsafe, mode: .ephemeral))
        #expect(try c.call(.create, CreateRequest(path: root + "/eph/child", data: [], acl: Ids.openACLUnsafe, mode: .persistent)).error == .noChildrenForEphemerals)
        var ephemerals = try c.call(.getEphemerals, GetEphemeralsRequest(path: root))
        #expect(try ephemerals.decode(GetEphemeralsResponse.self).ephemerals == [root + "/eph"])

        var ttl = try c.call(.createTTL, CreateTTLRequest(path: root + "/ttl", data: [], acl: Ids.openACLUnsafe, flags: CreateMode.persistentWithTTL.rawValue, ttl: 60_000))
        #expect(try ttl.decode(Create2Response.self).path == root + "/ttl")
        var container = try c.call(.createContainer, CreateRequest(path: root + "/box", data: [], acl: Ids.openACLUnsafe, mode: .container))
        #expect(try container.decode(Create2Response.self).path == root + "/box")

        var config = try c.call(.getData, GetDataRequest(path: ZooKeeperPaths.config))
        _ = try config.decode(GetDataResponse.self)
        try c.closeSession()

        let other = try connect()
        #expect(try other.call(.exists, ExistsRequest(path: root + "/eph")).error == .noNode, "closeSession removes ephemerals at once")
        try other.closeSession()
    }

    @Test func watchEventsFromAChangeByAnotherConnection() throws {
        let watcher = try connect()
        let writer = try connect()
        try makeRoot(writer)
        let path = root + "/watched"
        _ = try writer.call(.create, CreateRequest(path: path, data: [], acl: Ids.openACLUnsafe, mode: .persistent))

        var data = try watcher.call(.getData, GetDataRequest(path: path, watch: true))
        _ = try data.decode(GetDataResponse.self)
        var checked = try watcher.call(.checkWatches, CheckWatchesRequest(path: path, type: .data))
        #expect(checked.error == .ok)
        _ = try checked.decode(EmptyRecord.self)
        #expect(try watcher.call(.checkWatches, CheckWatchesRequest(path: path, type: .children)).error == .noWatcher)

        _ = try writer.call(.setData, SetDataRequest(path: path, data: [1]))
        let event = try watcher.nextEvent()
        #expect(event == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path))

        // exists on a missing node leaves a watch that fires on creation.
        #expect(try watcher.call(.exists, ExistsRequest(path: path + "/kid", watch: true)).error == .noNode)
        var childWatch = try watcher.call(.getChildren2, GetChildren2Request(path: path, watch: true))
        _ = try childWatch.decode(GetChildren2Response.self)
        _ = try writer.call(.create, CreateRequest(path: path + "/kid", data: [], acl: Ids.openACLUnsafe, mode: .persistent))
        let events = Set([try watcher.nextEvent(), try watcher.nextEvent()])
        #expect(events == [
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: path + "/kid"),
            WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: path),
        ])

        // A persistent recursive watch keeps firing for descendants.
        #expect(try watcher.call(.addWatch, AddWatchRequest(path: path, mode: .persistentRecursive)).error == .ok)
        _ = try writer.call(.setData, SetDataRequest(path: path + "/kid", data: [1]))
        _ = try writer.call(.setData, SetDataRequest(path: path + "/kid", data: [2]))
        #expect(try watcher.nextEvent() == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path + "/kid"))
        #expect(try watcher.nextEvent() == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path + "/kid"))

        // Removal is silent on the wire (watch-removed events are the client's own), so prove it
        // by a change that no longer notifies: the server sends an event before any reply that
        // shows the change, so none queued by then means none is coming.
        #expect(try watcher.call(.removeWatches, RemoveWatchesRequest(path: path, type: .any)).error == .ok)
        _ = try writer.call(.setData, SetDataRequest(path: path + "/kid", data: [3]))
        _ = try watcher.call(.sync, SyncRequest(path: path))
        var after = try watcher.call(.getData, GetDataRequest(path: path + "/kid"))
        #expect(try after.decode(GetDataResponse.self).data == [3])
        #expect(watcher.events.isEmpty, "\(watcher.events)")
        #expect(try watcher.call(.removeWatches, RemoveWatchesRequest(path: path, type: .any)).error == .noWatcher)
        try watcher.closeSession()
        try writer.closeSession()
    }

    @Test func setWatchesAfterReconnectDeliversMissedEvents() throws {
        let writer = try connect()
        try makeRoot(writer)
        let path = root + "/missed"
        let watcher = try connect()
        let zxidBefore = try watcher.call(.exists, ExistsRequest(path: path)).header.zxid
        _ = try writer.call(.create, CreateRequest(path: path, data: [], acl: Ids.openACLUnsafe, mode: .persistent))

        // A watcher that last saw zxidBefore re-registers an exists watch: the server fires it
        // at once, since the node was created after that zxid.
        let reply = try watcher.call(xid: Xid.setWatches, .setWatches, SetWatches(relativeZxid: zxidBefore, existWatches: [path]))
        #expect(reply.error == .ok)
        #expect(try watcher.nextEvent() == WatcherEvent(type: .nodeCreated, state: .syncConnected, path: path))

        let reply2 = try watcher.call(xid: Xid.setWatches, .setWatches2, SetWatches2(relativeZxid: zxidBefore, dataWatches: [path], persistentRecursiveWatches: [root]))
        #expect(reply2.error == .ok)
        #expect(try watcher.nextEvent() == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path))
        try watcher.closeSession()
        try writer.closeSession()
    }
}
