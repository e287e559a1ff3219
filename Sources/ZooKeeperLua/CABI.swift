#if canImport(Glibc)
import Glibc
#endif
import CZooKeeperLua
import ZooKeeperProtocol
import ZooKeeperSession

// The C ABI of zookeeper_lua.h. Only C types cross it; no Lua function is called from here, so
// no Lua error can unwind a Swift frame. Every entry point is total: a malformed argument
// stream is answered as a caller mistake, never a trap.

private let statusDone: Int32 = 0
private let statusWait: Int32 = 1
private let statusRaise: Int32 = 2

private func client(_ pointer: UnsafeMutableRawPointer) -> LuaClient {
    Unmanaged<LuaClient>.fromOpaque(pointer).takeUnretainedValue()
}

/// Replies for calls without a client (zk.new failures, module helpers), kept per thread
/// until that thread's next such call.
private final class ThreadReply {
    var bytes: [UInt8] = []
}

private let threadReplyKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
        if let pointer { Unmanaged<ThreadReply>.fromOpaque(pointer).release() }
    }
    return key
}()

private func threadReply(_ values: [LuaValue], _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ length: UnsafeMutablePointer<Int>) {
    let holder: ThreadReply
    if let existing = pthread_getspecific(threadReplyKey) {
        holder = Unmanaged<ThreadReply>.fromOpaque(existing).takeUnretainedValue()
    } else {
        holder = ThreadReply()
        pthread_setspecific(threadReplyKey, Unmanaged.passRetained(holder).toOpaque())
    }
    ValueStream.encode(values, into: &holder.bytes)
    holder.bytes.withUnsafeBufferPointer { reply.pointee = $0.baseAddress }
    length.pointee = holder.bytes.count
}

private func publish(_ outcome: LuaClient.Outcome, on lua: LuaClient, ticket: UnsafeMutablePointer<UInt64>?,
                     _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ length: UnsafeMutablePointer<Int>) -> Int32 {
    let status: Int32
    switch outcome {
    case let .done(values):
        ValueStream.encode(values, into: &lua.reply)
        status = statusDone
    case let .raise(message):
        ValueStream.encode([.string(message)], into: &lua.reply)
        status = statusRaise
    case let .wait(pending):
        ticket?.pointee = pending.id
        ValueStream.encode([], into: &lua.reply)
        status = statusWait
    }
    lua.reply.withUnsafeBufferPointer { reply.pointee = $0.baseAddress }
    length.pointee = lua.reply.count
    return status
}

/// The options zk.new (and zk.shared) take: a misspelt one is refused, not ignored.
enum ClientOptions {
    // As bytes: a key is checked without making a String of it (zk.new runs per request in nginx).
    static let names = ["connect_string", "timeout", "session_timeout", "debug", "max_frame_bytes", "sasl", "tls", "read_only", "keepalive"].map { Array($0.utf8) }
    /// The shim's own: `_hosted`, `_shared` (cosocket clients), and `name` of a shared client.
    static let sharedNames = [Array("name".utf8)]
    static let privateNames = ["_hosted", "_shared"].map { Array($0.utf8) }
    /// A reply limit below 1 KiB would refuse handshakes; above 1 GiB protects nothing.
    static let frameBytes = 1_024...(1 << 30)

    /// The first key of `table` that is no option (by name order, so the error is stable).
    static func unknownOption(in table: LuaValue) -> String? {
        guard case let .table(entries) = table else { return nil }
        let shared = table["_shared"] == .boolean(true)
        var unknown: [String] = []
        for (key, _) in entries {
            switch key {
            case let .string(bytes):
                if names.contains(bytes) || privateNames.contains(bytes) || shared && sharedNames.contains(bytes) { continue }
                unknown.append(String(decoding: bytes, as: UTF8.self))
            case let .number(n) where n == n.rounded() && abs(n) < 1e15:
                unknown.append("[\(Int64(n))]")
            default:
                unknown.append("[\(key.typeName)]")
            }
        }
        return unknown.min()
    }
}

@_cdecl("zkl_new")
public func zkl_new(_ options: UnsafePointer<UInt8>?, _ length: Int,
                    _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ replyLength: UnsafeMutablePointer<Int>) -> UnsafeMutableRawPointer? {
    func fail(_ message: String) -> UnsafeMutableRawPointer? {
        threadReply([.nil, .string(message)], reply, replyLength)
        return nil
    }
    guard let values = try? ValueStream.decode(options, length) else { return fail("invalid options") }
    let table = values.first ?? .nil
    if !table.isNil, case .table = table {} else if !table.isNil { return fail("options must be a table") }
    if let unknown = ClientOptions.unknownOption(in: table) { return fail("unknown option '\(unknown)'") }
    var connectString = "127.0.0.1:2181"
    var timeout: Int64 = 3_000
    var sessionTimeout: Int64 = 30_000
    var maxFrameBytes = FrameDecoder.defaultMaxFrameLength
    switch table["connect_string"] {
    case .nil: break
    case let .string(bytes): connectString = String(decoding: bytes, as: UTF8.self)
    default: return fail("connect_string must be a string")
    }
    for (name, target) in [("timeout", 0), ("session_timeout", 1)] {
        switch table[name] {
        case .nil: continue
        case let .number(n) where n >= 1 && n <= 86_400_000 && n == n.rounded():
            if target == 0 { timeout = Int64(n) } else { sessionTimeout = Int64(n) }
        default: return fail("\(name) must be a positive number of milliseconds")
        }
    }
    switch table["max_frame_bytes"] {
    case .nil: break
    case let .number(n) where n >= Double(ClientOptions.frameBytes.lowerBound) && n <= Double(ClientOptions.frameBytes.upperBound) && n == n.rounded():
        maxFrameBytes = Int(n)
    default:
        return fail("max_frame_bytes must be a whole number of bytes from \(ClientOptions.frameBytes.lowerBound) to \(ClientOptions.frameBytes.upperBound)")
    }
    var flags = (debug: false, hosted: false, shared: false, readOnly: false)
    for (name, target) in [("debug", 0), ("_hosted", 1), ("_shared", 2), ("read_only", 3)] {
        switch table[name] {
        case .nil: continue
        case let .boolean(b):
            switch target {
            case 0: flags.debug = b
            case 1: flags.hosted = b
            case 2: flags.shared = b
            default: flags.readOnly = b
            }
        default: return fail("\(name) must be a boolean")
        }
    }
    switch table["name"] {
    case .nil, .string: break
    default: return fail("name must be a string")
    }
    let sasl: SASLCredentials?, tls: TLSOptions?, keepalive: SessionKeepalive.Options?
    do {
        sasl = try SecurityOptions.sasl(table["sasl"])
        tls = try SecurityOptions.tls(table["tls"])
        keepalive = try SessionKeepalive.Options.parse(table["keepalive"])
    } catch {
        return fail(error.message)
    }
    if flags.hosted, tls?.caFile != nil {
        return fail("tls.ca_file cannot be used on nginx cosockets: nginx verifies with the CA of its "
            + "lua_ssl_trusted_certificate directive (docs/security.md)")
    }
    let lua = LuaClient(connectString: connectString, timeoutMillis: timeout, sessionTimeoutMillis: sessionTimeout, debug: flags.debug,
                        maxFrameBytes: maxFrameBytes, hostedIO: flags.hosted, shared: flags.shared)
    lua.sasl = sasl
    lua.tls = tls
    lua.readOnly = flags.readOnly
    // Only nginx per-request clients keep sessions between requests (elsewhere the option is checked, then unused).
    lua.keepalive = flags.hosted && !flags.shared ? keepalive : nil
    return Unmanaged.passRetained(lua).toOpaque()
}

@_cdecl("zkl_call")
public func zkl_call(_ pointer: UnsafeMutableRawPointer?, _ method: UnsafePointer<CChar>?, _ args: UnsafePointer<UInt8>?, _ length: Int,
                     _ ticket: UnsafeMutablePointer<UInt64>?, _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>,
                     _ replyLength: UnsafeMutablePointer<Int>) -> Int32 {
    let name = method.map { String(cString: $0) } ?? ""
    let values = (try? ValueStream.decode(args, length)) ?? [.nil]
    guard let pointer else {
        switch ModuleHelpers.call(name, values) {
        case let .done(result): threadReply(result, reply, replyLength); return statusDone
        case let .raise(message): threadReply([.string(message)], reply, replyLength); return statusRaise
        case .wait: threadReply([.string("resty.zookeeper: helpers do not wait")], reply, replyLength); return statusRaise
        }
    }
    let lua = client(pointer)
    return publish(lua.perform(name, values), on: lua, ticket: ticket, reply, replyLength)
}

@_cdecl("zkl_call_simple")
public func zkl_call_simple(_ pointer: UnsafeMutableRawPointer?, _ method: UnsafePointer<CChar>?, _ args: UnsafePointer<zkl_arg>?,
                            _ count: Int32, _ ticket: UnsafeMutablePointer<UInt64>?, _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>,
                            _ replyLength: UnsafeMutablePointer<Int>) -> Int32 {
    guard let pointer else {
        threadReply([.string("resty.zookeeper: no client")], reply, replyLength)
        return statusRaise
    }
    let lua = client(pointer)
    let arguments = UnsafeBufferPointer(start: args, count: args == nil ? 0 : max(0, Int(count)))
    return publish(lua.perform(method.map { String(cString: $0) } ?? "", simple: arguments), on: lua, ticket: ticket, reply, replyLength)
}

@_cdecl("zkl_wait")
public func zkl_wait(_ pointer: UnsafeMutableRawPointer?, _ ticket: UInt64) -> Int32 {
    guard let pointer else { return 1 }
    return client(pointer).wait(ticket) ? 1 : 2
}

@_cdecl("zkl_finish")
public func zkl_finish(_ pointer: UnsafeMutableRawPointer?, _ ticket: UInt64,
                       _ reply: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ replyLength: UnsafeMutablePointer<Int>) -> Int32 {
    guard let pointer else {
        threadReply([.string("resty.zookeeper: no client")], reply, replyLength)
        return statusRaise
    }
    let lua = client(pointer)
    return publish(lua.finish(ticket), on: lua, ticket: nil, reply, replyLength)
}

@_cdecl("zkl_forget")
public func zkl_forget(_ pointer: UnsafeMutableRawPointer?, _ ticket: UInt64) {
    guard let pointer else { return }
    client(pointer).forget(ticket)
}

@_cdecl("zkl_drop_object")
public func zkl_drop_object(_ pointer: UnsafeMutableRawPointer?, _ id: Double) {
    guard let pointer, id >= 1, id < 9_007_199_254_740_992 else { return }
    client(pointer).dropRecipe(UInt64(id))
}

@_cdecl("zkl_next_event")
public func zkl_next_event(_ pointer: UnsafeMutableRawPointer?, _ args: UnsafeMutablePointer<UnsafePointer<UInt8>?>,
                           _ length: UnsafeMutablePointer<Int>) -> Int32 {
    guard let pointer else { return 0 }
    let lua = client(pointer)
    guard let callback = lua.nextCallback() else { return 0 }
    lua.eventArguments = ValueStream.encode(callback.arguments)
    lua.eventArguments.withUnsafeBufferPointer { args.pointee = $0.baseAddress }
    length.pointee = lua.eventArguments.count
    return callback.ref
}

@_cdecl("zkl_next_unref")
public func zkl_next_unref(_ pointer: UnsafeMutableRawPointer?) -> Int32 {
    guard let pointer else { return 0 }
    return client(pointer).takeReleasedRef()
}

@_cdecl("zkl_next_log_line")
public func zkl_next_log_line(_ pointer: UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    let lua = client(pointer)
    guard !lua.logLines.isEmpty else { return nil }
    lua.logLine = Array(lua.logLines.removeFirst().utf8CString)
    return lua.logLine.withUnsafeBufferPointer { $0.baseAddress }
}

@_cdecl("zkl_release")
public func zkl_release(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    client(pointer).releaseEverything()
}

@_cdecl("zkl_free")
public func zkl_free(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    Unmanaged<LuaClient>.fromOpaque(pointer).release()
}

// MARK: The cosocket driver's entry points (clients made with `_hosted`: Lua moves the bytes)

@_cdecl("zkl_check")
public func zkl_check(_ pointer: UnsafeMutableRawPointer?, _ ticket: UInt64) -> Int32 {
    guard let pointer else { return LuaClient.Readiness.ready.rawValue }
    return client(pointer).check(ticket).rawValue
}

@_cdecl("zkl_ready")
public func zkl_ready(_ pointer: UnsafeMutableRawPointer?, _ ids: UnsafeMutablePointer<UnsafePointer<UInt64>?>,
                      _ count: UnsafeMutablePointer<Int>) -> Int32 {
    count.pointee = 0
    guard let pointer else { return 0 }
    let lua = client(pointer)
    let (ready, callbackDue) = lua.takeReadyTickets()
    lua.readyIds = ready
    lua.readyIds.withUnsafeBufferPointer { ids.pointee = $0.baseAddress }
    count.pointee = lua.readyIds.count
    return callbackDue ? 1 : 0
}

/// Every session_state() answer as a C string, made once and never written again.
nonisolated(unsafe) private let stateNames: [String: UnsafeMutablePointer<CChar>] = {
    let states: [SessionState] = [.connecting, .connected, .connectedReadOnly, .expired, .authFailed, .closed]
    let names = states.map(LuaFormat.stateName) + LuaClient.stateNamesWithoutSession
    return Dictionary(names.compactMap { name in strdup(name).map { (name, $0) } }, uniquingKeysWith: { first, _ in first })
}()

@_cdecl("zkl_session_state")
public func zkl_session_state(_ pointer: UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? {
    guard let pointer, let name = stateNames[client(pointer).sessionStateName] else { return nil }
    return UnsafePointer(name)
}

@_cdecl("zkl_io_next")
public func zkl_io_next(_ pointer: UnsafeMutableRawPointer?, _ link: UnsafeMutablePointer<UInt64>,
                        _ bytes: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ length: UnsafeMutablePointer<Int>,
                        _ port: UnsafeMutablePointer<Int32>) -> Int32 {
    guard let pointer else { return 0 }
    let lua = client(pointer)
    func publish(_ data: [UInt8]) {
        lua.ioBytes = data
        lua.ioBytes.withUnsafeBufferPointer { bytes.pointee = $0.baseAddress }
        length.pointee = lua.ioBytes.count
    }
    switch lua.io.nextCommand() {
    case nil: return 0
    case let .connect(id, host, number, probe)?:
        link.pointee = id
        port.pointee = Int32(clamping: number)
        publish(Array(host.utf8))
        return probe ? 4 : 1
    case let .send(id, data)?:
        link.pointee = id
        publish(data)
        return 2
    case let .close(id)?:
        link.pointee = id
        return 3
    }
}

@_cdecl("zkl_io_report")
public func zkl_io_report(_ pointer: UnsafeMutableRawPointer?, _ kind: Int32, _ link: UInt64,
                          _ bytes: UnsafePointer<UInt8>?, _ length: Int) {
    guard let pointer, let report = HostedIO.Report(rawValue: kind) else { return }
    client(pointer).io.report(report, link: link, bytes: UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length))
}

@_cdecl("zkl_io_tick")
public func zkl_io_tick(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    client(pointer).io.tick()
}

@_cdecl("zkl_io_wait_ms")
public func zkl_io_wait_ms(_ pointer: UnsafeMutableRawPointer?, _ ticket: UInt64) -> Int64 {
    guard let pointer else { return -1 }
    let lua = client(pointer)
    // No array for two values: the cosocket driver asks before every read.
    let timer = lua.io.nextDeadline, callDeadline = ticket == 0 ? nil : lua.deadline(of: ticket)
    guard let due = timer.map({ min($0, callDeadline ?? $0) }) ?? callDeadline else { return -1 }
    return max(0, due - monotonicNow())
}
