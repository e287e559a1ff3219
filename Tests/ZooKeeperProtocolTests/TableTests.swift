import Testing
import ZooKeeperProtocol

@Suite struct TableTests {
    @Test func opcodesMatchZooDefs() {
        let expected: [(OpCode, Int32)] = [
            (.create, 1), (.delete, 2), (.exists, 3), (.getData, 4), (.setData, 5), (.getACL, 6), (.setACL, 7),
            (.getChildren, 8), (.sync, 9), (.ping, 11), (.getChildren2, 12), (.check, 13), (.multi, 14),
            (.create2, 15), (.reconfig, 16), (.checkWatches, 17), (.removeWatches, 18), (.createContainer, 19),
            (.deleteContainer, 20), (.createTTL, 21), (.multiRead, 22), (.auth, 100), (.setWatches, 101),
            (.getEphemerals, 103), (.getAllChildrenNumber, 104), (.setWatches2, 105), (.addWatch, 106),
            (.whoAmI, 107), (.closeSession, -11),
        ]
        for (op, raw) in expected { #expect(op.rawValue == raw, "\(op)") }
        #expect([Xid.watchEvent, Xid.ping, Xid.auth, Xid.setWatches] == [-1, -2, -4, -8])
    }

    @Test func errorCodesHaveNamesAndMessages() {
        let expected: [(ErrorCode, Int32, String)] = [
            (.ok, 0, "OK"), (.systemError, -1, "SYSTEMERROR"), (.connectionLoss, -4, "CONNECTIONLOSS"),
            (.operationTimeout, -7, "OPERATIONTIMEOUT"), (.noNode, -101, "NONODE"), (.noAuth, -102, "NOAUTH"),
            (.badVersion, -103, "BADVERSION"), (.noChildrenForEphemerals, -108, "NOCHILDRENFOREPHEMERALS"),
            (.nodeExists, -110, "NODEEXISTS"), (.notEmpty, -111, "NOTEMPTY"), (.sessionExpired, -112, "SESSIONEXPIRED"),
            (.invalidACL, -114, "INVALIDACL"), (.authFailed, -115, "AUTHFAILED"), (.sessionMoved, -118, "SESSIONMOVED"),
            (.notReadOnly, -119, "NOTREADONLY"), (.noWatcher, -121, "NOWATCHER"), (.throttledOp, -127, "THROTTLEDOP"),
        ]
        for (code, raw, name) in expected {
            #expect(code.rawValue == raw)
            #expect(code.name == name)
            #expect(ErrorCode(name: name.lowercased()) == code)
        }
        #expect(ErrorCode.noNode.message == "node does not exist")
        #expect(ErrorCode.nodeExists.message == "node already exists")
        #expect(ErrorCode(rawValue: -9999).name == "UNKNOWN(-9999)")
        #expect(!ErrorCode(rawValue: -9999).isKnown)
        #expect(ErrorCode.connectionLoss.isSystemError && !ErrorCode.noNode.isSystemError)
        #expect(Set(ErrorCode.table.map(\.code.rawValue)).count == ErrorCode.table.count, "no duplicate codes")
    }

    @Test func createModesCarryZooKeepersFlags() {
        let expected: [(CreateMode, Int32)] = [
            (.persistent, 0), (.ephemeral, 1), (.persistentSequential, 2), (.ephemeralSequential, 3),
            (.container, 4), (.persistentWithTTL, 5), (.persistentSequentialWithTTL, 6),
        ]
        for (mode, flag) in expected { #expect(mode.rawValue == flag) }
        #expect(CreateMode(ephemeral: true, sequential: true) == .ephemeralSequential)
        #expect(CreateMode.container.createOpCode == .createContainer)
        #expect(CreateMode.persistentSequentialWithTTL.createOpCode == .createTTL)
        #expect(CreateMode.ephemeral.createOpCode == .create2)
    }

    @Test func eventsAndStates() {
        #expect([EventType.none, .nodeCreated, .nodeDeleted, .nodeDataChanged, .nodeChildrenChanged, .dataWatchRemoved, .childWatchRemoved, .persistentWatchRemoved].map(\.rawValue) == [-1, 1, 2, 3, 4, 5, 6, 7])
        #expect([KeeperState.disconnected, .syncConnected, .authFailed, .connectedReadOnly, .saslAuthenticated, .expired, .closed].map(\.rawValue) == [0, 3, 4, 5, 6, -112, 7])
        #expect("\(KeeperState.expired)" == "Expired")
        #expect(WatcherType.any.rawValue == 3 && AddWatchMode.persistentRecursive.rawValue == 1)
    }

    @Test func permissionBits() {
        #expect([Permissions.read, .write, .create, .delete, .admin].map(\.rawValue) == [1, 2, 4, 8, 16])
        #expect(Permissions.all.rawValue == 0x1F)
        #expect("\(Permissions.all)" == "cdrwa")
        #expect(Ids.openACLUnsafe == [ACL(permissions: .all, id: Id(scheme: "world", id: "anyone"))])
        #expect(Ids.creatorAllACL.first?.id == Id(scheme: "auth", id: ""))
    }

    @Test func sessionIdHex() {
        #expect(SessionId.hex(0x1000_0a3c_2b00_0001) == "0x10000a3c2b000001")
        #expect(SessionId.hex(-1) == "0xffffffffffffffff")
        #expect(SessionId.parse("0xffffffffffffffff") == -1)
        #expect(SessionId.parse("0x10000a3c2b000001") == 0x1000_0a3c_2b00_0001)
        #expect(SessionId.parse("zz") == nil)
        #expect(SessionId.parse("0x") == nil)
    }
}

@Suite struct DigestTests {
    @Test func sha1KnownVectors() {
        func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).leftPad(2) }.joined() }
        #expect(hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(SHA1.hash([UInt8](repeating: 0x61, count: 1000))) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func base64KnownVectors() {
        let cases = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (input, output) in cases { #expect(Base64.encode(Array(input.utf8)) == output) }
    }

    @Test func digestIdMatchesZooKeepersDocumentedExample() {
        // The super-user example of ZooKeeper's admin guide: super:test.
        #expect(DigestAuth.digestId(user: "super", password: "test") == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        #expect(Ids.digest(user: "user", password: "password") == Id(scheme: "digest", id: "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="))
        #expect(DigestAuth.credentials(user: "u", password: "p") == Array("u:p".utf8))
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
