import Testing
// The fake server lives in the shared test support (the Lua edge's tests use it too).
@_exported import ZooKeeperTestSupport
import ZooKeeperProtocol
import ZooKeeperSession

let testSessionId: Int64 = 0x0123_4567_89AB_CDEF
let testPassword = [UInt8](1...16)

/// Drives a SessionStateMachine the way a driver would, with a fake server on each connection
/// and a clock that is only a number. Every input remembers the connection the machine asked
/// for (`.connect`), so tests can answer on it; nothing here asserts on the actions: tests do.
struct Harness {
    var machine: SessionStateMachine
    var now: Millis = 0
    /// The connection of the last `.connect` action.
    private(set) var connection: ConnectionID = 0
    private(set) var host: HostAddress?
    /// Every host the machine asked to connect to, in order.
    private(set) var connectedHosts: [HostAddress] = []
    /// The server side of `connection`.
    var server = FakeServer()

    init(_ connectString: String = "h1:2181", configure: (inout SessionConfiguration) -> Void = { _ in }) throws {
        var configuration = SessionConfiguration(connectString: try ConnectString(connectString), shuffleSeed: 7)
        configure(&configuration)
        machine = SessionStateMachine(configuration: configuration)
    }

    private mutating func observe(_ actions: [SessionAction]) -> [SessionAction] {
        // A read-write probe's connection is not the session's: tests answer it by hand.
        for case let .connect(host, id) in actions where machine.currentConnection == id {
            connection = id
            self.host = host
            connectedHosts.append(host)
            server = FakeServer()
        }
        return actions
    }

    /// Actions of an input the test gave the machine itself (a probe's), seen as the others.
    mutating func observed(_ actions: [SessionAction]) -> [SessionAction] { observe(actions) }

    // MARK: Inputs, at `now`

    mutating func start() -> [SessionAction] { observe(machine.start(now: now)) }
    mutating func established() -> [SessionAction] { observe(machine.connectionEstablished(connection, now: now)) }
    mutating func failed() -> [SessionAction] { observe(machine.connectionFailed(connection, now: now)) }
    mutating func connectionClosed() -> [SessionAction] { observe(machine.connectionClosed(connection, now: now)) }
    mutating func tick() -> [SessionAction] { observe(machine.tick(now: now)) }
    mutating func close(timeout: Millis = 2_000) -> [SessionAction] { observe(machine.close(now: now, timeout: timeout)) }

    mutating func receive(_ frames: [UInt8]...) -> [SessionAction] {
        observe(machine.bytesReceived(frames.flatMap { $0 }, connection: connection, now: now))
    }

    mutating func submit(_ operation: Operation, watcher: WatcherID? = nil, timeout: Millis = 60_000) -> (RequestID, [SessionAction]) {
        let (id, actions) = machine.submit(operation, watcher: watcher, timeout: timeout, now: now)
        return (id, observe(actions))
    }

    // MARK: What the server reads

    /// The frames of every send in `actions`, read by the fake server of the current
    /// connection. A send to another connection is an issue.
    mutating func frames(_ actions: [SessionAction], sourceLocation: SourceLocation = #_sourceLocation) throws -> [ClientFrame] {
        var frames: [ClientFrame] = []
        for case let .send(bytes, id) in actions {
            #expect(id == connection, "send to connection \(id), current is \(connection)", sourceLocation: sourceLocation)
            frames += try server.read(bytes)
        }
        #expect(!server.hasPartialFrame, "a send ended inside a frame", sourceLocation: sourceLocation)
        return frames
    }

    /// The one request frame in `actions`.
    mutating func onlyRequest(_ actions: [SessionAction], sourceLocation: SourceLocation = #_sourceLocation) throws -> ClientFrame {
        let frames = try frames(actions, sourceLocation: sourceLocation)
        try #require(frames.count == 1, "expected one frame, got \(frames)", sourceLocation: sourceLocation)
        return frames[0]
    }

    // MARK: Scripts

    /// start, TCP up, handshake answered: a connected session. Returns the handshake's
    /// ConnectRequest and the actions of the ConnectResponse.
    @discardableResult
    mutating func connect(
        sessionId: Int64 = testSessionId, timeOut: Int32 = 9_000, passwd: [UInt8] = testPassword, readOnly: Bool? = false
    ) throws -> (ConnectRequest, [SessionAction]) {
        _ = start()
        return try handshake(sessionId: sessionId, timeOut: timeOut, passwd: passwd, readOnly: readOnly)
    }

    /// TCP up on the pending connection and the handshake answered.
    mutating func handshake(
        sessionId: Int64 = testSessionId, timeOut: Int32 = 9_000, passwd: [UInt8] = testPassword, readOnly: Bool? = false
    ) throws -> (ConnectRequest, [SessionAction]) {
        let sent = try frames(established())
        guard sent.count == 1, case let .connect(request) = sent[0] else {
            Issue.record("expected a ConnectRequest, got \(sent)")
            throw FakeServerError.notARequest
        }
        let actions = receive(FakeServer.connectResponse(timeOut: timeOut, sessionId: sessionId, passwd: passwd, readOnly: readOnly))
        return (request, actions)
    }

    /// Submits `operation`, reads its one request frame, answers it; returns the answer's actions.
    mutating func roundTrip(
        _ operation: Operation, watcher: WatcherID? = nil, zxid: Int64 = 0, err: ErrorCode = .ok,
        body: some JuteEncodable, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (RequestID, [SessionAction]) {
        let (id, actions) = submit(operation, watcher: watcher)
        let request = try onlyRequest(actions, sourceLocation: sourceLocation)
        let xid = try #require(request.xid, sourceLocation: sourceLocation)
        return (id, receive(FakeServer.reply(xid: xid, zxid: zxid, err: err, body)))
    }

    mutating func roundTrip(
        _ operation: Operation, watcher: WatcherID? = nil, zxid: Int64 = 0, err: ErrorCode = .ok,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (RequestID, [SessionAction]) {
        try roundTrip(operation, watcher: watcher, zxid: zxid, err: err, body: EmptyRecord(), sourceLocation: sourceLocation)
    }

    /// getData with a watch on an existing node, answered.
    mutating func watchData(_ path: String, _ watcher: WatcherID, zxid: Int64 = 0) throws {
        let (id, actions) = try roundTrip(.getData(path: path, watch: true), watcher: watcher, zxid: zxid, body: GetDataResponse(data: [1], stat: sampleStat))
        #expect(acts(actions) == [.done(id, .data([1], sampleStat))])
    }

    /// exists with a watch on a missing node (an exist watch), answered NoNode.
    mutating func watchCreation(_ path: String, _ watcher: WatcherID, zxid: Int64 = 0) throws {
        let (id, actions) = try roundTrip(.exists(path: path, watch: true), watcher: watcher, zxid: zxid, err: .noNode)
        #expect(acts(actions) == [.done(id, .stat(nil))])
    }

    /// getChildren with a watch, answered.
    mutating func watchChildren(_ path: String, _ watcher: WatcherID, zxid: Int64 = 0) throws {
        let (id, actions) = try roundTrip(.getChildren(path: path, watch: true, includeStat: false), watcher: watcher, zxid: zxid, body: GetChildrenResponse(children: ["a"]))
        #expect(acts(actions) == [.done(id, .children(["a"], nil))])
    }

    /// addWatch, answered the way 3.6+ servers do (an ErrorResponse(0) body).
    mutating func addWatch(_ path: String, _ mode: AddWatchMode, _ watcher: WatcherID, zxid: Int64 = 0) throws {
        let (id, actions) = try roundTrip(.addWatch(path: path, mode: mode), watcher: watcher, zxid: zxid, body: ErrorResponse(err: 0))
        #expect(acts(actions) == [.done(id, .done)])
    }
}

/// The order in which a machine with this configuration tries its hosts, found by failing
/// every connection of one round.
func hostOrder(_ connectString: String, seed: UInt64) throws -> [HostAddress] {
    var h = try Harness(connectString) { $0.shuffleSeed = seed; $0.reconnectPause = 0 }
    _ = h.start()
    let count = h.machine.configuration.connectString.hosts.count
    for _ in 1..<count { _ = h.failed() }
    return h.connectedHosts
}
