import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Every operation of the Swift API against a real server, and the failures users meet.
@Suite struct OperationsTests {
    @Test func createReadUpdateDelete() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("ops")
        let (path, stat) = try await zk.create(root, data: Array("v1".utf8))
        #expect(path == root)
        #expect(stat?.dataLength == 2)

        let (data, readStat) = try await zk.getData(root)
        #expect(data == Array("v1".utf8) && readStat == stat)
        let updated = try await zk.setData(root, data: Array("v2".utf8), version: 0)
        #expect(updated.version == 1)
        #expect(try await zk.exists(root)?.version == 1)
        #expect(try await zk.exists(root + "/missing") == nil)

        let sequential = try await zk.create(root + "/job-", mode: .persistentSequential).path
        #expect(sequential.hasPrefix(root + "/job-") && sequential.count == root.count + 5 + 10)
        let ephemeral = try await zk.create(root + "/eph", mode: .ephemeral)
        #expect(ephemeral.stat?.ephemeralOwner == zk.sessionId)
        #expect(Set(try await zk.getChildren(root)) == ["eph", String(sequential.split(separator: "/").last!)])
        let (children, parentStat) = try await zk.getChildrenWithStat(root)
        #expect(children.count == 2 && parentStat.numChildren == 2)
        #expect(try await zk.getAllChildrenNumber(root) == 2)
        #expect(try await zk.getEphemerals(prefix: root) == [root + "/eph"])
        try await zk.sync(root)

        try await zk.delete(sequential)
        try await zk.delete(root + "/eph", version: 0)
        try await zk.delete(root)
        #expect(try await zk.exists(root) == nil)
        await zk.close()
    }

    @Test func failuresCarryZooKeeperCodes() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("errors")
        try await zk.create(root)
        await expectCode(.noNode) { try await zk.getData(root + "/none") }
        await expectCode(.noNode) { try await zk.create(root + "/none/child") }
        await expectCode(.nodeExists) { try await zk.create(root) }
        await expectCode(.badVersion) { try await zk.setData(root, data: [], version: 42) }
        try await zk.create(root + "/kid")
        await expectCode(.notEmpty) { try await zk.delete(root) }
        try await zk.create(root + "/eph", mode: .ephemeral)
        await expectCode(.noChildrenForEphemerals) { try await zk.create(root + "/eph/child") }
        await expectCode(.invalidACL) { try await zk.create(root + "/bad", acl: [ACL(permissions: .all, id: Id(scheme: "digest", id: "nocolon"))]) }
        await expectCode(.invalidACL) { try await zk.create(root + "/auth-acl", acl: Ids.creatorAllACL) }
        try await zk.create(root + "/locked", acl: [ACL(permissions: .all, id: Ids.digest(user: "bob", password: "pw"))])
        await expectCode(.noAuth) { try await zk.getData(root + "/locked") }
        // Bad input never reaches the server.
        await expectCode(.badArguments) { try await zk.getData("no-slash") }
        await expectCode(.badArguments) { try await zk.create(root + "/ttl", mode: .persistentWithTTL) }
        let error = await #expect(throws: ZooKeeperError.self) { try await zk.getData(root + "/none") }
        #expect(error?.isRetryable == false && error?.isTerminal == false)
        #expect(zk.state == .connected, "errors leave the session usable")
        await zk.close()
    }

    @Test func aclsAuthAndWhoAmI() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("acl")
        try await zk.create(root, data: Array("secret".utf8), acl: [ACL(permissions: .all, id: Ids.digest(user: "alice", password: "pw"))])
        await expectCode(.noAuth) { try await zk.getData(root) }
        try await zk.addAuth(scheme: "digest", credentials: DigestAuth.credentials(user: "alice", password: "pw"))
        #expect(try await zk.getData(root).data == Array("secret".utf8))
        let (acl, stat) = try await zk.getACL(root)
        #expect(acl == [ACL(permissions: .all, id: Ids.digest(user: "alice", password: "pw"))])
        let after = try await zk.setACL(root, acl: Ids.openACLUnsafe + [ACL(permissions: .read, id: Ids.ip("127.0.0.1"))], version: stat.aversion)
        #expect(after.aversion == stat.aversion + 1)
        #expect(try await zk.whoAmI().contains(ClientInfo(authScheme: "digest", user: "alice")))
        // An ACL for the creator's own identities works once authenticated.
        try await zk.create(root + "/mine", acl: Ids.creatorAllACL)
        await zk.close()
    }

    @Test func multiAndMultiRead() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("multi")
        try await zk.create(root)
        let results = try await zk.multi([
            .create(CreateRequest(path: root + "/a", data: [1], acl: Ids.openACLUnsafe, mode: .persistent)),
            .setData(SetDataRequest(path: root + "/a", data: [2], version: 0)),
            .check(CheckVersionRequest(path: root + "/a", version: 1)),
        ])
        #expect(results.count == 3 && results[0] == .create(path: root + "/a"))
        do {
            try await zk.multi([
                .check(CheckVersionRequest(path: root + "/a", version: 99)),
                .delete(DeleteRequest(path: root + "/a", version: -1)),
            ])
            Issue.record("the check should fail")
        } catch let error as ZooKeeperError {
            #expect(error.code == .badVersion)
            #expect(error.results?.count == 2)
            #expect(error.results?[0] == .error(.badVersion))
        }
        #expect(try await zk.exists(root + "/a") != nil, "the failed transaction was rolled back")
        let reads = try await zk.multiRead([
            .getData(GetDataRequest(path: root + "/a")), .getChildren(GetChildrenRequest(path: root)),
            .getData(GetDataRequest(path: root + "/none")),
        ])
        if case let .getData(data, stat) = reads[0] { #expect(data == [2] && stat.version == 1) } else { Issue.record("\(reads[0])") }
        #expect(reads[1] == .getChildren(children: ["a"]))
        #expect(reads[2] == .error(.noNode))
        await zk.close()
    }

    @Test func ttlContainerAndConfig() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("modes")
        try await zk.create(root)
        let ttl = try await zk.create(root + "/ttl", mode: .persistentWithTTL, ttl: .seconds(60))
        #expect(ttl.path == root + "/ttl" && ttl.stat != nil)
        let seqTTL = try await zk.create(root + "/ttl-", mode: .persistentSequentialWithTTL, ttl: .seconds(60))
        #expect(seqTTL.path.count == (root + "/ttl-").count + 10)
        let container = try await zk.create(root + "/box", mode: .container)
        #expect(container.stat != nil)
        let (config, _) = try await zk.getConfig()
        _ = config  // a standalone server may have an empty config
        await zk.close()
    }

    @Test func chrootIsInvisibleToTheApplication() async throws {
        let root = uniqueRoot("chroot")
        let plain = try await connectShared()
        try await plain.create(root)
        let zk = try await connectShared(chroot: root)
        let created = try await zk.create("/node-", mode: .ephemeralSequential)
        #expect(created.path.hasPrefix("/node-") && !created.path.hasPrefix(root))
        #expect(try await plain.getChildren(root) == [String(created.path.dropFirst())])
        #expect(try await zk.getEphemerals() == [created.path])
        let events = EventLog<WatchEvent>()
        _ = try await zk.getData(created.path) { events.append($0) }
        try await plain.setData(root + created.path, data: [1])
        #expect(await events.wait().first == WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: created.path))
        let multi = try await zk.multi([.create(CreateRequest(path: "/m", data: [], acl: Ids.openACLUnsafe, mode: .persistent))])
        #expect(multi == [.create(path: "/m")])
        await zk.close()
        await plain.close()
    }

    @Test func manyRequestsInFlightFromManyTasks() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("pipeline")
        try await zk.create(root, data: Array(repeating: 7, count: 100))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<1_000 {
                group.addTask {
                    let count = try await zk.getData(root).data.count
                    #expect(count == 100)
                }
            }
            try await group.waitForAll()
        }
        await zk.close()
    }
}
