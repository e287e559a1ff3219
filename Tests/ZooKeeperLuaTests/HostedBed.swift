import CZooKeeperLua
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperLua

/// A Lua client as nginx drives it (hosted: the caller moves the bytes), with the fake server
/// at the other end of its one link: what the cosocket driver does, without Lua or sockets.
final class HostedBed {
    let lua: LuaClient
    private(set) var server = FakeServer()
    private(set) var link: UInt64 = 0
    /// Hosts the client asked to connect to, in order.
    private(set) var connects: [String] = []
    /// Frames the server read and nobody took yet.
    private(set) var frames: [ClientFrame] = []

    init(shared: Bool = false, connectString: String = "zk1:2181", debug: Bool = false) {
        lua = LuaClient(connectString: connectString, timeoutMillis: 3_000, sessionTimeoutMillis: 9_000, debug: debug,
                        hostedIO: true, shared: shared)
    }

    /// Goes on with `other`'s server and link: this client took over `other`'s session (a
    /// session kept between nginx requests, whose connection Lua hands over).
    func takeOver(from other: HostedBed, link: UInt64) {
        server = other.server
        self.link = link
    }

    func call(_ method: String, _ arguments: LuaValue...) -> LuaClient.Outcome {
        lua.perform(method, arguments)
    }

    /// The same call with its arguments passed as the glue passes simple ones (zkl_call_simple):
    /// strings in place, no value stream.
    func callSimple(_ method: String, _ arguments: LuaValue...) -> LuaClient.Outcome {
        var storage: [[UInt8]] = arguments.map { if case let .string(bytes) = $0 { bytes } else { [] } }
        return withSimpleArguments(arguments, &storage, 0, []) { lua.perform(method, simple: $0) }
    }

    private func withSimpleArguments<R>(_ values: [LuaValue], _ storage: inout [[UInt8]], _ index: Int, _ done: [zkl_arg],
                                        _ body: (UnsafeBufferPointer<zkl_arg>) -> R) -> R {
        guard index < values.count else { return done.withUnsafeBufferPointer(body) }
        var arg = zkl_arg()
        switch values[index] {
        case .nil: arg.type = Int32(ZKL_NIL)
        case let .boolean(b): arg.type = Int32(b ? ZKL_TRUE : ZKL_FALSE)
        case let .number(n): (arg.type, arg.number) = (Int32(ZKL_NUMBER), n)
        case .string:
            return storage[index].withUnsafeBufferPointer { bytes in
                arg.type = Int32(ZKL_STRING)
                arg.bytes = UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self)
                arg.length = bytes.count
                var inner = storage
                return withSimpleArguments(values, &inner, index + 1, done + [arg], body)
            }
        default: preconditionFailure("not a simple argument: \(values[index])")
        }
        return withSimpleArguments(values, &storage, index + 1, done + [arg], body)
    }

    /// Carries out the client's I/O commands, as links.lua does: a connect succeeds at once
    /// (a new server), sends are read by the server.
    func pump() throws {
        while let command = lua.io.nextCommand() {
            switch command {
            case let .connect(link, host, port, probe):
                #expect(!probe, "a read-write probe: this bed has one server")
                self.link = link
                connects.append("\(host):\(port)")
                server = FakeServer()
                lua.io.report(.established, link: link, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
            case let .send(link, bytes):
                #expect(link == self.link)
                frames += try server.read(bytes)
            case let .close(link):
                #expect(link == self.link)
                self.link = 0
            }
        }
    }

    /// Bytes from the server on the current link.
    func receive(_ bytes: [UInt8]) throws {
        bytes.withUnsafeBytes { lua.io.report(.received, link: link, bytes: $0) }
        try pump()
    }

    /// The oldest request the server read and not yet answered.
    func takeFrame(sourceLocation: SourceLocation = #_sourceLocation) throws -> ClientFrame {
        try pump()
        try #require(!frames.isEmpty, "the server read nothing", sourceLocation: sourceLocation)
        return frames.removeFirst()
    }

    /// Answers the oldest request with `reply(xid)`; returns the request.
    @discardableResult
    func answer(sourceLocation: SourceLocation = #_sourceLocation, _ reply: (Int32) -> [UInt8]) throws -> ClientFrame {
        let frame = try takeFrame(sourceLocation: sourceLocation)
        let xid = try #require(frame.xid, "not a request: \(frame)", sourceLocation: sourceLocation)
        try receive(reply(xid))
        return frame
    }

    /// The answer of a call that waits, once it is ready (without waiting: nothing here blocks).
    func finish(_ outcome: LuaClient.Outcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> [LuaValue] {
        guard case let .wait(ticket) = outcome else {
            Issue.record("expected a call that waits, got \(outcome)", sourceLocation: sourceLocation)
            return []
        }
        try pump()
        #expect(lua.check(ticket.id) == .ready, sourceLocation: sourceLocation)
        return try HostedBed.values(lua.finish(ticket.id), sourceLocation: sourceLocation)
    }

    /// connect(), answered with a session.
    func connect(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let pending = call("connect")
        let handshake = try takeFrame(sourceLocation: sourceLocation)
        guard case .connect = handshake else {
            Issue.record("expected the handshake, got \(handshake)", sourceLocation: sourceLocation)
            return
        }
        try receive(FakeServer.connectResponse(timeOut: 9_000, sessionId: 0x0123_4567_89AB_CDEF, passwd: [UInt8](1...16)))
        #expect(try finish(pending, sourceLocation: sourceLocation) == [.boolean(true)], sourceLocation: sourceLocation)
        // The state change is posted for on_state callbacks; with none registered it runs nothing.
        #expect(lua.nextCallback().map(\.ref) == nil, sourceLocation: sourceLocation)
    }

    /// The values of an answered call.
    static func values(_ outcome: LuaClient.Outcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> [LuaValue] {
        switch outcome {
        case let .done(values): return values
        case let .raise(message):
            Issue.record("raised: \(message)", sourceLocation: sourceLocation)
            return []
        case .wait:
            Issue.record("still waiting", sourceLocation: sourceLocation)
            return []
        }
    }

    /// The message of a call that raised.
    static func raised(_ outcome: LuaClient.Outcome) -> String? {
        if case let .raise(message) = outcome { return message }
        return nil
    }
}
