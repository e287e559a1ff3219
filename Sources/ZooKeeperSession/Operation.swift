import ZooKeeperProtocol

/// A request as the application states it, with client paths (the session adds the chroot).
public enum Operation: Hashable, Sendable {
    /// `ttl` (ms) is required for the TTL modes and refused for the others.
    case create(path: String, data: [UInt8], acl: [ACL], mode: CreateMode, ttl: Int64? = nil)
    case delete(path: String, version: Int32)
    /// Answers `.stat(nil)` when the node does not exist; with `watch` that leaves an exists watch.
    case exists(path: String, watch: Bool)
    case getData(path: String, watch: Bool)
    case setData(path: String, data: [UInt8], version: Int32)
    case getACL(path: String)
    case setACL(path: String, acl: [ACL], version: Int32)
    case getChildren(path: String, watch: Bool, includeStat: Bool)
    case getAllChildrenNumber(path: String)
    case getEphemerals(prefix: String)
    case sync(path: String)
    /// An atomic transaction: create, delete, setData, check.
    case multi([MultiOperation])
    /// A batch of getData and getChildren, each answered on its own.
    case multiRead([MultiOperation])
    case addWatch(path: String, mode: AddWatchMode)
    /// `local` removes the client's registrations without asking the server (useful offline).
    case removeWatches(path: String, type: WatcherType, local: Bool)
    case checkWatches(path: String, type: WatcherType)
    case whoAmI
    /// getData on /zookeeper/config (never chrooted).
    case getConfig(watch: Bool)
    case reconfig(ReconfigRequest)
    case addAuth(scheme: String, credentials: [UInt8])

    /// Whether the request leaves a watch on the server, so a watcher must be given.
    public var setsWatch: Bool {
        switch self {
        case let .exists(_, watch), let .getData(_, watch), let .getChildren(_, watch, _), let .getConfig(watch): watch
        case .addWatch: true
        default: false
        }
    }

    /// Whether the request may leave something on the server that only this session owns: an
    /// ephemeral node (also inside a transaction) or an added identity. (A watch is the other
    /// such thing; the session knows those by their watchers.)
    public var bindsToSession: Bool {
        switch self {
        case let .create(_, _, _, mode, _): mode.isEphemeral
        case let .multi(operations):
            operations.contains {
                switch $0 {
                case let .create(r), let .create2(r): CreateMode(rawValue: r.flags)?.isEphemeral ?? true
                default: false
                }
            }
        case .addAuth: true
        default: false
        }
    }

    /// The client path the operation names, if any.
    public var path: String? {
        switch self {
        case let .create(path, _, _, _, _), let .delete(path, _), let .exists(path, _), let .getData(path, _),
             let .setData(path, _, _), let .getACL(path), let .setACL(path, _, _), let .getChildren(path, _, _),
             let .getAllChildrenNumber(path), let .sync(path), let .addWatch(path, _), let .removeWatches(path, _, _),
             let .checkWatches(path, _):
            path
        case let .getEphemerals(prefix): prefix
        case .getConfig: ZooKeeperPaths.config
        case .multi, .multiRead, .whoAmI, .reconfig, .addAuth: nil
        }
    }

    /// The largest request the server reads by default (jute.maxbuffer); a larger one makes it
    /// drop the connection, so it is refused before sending.
    public static let maxRequestBytes = 0xFFFFF

    /// Checks paths and arguments before anything is sent, so the server never sees a request
    /// it would refuse for its shape (and drop the connection over).
    public func validate() throws(ZooKeeperError) {
        if approximateSize > Self.maxRequestBytes {
            throw ZooKeeperError.badArguments("request too large (\(approximateSize) bytes, the server's limit is \(Self.maxRequestBytes))", path: path)
        }
        func check(_ path: String, sequential: Bool = false) throws(ZooKeeperError) {
            do { try PathValidation.validate(path, sequential: sequential) } catch {
                throw ZooKeeperError(.badArguments, path: path, message: error.description)
            }
        }
        switch self {
        case let .create(path, _, acl, mode, ttl):
            try check(path, sequential: mode.isSequential)
            if acl.isEmpty { throw ZooKeeperError(.invalidACL, path: path, message: "an ACL list must not be empty") }
            if mode.isTTL {
                guard let ttl, ttl > 0, ttl <= 0xFF_FFFF_FFFF else {
                    throw ZooKeeperError.badArguments("a TTL mode needs a ttl between 1 and 1099511627775 ms", path: path)
                }
            } else if ttl != nil {
                throw ZooKeeperError.badArguments("ttl is only valid with a TTL create mode", path: path)
            }
        case let .setACL(path, acl, _):
            try check(path)
            if acl.isEmpty { throw ZooKeeperError(.invalidACL, path: path, message: "an ACL list must not be empty") }
        case let .getEphemerals(prefix):
            // The server matches a prefix, so "/app/job-" is fine; it must still be absolute.
            if !prefix.hasPrefix("/") { throw ZooKeeperError.badArguments("prefix must start with /", path: prefix) }
        case let .multi(ops), let .multiRead(ops):
            if ops.isEmpty { throw ZooKeeperError.badArguments("a multi needs at least one operation") }
            for op in ops {
                switch op {
                case let .create(r), let .create2(r), let .createContainer(r):
                    try check(r.path, sequential: CreateMode(rawValue: r.flags)?.isSequential ?? false)
                case let .createTTL(r): try check(r.path, sequential: CreateMode(rawValue: r.flags)?.isSequential ?? false)
                default: try check(op.path)
                }
                let readOnly: Bool
                switch op {
                case .getData, .getChildren: readOnly = true
                default: readOnly = false
                }
                if readOnly != isMultiRead {
                    throw ZooKeeperError.badArguments(isMultiRead ? "multiRead takes getData and getChildren only" : "multi takes create, delete, setData and check only", path: op.path)
                }
            }
        case let .addAuth(scheme, _):
            if scheme.isEmpty { throw ZooKeeperError.badArguments("empty auth scheme") }
        case .whoAmI, .getConfig, .reconfig:
            break
        default:
            if let path { try check(path) }
        }
    }

    /// An upper bound of the encoded size, without encoding.
    private var approximateSize: Int {
        let overhead = 64
        switch self {
        case let .create(path, data, acl, _, _): return overhead + path.utf8.count + data.count + acl.reduce(0) { $0 + 12 + $1.id.scheme.utf8.count + $1.id.id.utf8.count }
        case let .setData(path, data, _): return overhead + path.utf8.count + data.count
        case let .setACL(path, acl, _): return overhead + path.utf8.count + acl.reduce(0) { $0 + 12 + $1.id.scheme.utf8.count + $1.id.id.utf8.count }
        case let .multi(ops), let .multiRead(ops): return overhead + ops.reduce(0) { $0 + $1.encoded().count }
        case let .addAuth(scheme, credentials): return overhead + scheme.utf8.count + credentials.count
        default: return overhead + (path?.utf8.count ?? 0)
        }
    }

    private var isMultiRead: Bool { if case .multiRead = self { true } else { false } }

    /// The opcode on the wire.
    var opCode: OpCode {
        switch self {
        case let .create(_, _, _, mode, _): mode.createOpCode
        case .delete: .delete
        case .exists: .exists
        case .getData, .getConfig: .getData
        case .setData: .setData
        case .getACL: .getACL
        case .setACL: .setACL
        case let .getChildren(_, _, includeStat): includeStat ? .getChildren2 : .getChildren
        case .getAllChildrenNumber: .getAllChildrenNumber
        case .getEphemerals: .getEphemerals
        case .sync: .sync
        case .multi: .multi
        case .multiRead: .multiRead
        case .addWatch: .addWatch
        case .removeWatches: .removeWatches
        case .checkWatches: .checkWatches
        case .whoAmI: .whoAmI
        case .reconfig: .reconfig
        case .addAuth: .auth
        }
    }

    /// The request frame, with server paths.
    func frame(xid: Int32, chroot: Chroot) -> [UInt8] {
        let p = { (path: String) in chroot.serverPath(path) }
        switch self {
        case let .create(path, data, acl, mode, ttl):
            if mode.isTTL {
                return FrameEncoder.requestFrame(xid: xid, opCode: .createTTL, body: CreateTTLRequest(path: p(path), data: data, acl: acl, flags: mode.rawValue, ttl: ttl ?? 0))
            }
            return FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: CreateRequest(path: p(path), data: data, acl: acl, mode: mode))
        case let .delete(path, version):
            return FrameEncoder.requestFrame(xid: xid, opCode: .delete, body: DeleteRequest(path: p(path), version: version))
        case let .exists(path, watch), let .getData(path, watch), let .getChildren(path, watch, _):
            return FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: PathWatchRequest(path: p(path), watch: watch))
        case let .getConfig(watch):
            return FrameEncoder.requestFrame(xid: xid, opCode: .getData, body: GetDataRequest(path: ZooKeeperPaths.config, watch: watch))
        case let .setData(path, data, version):
            return FrameEncoder.requestFrame(xid: xid, opCode: .setData, body: SetDataRequest(path: p(path), data: data, version: version))
        case let .getACL(path), let .getAllChildrenNumber(path), let .sync(path):
            return FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: PathRequest(path: p(path)))
        case let .getEphemerals(prefix):
            return FrameEncoder.requestFrame(xid: xid, opCode: .getEphemerals, body: PathRequest(path: chroot.isNone ? prefix : chroot.prefix + prefix))
        case let .setACL(path, acl, version):
            return FrameEncoder.requestFrame(xid: xid, opCode: .setACL, body: SetACLRequest(path: p(path), acl: acl, version: version))
        case let .multi(ops), let .multiRead(ops):
            let serverOps = ops.map { op -> MultiOperation in
                var op = op
                op.path = p(op.path)
                return op
            }
            return FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: MultiRequest(operations: serverOps))
        case let .addWatch(path, mode):
            return FrameEncoder.requestFrame(xid: xid, opCode: .addWatch, body: AddWatchRequest(path: p(path), mode: mode))
        case let .removeWatches(path, type, _), let .checkWatches(path, type):
            return FrameEncoder.requestFrame(xid: xid, opCode: opCode, body: WatchesRequest(path: p(path), type: type))
        case .whoAmI:
            return FrameEncoder.requestFrame(xid: xid, opCode: .whoAmI, body: EmptyRecord())
        case let .reconfig(request):
            return FrameEncoder.requestFrame(xid: xid, opCode: .reconfig, body: request)
        case let .addAuth(scheme, credentials):
            return FrameEncoder.requestFrame(xid: Xid.auth, opCode: .auth, body: AuthPacket(scheme: scheme, auth: credentials))
        }
    }

    /// Turns a reply into the operation's result. `err` is the reply header's code.
    func result(err: ErrorCode, body: inout JuteReader, chroot: Chroot) throws(ProtocolError) -> Result<OperationResult, ZooKeeperError> {
        let strip = { (path: String) in chroot.clientPath(path) }
        if case .exists = self, err == .noNode { return .success(.stat(nil)) }
        if case .multi = self, err == .ok || !body.isAtEnd {
            // A failed transaction still lists every operation's outcome.
            let results = try MultiResponse.decode(from: &body).results.map { Self.stripped($0, chroot) }
            if let failure = MultiResponse(results: results).firstError {
                return .failure(ZooKeeperError(failure.code, path: nil, message: "operation \(failure.index + 1) of \(results.count) failed: \(failure.code.message)", results: results))
            }
            if err != .ok { return .failure(ZooKeeperError(err, results: results)) }
            return .success(.multi(results))
        }
        guard err == .ok else { return .failure(ZooKeeperError(err, path: path)) }
        switch self {
        case let .create(_, _, _, mode, _):
            if mode.createOpCode == .create2 || mode.isContainer || mode.isTTL {
                let r = try Create2Response.decode(from: &body)
                return .success(.created(path: strip(r.path), stat: r.stat))
            }
            return .success(.created(path: strip(try CreateResponse.decode(from: &body).path), stat: nil))
        case .delete, .removeWatches, .checkWatches, .addAuth:
            return .success(.done)
        case .addWatch:
            // The server answers with an ErrorResponse(0) body; older ones with nothing.
            if !body.isAtEnd { _ = try ErrorResponse.decode(from: &body) }
            return .success(.done)
        case .exists, .setData, .setACL:
            return .success(.stat(try Stat.decode(from: &body)))
        case .getData, .getConfig, .reconfig:
            let r = try GetDataResponse.decode(from: &body)
            return .success(.data(r.data, r.stat))
        case .getACL:
            let r = try GetACLResponse.decode(from: &body)
            return .success(.acl(r.acl, r.stat))
        case let .getChildren(_, _, includeStat):
            if includeStat {
                let r = try GetChildren2Response.decode(from: &body)
                return .success(.children(r.children, r.stat))
            }
            return .success(.children(try GetChildrenResponse.decode(from: &body).children, nil))
        case .getAllChildrenNumber:
            return .success(.count(try GetAllChildrenNumberResponse.decode(from: &body).totalNumber))
        case .getEphemerals:
            return .success(.paths(try GetEphemeralsResponse.decode(from: &body).ephemerals.map(strip)))
        case .sync:
            return .success(.path(strip(try SyncResponse.decode(from: &body).path)))
        case .multi:
            return .success(.multi([]))  // not reached: handled before the error check
        case .multiRead:
            return .success(.multi(try MultiResponse.decode(from: &body).results))
        case .whoAmI:
            return .success(.identities(try WhoAmIResponse.decode(from: &body).clientInfo))
        }
    }

    private static func stripped(_ result: MultiResult, _ chroot: Chroot) -> MultiResult {
        switch result {
        case let .create(path): .create(path: chroot.clientPath(path))
        case let .create2(path, stat): .create2(path: chroot.clientPath(path), stat: stat)
        default: result
        }
    }
}

/// What an operation answers.
public enum OperationResult: Hashable, Sendable {
    /// create: the created path (with its sequence suffix) and, except for plain create inside
    /// multi, the new node's Stat.
    case created(path: String, stat: Stat?)
    /// exists (nil: no such node), setData, setACL.
    case stat(Stat?)
    case data([UInt8], Stat)
    case acl([ACL], Stat)
    /// getChildren; the parent's Stat when asked for.
    case children([String], Stat?)
    case count(Int32)
    /// getEphemerals.
    case paths([String])
    /// sync.
    case path(String)
    case multi([MultiResult])
    case identities([ClientInfo])
    /// delete, addWatch, removeWatches, checkWatches, addAuth.
    case done
}
