import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Errors are told apart by their code, never their message; a reply over the frame limit and
/// a cancelled request each end the way their caller needs.
@Suite struct ErrorKindTests {
    @Test func closedIsACodeNotAMessage() {
        #expect(ZooKeeperError.closed().code == .closed)
        #expect(ZooKeeperError(.closed, message: "any words").isClosed)
        #expect(!ZooKeeperError(.connectionLoss, message: "client is closed").isClosed)
        #expect(ZooKeeperError.closed().isTerminal && !ZooKeeperError.closed().isRetryable)
        #expect(ZooKeeperError(.connectionLoss).isRetryable && !ZooKeeperError(.connectionLoss).isTerminal)
        #expect(!ZooKeeperError(.frameTooLarge).isRetryable && !ZooKeeperError(.frameTooLarge).isTerminal)
    }

    @Test func clientCodesHaveNamesOutsideTheServersRange() {
        for entry in ErrorCode.clientTable {
            #expect(entry.code.isClientSide && entry.code.isKnown)
            #expect(ErrorCode(name: entry.name) == entry.code)
            #expect(!ErrorCode.table.contains { $0.code == entry.code })
        }
        #expect(ErrorCode.closed.name == "CLOSED" && ErrorCode.frameTooLarge.name == "FRAMETOOLARGE")
        #expect(!ErrorCode.table.contains { $0.code.isClientSide })
    }

    /// The oldest request in flight gets frameTooLarge (not retryable); the others in flight
    /// connectionLoss, as on any broken connection; the session reconnects.
    @Test func aReplyOverTheFrameLimitFailsItsRequest() throws {
        var h = try Harness("a:1,b:1") { $0.maxFrameLength = 100 }
        try h.connect()
        let (big, _) = h.submit(.getData(path: "/big", watch: false))
        let (next, _) = h.submit(.exists(path: "/next", watch: false))
        let header: [UInt8] = [0, 0, 0x01, 0x00]  // a 256-byte frame announced
        let actions = h.receive(header)
        let completions = acts(actions).filter { if case .complete = $0 { true } else { false } }
        #expect(completions == [
            .failed(big, ZooKeeperError(.frameTooLarge, path: "/big", message: "reply of 256 bytes exceeds the frame limit of 100 bytes")),
            .failed(next, ZooKeeperError(.connectionLoss, path: "/next")),
        ])
        #expect(acts(actions).contains { if case .connect = $0 { true } else { false } }, "it reconnects")
    }

    @Test func aCancelledQueuedRequestIsNeverSent() throws {
        var h = try Harness("a:1")
        _ = h.start()
        let (id, _) = h.submit(.sync(path: "/q"))
        let cancelled = h.machine.cancel(id)
        #expect(acts(cancelled).isEmpty, "no completion comes: the caller already has its answer")
        let (_, handshake) = try h.handshake()
        #expect(try h.frames(handshake).isEmpty)
        #expect(h.machine.pendingCount == 0)
    }

    @Test func aCancelledRequestInFlightHasItsReplyAndWatchDropped() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (id, sent) = h.submit(.getData(path: "/a", watch: true), watcher: 9)
        let xid = try #require(try h.onlyRequest(sent).xid)
        let cancelled = h.machine.cancel(id)
        #expect(acts(cancelled).isEmpty)
        let late = h.receive(FakeServer.reply(xid: xid, GetDataResponse(data: [1], stat: sampleStat)))
        #expect(acts(late).isEmpty, "the late reply is dropped")
        #expect(h.machine.watches.isEmpty, "its watch is not registered")
        // The stream stays in order: the next request is answered normally.
        let (nextID, nextActions) = try h.roundTrip(.sync(path: "/a"), body: SyncResponse(path: "/a"))
        #expect(acts(nextActions) == [.done(nextID, .path("/a"))])
    }

    @Test func forgettingAWatcherKeepsTheOthers() throws {
        var h = try Harness("a:1")
        try h.connect()
        try h.addWatch("/p", .persistent, 1)
        try h.addWatch("/p", .persistent, 2)
        h.machine.forgetWatcher(1)
        #expect(h.machine.watches.watchers(path: "/p", kind: .persistent) == [2])
        #expect(h.machine.watches.has(path: "/p", type: .any))
        h.machine.forgetWatcher(2)
        #expect(h.machine.watches.isEmpty)
    }
}
