import ZooKeeperProtocol
import ZooKeeperSession

/// The client's methods: each checks its arguments, starts its operation, and formats the
/// answer as the contract (or, beyond it, `res, err, code`) wants it.
extension LuaClient {
    func call(_ method: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        // Only declared methods (LuaMethodTable.swift); `exists_async(...)` and the like run
        // their method, the glue keeps the ticket in a handle.
        guard let (declared, async) = LuaMethod.resolve(method) else {
            throw BadArgument(message: "resty.zookeeper: no method '\(method)'")
        }
        if async {
            startingAsync = true
            defer { startingAsync = false }
            return try call(declared.name, args)
        }
        switch method {
        case "connect": return try connect(args)
        case "set_timeout":
            timeoutMillis = try args.integer(0, range: 1...86_400_000)
            return .done([])
        case "add_auth": return try addAuth(args)
        case "exists":
            let path = try args.string(0)
            return submit(.exists(path: path, watch: false)) { result in
                switch result {
                case let .success(.stat(stat)): .done([.boolean(stat != nil)])
                case let .failure(error): LuaFormat.contractFailure(error)
                default: LuaFormat.failure("unexpected reply", .marshallingError)
                }
            }
        case "get_data":
            return submit(.getData(path: try args.string(0), watch: false)) { result in
                if case let .success(.data(data, _)) = result { return .done([.string(data)]) }
                return LuaFormat.contractFailure(result.error)
            }
        case "create": return try create(args)
        case "get_children":
            return submit(.getChildren(path: try args.string(0), watch: false, includeStat: false)) { result in
                if case let .success(.children(children, _)) = result { return .done([LuaFormat.strings(children)]) }
                return LuaFormat.contractFailure(result.error)
            }
        case "delete":
            let path = try args.string(0)
            let version = try args.integer(1, default: -1)
            return submit(.delete(path: path, version: Int32(version))) { result in
                if case .success = result { return .done([.boolean(true)]) }
                return LuaFormat.contractFailure(result.error)
            }
        case "watch": return try watch(args)
        case "close": return close()
        case "_debug": return .done([debugTable()])
        case "__field": return .done([field(try args.string(0))])
        case "__park":
            return .done([SessionKeepalive.park(self, poolName: try args.string(0)).map { .int($0) } ?? .nil])
        case "__take":
            guard zk == nil, keepalive != nil else { return .done([]) }
            // The settings connect() will use decide which sessions fit; connect checks them again.
            guard (try? applyConnectArguments(args)) != nil, let link = SessionKeepalive.take(for: self) else { return .done([]) }
            return .done(Self.values(of: link))
        case "__take_idle":
            guard let link = SessionKeepalive.takeIdle(for: self, all: try args.boolean(0)) else {
                return .done([.nil, .int(Int64(SessionKeepalive.count))])
            }
            return .done(Self.values(of: link))

        case "set_data":
            let path = try args.string(0)
            let data = try args.data(1)
            let version = try args.integer(2, default: -1)
            return submit(.setData(path: path, data: data, version: Int32(version)), format: statReply)
        case "stat":
            let path = try args.string(0)
            let (watch, ref) = try oneShotWatch(args, 1)
            return submit(.exists(path: path, watch: watch != nil), watch: watch) { [self] result in
                switch result {
                case let .success(.stat(stat?)): return .done([LuaFormat.stat(stat)])
                case .success(.stat(nil)): return .done([.boolean(false)])
                default: return failed(result, releasing: ref)
                }
            }
        case "get":
            let path = try args.string(0)
            let (watch, ref) = try oneShotWatch(args, 1)
            return submit(.getData(path: path, watch: watch != nil), watch: watch) { [self] result in
                if case let .success(.data(data, stat)) = result { return .done([.string(data), LuaFormat.stat(stat)]) }
                return failed(result, releasing: ref)
            }
        case "children":
            let path = try args.string(0)
            let (watch, ref) = try oneShotWatch(args, 1)
            return submit(.getChildren(path: path, watch: watch != nil, includeStat: true), watch: watch) { [self] result in
                if case let .success(.children(children, stat)) = result { return .done([LuaFormat.strings(children), stat.map(LuaFormat.stat) ?? .nil]) }
                return failed(result, releasing: ref)
            }
        case "get_acl":
            return submit(.getACL(path: try args.string(0))) { result in
                if case let .success(.acl(acl, stat)) = result { return .done([LuaFormat.acl(acl), LuaFormat.stat(stat)]) }
                return LuaFormat.failure(result.error)
            }
        case "set_acl":
            let path = try args.string(0)
            guard let acl = try args.acl(1) else { throw args.bad(1, "table expected, got nil") }
            let version = try args.integer(2, default: -1)
            return submit(.setACL(path: path, acl: acl, version: Int32(version)), format: statReply)
        case "multi": return try multi(args, read: false)
        case "multi_read": return try multi(args, read: true)
        case "sync":
            return submit(.sync(path: try args.string(0))) { result in
                if case .success = result { return .done([.boolean(true)]) }
                return LuaFormat.failure(result.error)
            }
        case "get_ephemerals":
            return submit(.getEphemerals(prefix: try args.optionalString(0) ?? "/")) { result in
                if case let .success(.paths(paths)) = result { return .done([LuaFormat.strings(paths)]) }
                return LuaFormat.failure(result.error)
            }
        case "get_all_children_number":
            return submit(.getAllChildrenNumber(path: try args.string(0))) { result in
                if case let .success(.count(count)) = result { return .done([.int(count)]) }
                return LuaFormat.failure(result.error)
            }
        case "who_am_i":
            return submit(.whoAmI) { result in
                if case let .success(.identities(identities)) = result {
                    return .done([.array(identities.map { .record(["scheme": .string($0.authScheme), "user": .string($0.user)]) })])
                }
                return LuaFormat.failure(result.error)
            }
        case "add_watch": return try addWatch(args)
        case "remove_watches", "check_watches":
            let path = try args.string(0)
            let type: WatcherType
            switch try args.optionalString(1) ?? "any" {
            case "data": type = .data
            case "children": type = .children
            case "any": type = .any
            case let other: throw args.bad(1, "\"data\", \"children\" or \"any\" expected, got \"\(other)\"")
            }
            let operation: Operation = method == "check_watches"
                ? .checkWatches(path: path, type: type) : .removeWatches(path: path, type: type, local: try args.boolean(2))
            return submit(operation) { result in
                if case .success = result { return .done([.boolean(true)]) }
                return LuaFormat.failure(result.error)
            }
        case "get_config":
            return submit(.getConfig(watch: false)) { result in
                if case let .success(.data(data, stat)) = result { return .done([.string(data), LuaFormat.stat(stat)]) }
                return LuaFormat.failure(result.error)
            }
        case "session_state":
            return .done([.string(sessionStateName)])
        case "on_state":
            guard let ref = try args.function(0, required: true) else { return .done([]) }
            stateRefs.append(ref)
            stateSince[ref] = mailbox.lastSequence()  // it hears the changes posted from now on
            mailbox.stateCallbackRegistered()
            keep(ref)
            return .done([.boolean(true)])
        case "dispatch": return try dispatch(args)
        case "batch": return try batch(args)
        case "retry": return try retry(args)
        case "read_write_lock", "semaphore", "barrier", "double_barrier": return try makeCoordination(method, args)
        case "lock", "election", "counter", "queue", "cache": return try makeRecipe(method, args)
        case _ where method.contains(":"): return try callRecipe(method, args)
        default:
            // Declared but not implemented: the core's bug (ZooKeeperLuaTests calls every one).
            throw BadArgument(message: "resty.zookeeper: method '\(method)' is not implemented")
        }
    }

    // MARK: Contract methods

    /// connect()'s optional connect string and session timeout, kept as the client's.
    private func applyConnectArguments(_ args: LuaArguments) throws(BadArgument) {
        if let text = try args.optionalString(0) { connectString = text }
        if !args[1].isNil { sessionTimeoutMillis = try args.integer(1, range: 1...86_400_000) }
    }

    private static func values(of link: SessionKeepalive.Link) -> [LuaValue] {
        [.int(Int64(link.link)), .string(Array(link.host.utf8)), .int(Int64(link.port)), .string(Array(link.poolName.utf8))]
    }

    private func connect(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let before = (connectString, sessionTimeoutMillis)
        try applyConnectArguments(args)
        if connectString.utf8.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            return LuaFormat.failure("empty connect string", .badArguments)
        }
        if let zk, zk.state.isConnected { return .done([.boolean(true)]) }
        // A session that is reconnecting is kept and waited for: closing it would drop its
        // ephemerals and watches for a new session (unless other servers were asked for).
        if let zk, !zk.state.isTerminal, before == (connectString, sessionTimeoutMillis) {
            return awaitConnected(zk, givingUpCloses: false, statesBefore: mailbox.stateCount())
        }
        let parsed: ConnectString
        do { parsed = try ParsedConnectStrings.parse(connectString) } catch {
            return LuaFormat.failure("connect failed: \(error.reason)", .badArguments)
        }
        let client = LuaSession(
            connectString: parsed, sessionTimeout: sessionTimeoutMillis,
            connectTimeout: max(500, timeoutMillis / Int64(parsed.hosts.count)), maxFrameLength: maxFrameBytes, hostedIO: hostedIO,
            // An nginx per-request driver reads the session's own link only: no questions.
            sasl: sasl, tls: tls, readOnly: readOnly, asksReadWrite: !hostedIO || shared)
        zk?.beginClose()
        zk = client
        if let hosted = client.hosted { io.adopt(hosted) }
        closedByUser = false
        let statesBefore = mailbox.stateCount()
        observeState(of: client)
        resumeCaches()
        return awaitConnected(client, givingUpCloses: true, statesBefore: statesBefore)
    }

    /// Waits, within the client's timeout, until `client` is connected or its session ended.
    /// `givingUpCloses`: a session that did not connect in time is closed (a fresh one).
    private func awaitConnected(_ client: LuaSession, givingUpCloses: Bool, statesBefore: UInt64) -> Outcome {
        let mailbox = self.mailbox
        let watching = ObservationBox()
        let ticket = makeTicket(deadline: monotonicNow() + timeoutMillis, isReady: { news, _ in
            news.contains { if case let .session(event) = $0 { event != .connecting && event != .disconnected } else { false } }
        }) { [self] news, _ in
            watching.observation?.cancel()
            let outcome = news.lazy.compactMap { news -> SessionEvent? in if case let .session(e) = news { e } else { nil } }.first { $0 != .connecting && $0 != .disconnected }
            // Queue the on_state callbacks of this change before connect returns.
            if let outcome { mailbox.waitForState(after: statesBefore, until: monotonicNow() + 250) { $0 == outcome } }
            switch outcome {
            case .connected?, .reconnected?, .connectedReadOnly?:
                if debug, let response = client.lastConnectResponse { logLines += LuaFormat.handshakeLines(response) }
                return .done([.boolean(true)])
            case let event?:
                let code: ErrorCode = switch event {
                case .expired: .sessionExpired
                case .authFailed: .authFailed
                default: .closed
                }
                if let reason = client.endReason { return LuaFormat.failure("connect failed: \(reason.message)", code) }
                return LuaFormat.failure("connect failed: session \(LuaFormat.stateName(client.state)) (\(event))", code)
            case nil:
                if givingUpCloses { client.beginClose() }
                return LuaFormat.failure("connect failed: timeout", .operationTimeout)
            }
        }
        let id = ticket.id
        watching.observation = client.onStateChange { event in mailbox.post(.session(event), ticket: id) }
        // The session runs on the poller meanwhile: it may have connected, or ended (a refused
        // certificate, say), before the observer was there to hear it.
        if let settled = SessionEvent(settled: client.state) { mailbox.post(.session(settled), ticket: id) }
        return .wait(ticket)
    }

    private func addAuth(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let scheme = try args.string(0)
        let credentials = try args.data(1)
        authCount += 1
        return submit(.addAuth(scheme: scheme, credentials: credentials)) { result in
            if case .success = result { return .done([.boolean(true)]) }
            let error = result.error
            let message = switch error.code {
            case .closed, .sessionExpired: LuaFormat.contractMessage(error)
            default: "auth failed, err=\(error.code.rawValue)"
            }
            return LuaFormat.failure(message, error.code)
        }
    }

    private func create(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let data = try args.data(1)
        let modeName = try args.optionalString(2)
        let sequential = try args.boolean(3)
        let options = try args.table(4)
        guard let mode = LuaArguments.createMode(modeName, sequential: sequential) else {
            throw args.bad(2, "invalid mode \"\(modeName ?? "")\": persistent, ephemeral, container or persistent_ttl expected")
        }
        var acl = Ids.openACLUnsafe
        var ttl: Int64?
        var protected = false
        if let options {
            var fields = LuaArguments(method: args.method, values: [options["acl"], options["protected"]])
            fields.nested = (number: 6, fields: ["acl", "protected"], prefix: "opts.")
            if let list = try fields.acl(0) { acl = list }
            if let value = options.number("ttl") { ttl = Int64(exactly: value.rounded()) }
            protected = try fields.boolean(1)
        }
        if protected {
            // Curator's protection: after a lost answer the node is found again, not made twice.
            guard ttl == nil, !mode.isTTL else { throw args.bad(4, "opts.protected does not take a ttl") }
            return protectedCreate(path: path, data: data, mode: mode, acl: acl)
        }
        return submit(.create(path: path, data: data, acl: acl, mode: mode, ttl: ttl)) { result in
            if case let .success(.created(created, _)) = result { return .done([.string(created)]) }
            return LuaFormat.contractFailure(result.error, creating: true)
        }
    }

    /// The contract's blocking watch: set the watch, then wait for the session's next watch
    /// event, all within the client's timeout.
    private func watch(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let kind = try args.optionalString(1) ?? "exists"
        let mailbox = self.mailbox
        let ownEvents = shared
        let ticketBox = TicketBox()
        let notify: SessionListeners.WatchHandler = { event in
            guard event.type != .none || event.state != .closed else { return }
            if !ownEvents {
                mailbox.post(watchEvent: event)
            } else if ticketBox.id != 0 {  // a watch() that gave up is not answered any more
                mailbox.post(.watchEvent(event), ticket: ticketBox.id)
            }
        }
        let operation: Operation
        switch kind {
        case "exists": operation = .exists(path: path, watch: true)
        case "get_data": operation = .getData(path: path, watch: true)
        case "get_children": operation = .getChildren(path: path, watch: true, includeStat: false)
        default: return LuaFormat.failure("invalid watch kind: \(kind)", .badArguments)
        }
        guard let zk, !zk.state.isTerminal else { return LuaFormat.contractFailure(sessionEndedError) }
        if !ownEvents { while mailbox.takeWatchEvent() != nil {} }  // only events after this call count
        requestCount += 1
        let ticket = makeTicket(deadline: monotonicNow() + timeoutMillis, isReady: { news, events in
            guard case let .operation(result)? = news.first else { return false }
            if case .failure = result { return true }
            return ownEvents ? news.count > 1 : !events.isEmpty
        }) { news, _ in
            ticketBox.id = 0
            if case let .operation(.failure(error))? = news.first { return LuaFormat.contractFailure(error) }
            let event = ownEvents
                ? news.lazy.compactMap { if case let .watchEvent(event) = $0 { event } else { nil } }.first
                : mailbox.takeWatchEvent()
            guard let event else { return LuaFormat.failure("timeout", .operationTimeout) }
            return .done([LuaFormat.event(event)])
        }
        let id = ticket.id
        ticketBox.id = id
        zk.submit(operation, watch: notify, timeout: .milliseconds(timeoutMillis)) { result in
            mailbox.post(.operation(result), ticket: id)
        }
        return .wait(ticket)
    }

    private func close() -> Outcome {
        guard let zk else { return .done([.boolean(true)]) }
        self.zk = nil
        closedByUser = true
        if zk.state.isTerminal { return .done([.boolean(true)]) }
        let mailbox = self.mailbox
        let statesBefore = mailbox.stateCount()
        let ticket = makeTicket(deadline: monotonicNow() + 3_000, isReady: { news, _ in !news.isEmpty }) { _, _ in
            // Queue the on_state callbacks of the session's end before close returns.
            mailbox.waitForState(after: statesBefore, until: monotonicNow() + 250) { $0 == .closed || $0 == .expired || $0 == .authFailed }
            return .done([.boolean(true)])
        }
        let id = ticket.id
        zk.beginClose { mailbox.post(.session(.closed), ticket: id) }
        return .wait(ticket)
    }

    /// What session_state() answers.
    var sessionStateName: String {
        zk.map { LuaFormat.stateName($0.state) } ?? (closedByUser ? "closed" : "not_connected")
    }

    /// Names session_state() answers with no session.
    static let stateNamesWithoutSession = ["closed", "not_connected"]

    private func debugTable() -> LuaValue {
        let state: LuaValue = .string(sessionStateName)
        let sessionId: LuaValue = zk.map { LuaFormat.id($0.sessionId) } ?? .nil
        let timeout: LuaValue = .int(zk?.sessionTimeout.millis ?? sessionTimeoutMillis)
        let lastZxid: LuaValue = zk.map { LuaFormat.id($0.lastZxid) } ?? .nil
        let server: LuaValue = zk?.currentHost.map { LuaValue.string("\($0)") } ?? .nil
        return .record([
            "session_state": state, "session_id": sessionId, "session_timeout": timeout,
            "connect_string": .string(connectString), "xid": .int(requestCount), "auth_set": .boolean(authCount > 0),
            "last_zxid": lastZxid, "server": server,
        ])
    }

    private func field(_ name: String) -> LuaValue {
        // Diagnostics beyond the contract's _debug(): calls started and not yet finished, and
        // those given up (async handles collected unwaited) whose answers are still due.
        if name == "_pending_calls" { return .int(tickets.count) }
        if name == "_abandoned_calls" { return .int(abandonedTickets.count) }
        guard let zk, zk.sessionId != 0 else { return name == "connect_string" ? .string(connectString) : .nil }
        switch name {
        case "session_id": return LuaFormat.id(zk.sessionId)
        case "session_timeout": return .int(zk.sessionTimeout.millis)
        case "session_passwd": return .string(zk.sessionPassword)
        case "connect_string": return .string(connectString)
        default: return .nil
        }
    }

    // MARK: Beyond the contract

    /// A one-shot watch callback at `index`, if given: the SessionListeners.WatchHandler and its reference.
    private func oneShotWatch(_ args: LuaArguments, _ index: Int) throws(BadArgument) -> (SessionListeners.WatchHandler?, Int32?) {
        guard let ref = try args.function(index) else { return (nil, nil) }
        keep(ref)
        return (watchCallback(ref: ref, persistent: false), ref)
    }

    /// A failed request's watch was never set: hand its callback back.
    private func failed(_ result: Result<OperationResult, ZooKeeperError>, releasing ref: Int32?) -> Outcome {
        if let ref { release(ref) }
        return LuaFormat.failure(result.error)
    }

    private func statReply(_ result: Result<OperationResult, ZooKeeperError>) -> Outcome {
        if case let .success(.stat(stat?)) = result { return .done([LuaFormat.stat(stat)]) }
        return LuaFormat.failure(result.error)
    }

    private func addWatch(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let mode: AddWatchMode
        switch try args.optionalString(1) ?? "persistent" {
        case "persistent": mode = .persistent
        case "persistent_recursive", "recursive": mode = .persistentRecursive
        case let other: throw args.bad(1, "\"persistent\" or \"persistent_recursive\" expected, got \"\(other)\"")
        }
        guard let ref = try args.function(2, required: true) else { return .done([]) }
        keep(ref)
        return submit(.addWatch(path: path, mode: mode), watch: watchCallback(ref: ref, persistent: true), persistent: true) { [self] result in
            if case .success = result { return .done([.boolean(true)]) }
            return failed(result, releasing: ref)
        }
    }

    private func multi(_ args: LuaArguments, read: Bool) throws(BadArgument) -> Outcome {
        guard let table = try args.table(0), let entries = table.arrayElements, !entries.isEmpty else {
            throw args.bad(0, "a non-empty array of operations expected")
        }
        var operations: [MultiOperation] = []
        for (i, entry) in entries.enumerated() {
            var op = LuaArguments(method: args.method, values: [entry["path"], entry["data"], entry["version"], entry["acl"]])
            op.nested = (number: 2, fields: ["path", "data", "version", "acl"], prefix: "operation \(i + 1) ")
            let name = entry.text("op") ?? entry.text("type") ?? ""
            func path() throws(BadArgument) -> String {
                guard entry["path"] != .nil else { throw args.bad(0, "operation \(i + 1) needs a path") }
                return try op.string(0)
            }
            switch (name, read) {
            case ("create", false):
                guard let mode = LuaArguments.createMode(entry.text("mode"), sequential: entry["sequential"] == .boolean(true)), !mode.isTTL else {
                    throw args.bad(0, "operation \(i + 1): invalid create mode")
                }
                let request = CreateRequest(path: try path(), data: try op.data(1), acl: try op.acl(3) ?? Ids.openACLUnsafe, mode: mode)
                operations.append(mode.isContainer ? .createContainer(request) : .create(request))
            case ("delete", false):
                operations.append(.delete(DeleteRequest(path: try path(), version: Int32(try op.integer(2, default: -1)))))
            case ("set_data", false), ("set", false):
                operations.append(.setData(SetDataRequest(path: try path(), data: try op.data(1), version: Int32(try op.integer(2, default: -1)))))
            case ("check", false):
                operations.append(.check(CheckVersionRequest(path: try path(), version: Int32(try op.integer(2, default: -1)))))
            case ("get_data", true), ("get", true):
                operations.append(.getData(GetDataRequest(path: try path())))
            case ("get_children", true), ("children", true):
                operations.append(.getChildren(GetChildrenRequest(path: try path())))
            default:
                throw args.bad(0, "operation \(i + 1): unknown op \"\(name)\" for \(read ? "multi_read (get_data, get_children)" : "multi (create, delete, set_data, check)")")
            }
        }
        return submit(read ? .multiRead(operations) : .multi(operations)) { result in
            switch result {
            case let .success(.multi(results)): return .done([.array(results.map(LuaFormat.multiResult))])
            case let .failure(error):
                return .done([.nil, .string(LuaFormat.message(error)), .int(error.code.rawValue), error.results.map { .array($0.map(LuaFormat.multiResult)) } ?? .nil])
            default: return LuaFormat.failure("unexpected reply", .marshallingError)
            }
        }
    }

    /// Pipelining from one Lua thread: `batch{ {"exists", p1}, {"get_data", p2}, ... }` sends
    /// every request at once and answers an array whose element i packs what call i would have
    /// returned on its own (`{ n = count, ... }`).
    private func batch(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        guard let list = try args.table(0), let calls = list.arrayElements, !calls.isEmpty else {
            throw args.bad(0, "a non-empty array of calls expected")
        }
        var started: [Ticket] = []
        var slots: [Either] = []
        for (index, call) in calls.enumerated() {
            guard let elements = call.arrayElements, case let .string(nameBytes)? = elements.first else {
                abandon(started)
                throw args.bad(0, "call \(index + 1): { method, arguments... } expected")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard LuaMethod.named(name)?.flags.contains(.batchable) == true else {
                abandon(started)
                throw args.bad(0, "call \(index + 1): \"\(name)\" cannot be batched")
            }
            let outcome: Outcome
            do {
                outcome = try self.call(name, LuaArguments(method: name, values: Array(elements.dropFirst())))
            } catch {
                abandon(started)
                throw BadArgument(message: "\(error.message) (call \(index + 1) of batch)")
            }
            switch outcome {
            case let .wait(ticket):
                tickets[ticket.id] = nil  // answered through the batch
                started.append(ticket)
                slots.append(.ticket(started.count - 1))
            case let .done(values): slots.append(.done(values))
            case let .raise(message):
                abandon(started)
                throw BadArgument(message: "\(message) (call \(index + 1) of batch)")
            }
        }
        let composite = makeTicket(deadline: started.map(\.deadline).max() ?? monotonicNow(), isReady: { _, _ in true }) { _, _ in .done([]) }
        for part in started { tickets[part.id] = part }
        composite.parts = started
        for part in started { part.batch = composite.id }
        composite.combine = { outcomes in
            .done([.array(slots.map { slot -> LuaValue in
                let values: [LuaValue]
                switch slot {
                case let .done(done): values = done
                case let .ticket(index):
                    if case let .done(answer) = outcomes[index] { values = answer } else { values = [.nil, .string("failed")] }
                }
                return .table([(.string("n"), .int(values.count))] + values.enumerated().map { (.number(Double($0.offset + 1)), $0.element) })
            })])
        }
        return .wait(composite)
    }

    private enum Either {
        case done([LuaValue])
        case ticket(Int)
    }

    /// Requests of a batch that failed half way: their answers are dropped when they come.
    private func abandon(_ started: [Ticket]) {
        for ticket in started where ticket.answer == nil { abandonedTickets.append((ticket.id, ticket.deadline)) }
    }

    /// Runs due callbacks, waiting up to `ms` (default 0) for the first. Returns the number of
    /// callbacks run.
    private func dispatch(_ args: LuaArguments) throws(BadArgument) -> Outcome {
        let wait = try args.integer(0, default: 0, range: 0...86_400_000)
        let start = callbacksRun
        let ticket = makeTicket(deadline: monotonicNow() + wait, isReady: { [unowned self] _, _ in callbacksRun > start }) { [unowned self] _, _ in
            .done([.int(callbacksRun - start)])
        }
        ticket.readyWithoutNews = true
        return .wait(ticket)
    }
}

/// The ticket a watch's events go to, known once the ticket exists.
private final class TicketBox: @unchecked Sendable {
    var id: UInt64 = 0
}

/// Holds a state observation for the closure that ends it.
private final class ObservationBox {
    var observation: SessionObservation?
}

extension Duration {
    var millis: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Result where Failure == ZooKeeperError {
    /// The error of a failed result (a success read as an error is the core's bug).
    var error: ZooKeeperError {
        if case let .failure(error) = self { return error }
        return ZooKeeperError(.marshallingError, message: "unexpected reply")
    }
}
