import Testing
import ZooKeeperProtocol

/// Encodes `record`, compares with the golden bytes, decodes them back, and checks that every
/// shorter prefix is refused with an error (never a trap, never a partial value), unless the
/// record legitimately ends early (`shortestValidPrefix`).
func expectGolden<R: JuteRecord & Equatable>(
    _ record: R, _ golden: Golden, shortestValidPrefix: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(record.encoded() == golden.bytes, "encoding of \(R.self)", sourceLocation: sourceLocation)
    do {
        #expect(try R.decode(exactly: golden.bytes) == record, sourceLocation: sourceLocation)
    } catch {
        Issue.record("decoding \(R.self): \(error)", sourceLocation: sourceLocation)
    }
    let lowerBound = 0
    let upperBound = shortestValidPrefix ?? golden.bytes.count
    for cut in lowerBound..<upperBound {
        #expect(throws: ProtocolError.self, "prefix \(cut) of \(R.self)", sourceLocation: sourceLocation) {
            try R.decode(exactly: Array(golden.bytes.prefix(cut)))
        }
    }
}

@Suite struct SessionRecordGoldenTests {
    @Test func connectRequestWithReadOnlyByte() {
        let passwd = [UInt8](1...16)
        let r = ConnectRequest(protocolVersion: 0, lastZxidSeen: 0x55, timeOut: 30000, sessionId: 0x72AB_0000_0000_0001, passwd: passwd, readOnly: true)
        let golden = Golden.start.int(0).long(0x55).int(30000).long(0x72AB_0000_0000_0001).buffer(passwd).bool(true)
        // Without the trailing byte it is still a valid (pre-3.4) request.
        expectGolden(r, golden, shortestValidPrefix: golden.bytes.count - 1)
        #expect(golden.bytes.count == 4 + 8 + 4 + 8 + 4 + 16 + 1)
    }

    @Test func connectRequestLiteralBytes() {
        let r = ConnectRequest(timeOut: 0x7530, passwd: [UInt8](repeating: 0, count: 16), readOnly: false)
        let hex = "00000000" + "0000000000000000" + "00007530" + "0000000000000000" + "00000010"
            + String(repeating: "00", count: 16) + "00"
        #expect(r.encoded() == bytes(hex: hex))
    }

    @Test func connectRequestWithoutReadOnly() {
        let r = ConnectRequest(timeOut: 5000, passwd: [], readOnly: nil)
        expectGolden(r, Golden.start.int(0).long(0).int(5000).long(0).buffer([]))
    }

    @Test func connectResponseWithAndWithoutReadOnly() {
        let passwd = [UInt8](repeating: 0xAB, count: 16)
        let full = ConnectResponse(protocolVersion: 0, timeOut: 4000, sessionId: -0x7000_0000_0000_0001, passwd: passwd, readOnly: false)
        let golden = Golden.start.int(0).int(4000).long(-0x7000_0000_0000_0001).buffer(passwd).bool(false)
        expectGolden(full, golden, shortestValidPrefix: golden.bytes.count - 1)
        var old = full
        old.readOnly = nil
        expectGolden(old, Golden.start.int(0).int(4000).long(-0x7000_0000_0000_0001).buffer(passwd))
        #expect(!full.isSessionExpired)
        #expect(ConnectResponse(timeOut: 0, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16)).isSessionExpired)
    }

    @Test func requestAndReplyHeaders() {
        expectGolden(RequestHeader(xid: 7, opCode: .getData), Golden.start.int(7).int(4))
        expectGolden(RequestHeader(xid: Xid.ping, opCode: .ping), Golden.start.int(-2).int(11))
        expectGolden(ReplyHeader(xid: 7, zxid: 0x1_0000_0010, err: -101), Golden.start.int(7).long(0x1_0000_0010).int(-101))
        #expect(ReplyHeader(xid: 1, zxid: 1, err: -101).error == .noNode)
        #expect(bytes(hex: "fffffffe" + "ffffffffffffffff" + "00000000") == ReplyHeader(xid: -2, zxid: -1, err: 0).encoded())
    }

    @Test func watcherEvent() {
        expectGolden(
            WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/a/b"),
            Golden.start.int(3).int(3).string("/a/b"))
    }

    @Test func authPacket() {
        expectGolden(AuthPacket(scheme: "digest", auth: Array("u:p".utf8)), Golden.start.int(0).string("digest").buffer(Array("u:p".utf8)))
    }

    @Test func setWatchesAndSetWatches2() {
        expectGolden(
            SetWatches(relativeZxid: 99, dataWatches: ["/d"], existWatches: ["/e1", "/e2"], childWatches: []),
            Golden.start.long(99).strings(["/d"]).strings(["/e1", "/e2"]).strings([]))
        expectGolden(
            SetWatches2(relativeZxid: 5, dataWatches: [], existWatches: ["/e"], childWatches: ["/c"], persistentWatches: ["/p"], persistentRecursiveWatches: ["/r", "/s"]),
            Golden.start.long(5).strings([]).strings(["/e"]).strings(["/c"]).strings(["/p"]).strings(["/r", "/s"]))
    }

    @Test func errorResponse() {
        expectGolden(ErrorResponse(err: -110), Golden.start.int(-110))
    }

    @Test func secretsAreNotPrinted() {
        let passwd: [UInt8] = Array("SECRETSECRETSECR".utf8)
        let request = ConnectRequest(timeOut: 1, sessionId: 1, passwd: passwd)
        let response = ConnectResponse(timeOut: 1, sessionId: 0x1234, passwd: passwd)
        let auth = AuthPacket(scheme: "digest", auth: Array("user:SECRET".utf8))
        for text in ["\(request)", String(reflecting: request), "\(response)", "\(auth)", String(reflecting: auth)] {
            #expect(!text.contains("SECRET"))
            #expect(!text.contains("83, 69, 67"), "no raw byte list either")
        }
        #expect("\(response)".contains("0x1234"))
    }
}

@Suite struct DataRecordGoldenTests {
    @Test func stat() {
        expectGolden(sampleStat, Golden.start.stat(sampleStatFields))
        #expect(sampleStat.encoded().count == Stat.encodedSize)
    }

    @Test func idAndACL() {
        expectGolden(Id(scheme: "world", id: "anyone"), Golden.start.string("world").string("anyone"))
        expectGolden(
            ACL(permissions: [.read, .admin], id: Id(scheme: "ip", id: "127.0.0.1")),
            Golden.start.int(17).string("ip").string("127.0.0.1"))
    }

    @Test func clientInfoAndWhoAmI() {
        expectGolden(
            WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "digest", user: "u")]),
            Golden.start.int(2).string("ip").string("127.0.0.1").string("digest").string("u"))
    }
}

@Suite struct OperationRecordGoldenTests {
    let acl = [ACL(permissions: .all, id: Ids.anyone)]
    var aclGolden: Golden { Golden.start.int(1).int(31).string("world").string("anyone") }

    @Test func create() {
        expectGolden(
            CreateRequest(path: "/n", data: [1, 2, 3], acl: acl, mode: .ephemeralSequential),
            Golden.start.string("/n").buffer([1, 2, 3]).raw(aclGolden.bytes).int(3))
        expectGolden(CreateResponse(path: "/n0000000001"), Golden.start.string("/n0000000001"))
        expectGolden(Create2Response(path: "/n", stat: sampleStat), Golden.start.string("/n").stat(sampleStatFields))
    }

    @Test func createTTL() {
        expectGolden(
            CreateTTLRequest(path: "/t", data: [], acl: acl, flags: CreateMode.persistentWithTTL.rawValue, ttl: 60_000),
            Golden.start.string("/t").buffer([]).raw(aclGolden.bytes).int(5).long(60_000))
    }

    @Test func deleteAndDeleteContainer() throws {
        expectGolden(DeleteRequest(path: "/x", version: -1), Golden.start.string("/x").int(-1))
        #expect(DeleteContainerRequest(path: "/c").encoded() == Array("/c".utf8))
        #expect(try DeleteContainerRequest.decode(exactly: Array("/c".utf8)) == DeleteContainerRequest(path: "/c"))
    }

    @Test func pathAndWatchRequests() {
        // exists, getData, getChildren and getChildren2 share this layout.
        expectGolden(ExistsRequest(path: "/w", watch: true), Golden.start.string("/w").bool(true))
        expectGolden(GetDataRequest(path: "/w", watch: false), Golden.start.string("/w").bool(false))
        #expect(GetChildren2Request(path: "/w", watch: true).encoded().count == 4 + 2 + 1)
    }

    @Test func pathOnlyRequests() {
        expectGolden(GetACLRequest(path: "/a"), Golden.start.string("/a"))
        expectGolden(SyncResponse(path: "/a"), Golden.start.string("/a"))
        expectGolden(GetEphemeralsRequest(path: "/"), Golden.start.string("/"))
    }

    @Test func statResponses() {
        expectGolden(ExistsResponse(stat: sampleStat), Golden.start.stat(sampleStatFields))
    }

    @Test func getAndSetData() {
        expectGolden(GetDataResponse(data: Array("hi".utf8), stat: sampleStat), Golden.start.buffer(Array("hi".utf8)).stat(sampleStatFields))
        expectGolden(SetDataRequest(path: "/d", data: [0], version: 7), Golden.start.string("/d").buffer([0]).int(7))
    }

    @Test func nullDataReadsAsEmpty() throws {
        let golden = Golden.start.int(-1).stat(sampleStatFields)
        #expect(try GetDataResponse.decode(exactly: golden.bytes) == GetDataResponse(data: [], stat: sampleStat))
    }

    @Test func acls() {
        expectGolden(GetACLResponse(acl: acl, stat: sampleStat), aclGolden.stat(sampleStatFields))
        expectGolden(SetACLRequest(path: "/a", acl: acl, version: 2), Golden.start.string("/a").raw(aclGolden.bytes).int(2))
    }

    @Test func children() {
        expectGolden(GetChildrenResponse(children: ["a", "b"]), Golden.start.strings(["a", "b"]))
        expectGolden(GetChildren2Response(children: ["a"], stat: sampleStat), Golden.start.strings(["a"]).stat(sampleStatFields))
    }

    @Test func checkVersion() {
        expectGolden(CheckVersionRequest(path: "/c", version: 4), Golden.start.string("/c").int(4))
    }

    @Test func reconfig() {
        expectGolden(
            ReconfigRequest(joiningServers: "server.4=127.0.0.1:2890:3890;2184", leavingServers: "2", newMembers: "", curConfigId: -1),
            Golden.start.string("server.4=127.0.0.1:2890:3890;2184").string("2").string("").long(-1))
    }

    @Test func watchManagement() {
        expectGolden(CheckWatchesRequest(path: "/w", type: .data), Golden.start.string("/w").int(2))
        expectGolden(RemoveWatchesRequest(path: "/w", type: .any), Golden.start.string("/w").int(3))
        expectGolden(AddWatchRequest(path: "/w", mode: .persistentRecursive), Golden.start.string("/w").int(1))
    }

    @Test func ephemeralsAndCounts() {
        expectGolden(GetEphemeralsResponse(ephemerals: ["/e1"]), Golden.start.strings(["/e1"]))
        expectGolden(GetAllChildrenNumberResponse(totalNumber: 42), Golden.start.int(42))
    }
}

@Suite struct MultiRecordGoldenTests {
    @Test func multiHeader() {
        expectGolden(MultiHeader(type: 1, done: false, err: -1), Golden.start.int(1).bool(false).int(-1))
        expectGolden(MultiHeader.end, Golden.start.int(-1).bool(true).int(-1))
    }

    @Test func multiRequest() {
        let request = MultiRequest(operations: [
            .create(CreateRequest(path: "/m", data: [7], acl: Ids.openACLUnsafe, mode: .persistent)),
            .check(CheckVersionRequest(path: "/m", version: 0)),
            .setData(SetDataRequest(path: "/m", data: [8], version: -1)),
            .delete(DeleteRequest(path: "/m", version: -1)),
        ])
        let golden = Golden.start
            .int(1).bool(false).int(-1).string("/m").buffer([7]).int(1).int(31).string("world").string("anyone").int(0)
            .int(13).bool(false).int(-1).string("/m").int(0)
            .int(5).bool(false).int(-1).string("/m").buffer([8]).int(-1)
            .int(2).bool(false).int(-1).string("/m").int(-1)
            .int(-1).bool(true).int(-1)
        expectGolden(request, golden)
    }

    @Test func multiReadRequest() {
        let request = MultiRequest(operations: [.getData(GetDataRequest(path: "/a")), .getChildren(GetChildrenRequest(path: "/"))])
        expectGolden(request, Golden.start
            .int(4).bool(false).int(-1).string("/a").bool(false)
            .int(8).bool(false).int(-1).string("/").bool(false)
            .int(-1).bool(true).int(-1))
    }

    @Test func multiResponseWithEveryResultKind() {
        let response = MultiResponse(results: [
            .create(path: "/a"), .create2(path: "/b", stat: sampleStat), .delete, .setData(stat: sampleStat), .check,
            .getChildren(children: ["x"]), .getData(data: [1], stat: sampleStat), .error(.noNode),
        ])
        let golden = Golden.start
            .int(1).bool(false).int(0).string("/a")
            .int(15).bool(false).int(0).string("/b").stat(sampleStatFields)
            .int(2).bool(false).int(0)
            .int(5).bool(false).int(0).stat(sampleStatFields)
            .int(13).bool(false).int(0)
            .int(8).bool(false).int(0).strings(["x"])
            .int(4).bool(false).int(0).buffer([1]).stat(sampleStatFields)
            .int(-1).bool(false).int(-101).int(-101)
            .int(-1).bool(true).int(-1)
        expectGolden(response, golden)
    }

    @Test func failedTransactionReportsTheRealError() {
        let response = MultiResponse(results: [.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)])
        #expect(response.firstError?.index == 1)
        #expect(response.firstError?.code == .badVersion)
        #expect(MultiResponse(results: [.check]).firstError == nil)
    }

    @Test func unknownOperationTypeIsAnError() {
        let bytes = Golden.start.int(77).bool(false).int(0).int(-1).bool(true).int(-1).bytes
        #expect(throws: ProtocolError.invalidValue(field: "MultiHeader.type", value: 77)) { try MultiResponse.decode(exactly: bytes) }
    }
}

@Suite struct FrameEncoderTests {
    @Test func requestFrameIsLengthThenHeaderThenBody() {
        let frame = FrameEncoder.requestFrame(xid: 1, opCode: .exists, body: ExistsRequest(path: "/", watch: true))
        #expect(frame == Golden.start.int(8 + 5 + 1).int(1).int(3).string("/").bool(true).bytes)
    }

    @Test func pingFrame() {
        #expect(FrameEncoder.pingFrame() == bytes(hex: "00000008fffffffe0000000b"))
    }

    @Test func connectFrameHasNoHeader() {
        let frame = FrameEncoder.connectFrame(ConnectRequest(timeOut: 30000))
        #expect(frame.count == 4 + 45)
        #expect(Array(frame.prefix(4)) == [0, 0, 0, 45])
    }
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = hex.makeIterator()
    while let high = chars.next(), let low = chars.next() {
        out.append(UInt8(String([high, low]), radix: 16)!)
    }
    return out
}
