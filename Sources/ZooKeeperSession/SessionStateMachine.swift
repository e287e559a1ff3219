import DequeModule
import ZooKeeperProtocol

/// A ZooKeeper session without I/O: events in (connection news, bytes, time, requests), actions
/// out (connect, send, close, completions, watch and state events). One driver per session feeds
/// it from one thread at a time; the driver owns sockets and clocks, this owns the protocol.
public struct SessionStateMachine: Sendable {
    /// How the session connects and keeps itself.
    public let configuration: SessionConfiguration
    private var chroot: Chroot { configuration.connectString.chroot }

    // The session.
    public private(set) var state: SessionState = .connecting
    public private(set) var sessionId: Int64
    public private(set) var password: [UInt8]
    /// The negotiated timeout, once a server answered; the requested one before.
    public private(set) var sessionTimeout: Millis
    public private(set) var lastZxid: Int64 = 0
    /// The server's answer to the latest handshake (for diagnostics; it holds the password).
    public private(set) var lastConnectResponse: ConnectResponse?
    /// Why the session ended, once it has (its message says more than the state).
    public private(set) var endReason: ZooKeeperError?
    /// Whether a server ever accepted this session (from then on it can expire).
    private var established = false
    private var everConnected = false
    private var lastHeard: Millis = 0

    // The connection.
    private enum Link {
        case none
        /// Waiting before the next round of hosts.
        case pausing(until: Millis)
        case opening(ConnectionID, deadline: Millis)
        case handshaking(ConnectionID, deadline: Millis)
        /// Handshake done, SASL under way (its reply comes as `xid`): everything else waits.
        case authenticating(ConnectionID, deadline: Millis, xid: Int32)
        case open(ConnectionID)
    }
    private var sasl: SASLExchange?
    /// What the ConnectResponse said, announced once SASL is through; `rewatch`: the session's
    /// watches go to the server again (a reconnect, or a new session replacing a read-only one).
    private var accepted = (isReconnect: false, readOnly: false, rewatch: false)
    /// Looks for a read-write server while the session is on a read-only one.
    private var readWrite: ReadWriteSearch
    private var link: Link = .none
    private var nextConnection: ConnectionID = 1
    private var hosts: [HostAddress]
    private var hostIndex = -1
    private var attemptsThisRound = 0
    public private(set) var currentHost: HostAddress?
    private var decoder: FrameDecoder
    private var lastSent: Millis = 0
    private var closingDeadline: Millis?
    private var started = false

    // Requests.
    private struct Pending: Sendable {
        var id: RequestID
        var operation: Operation
        var watcher: WatcherID?
        var deadline: Millis
    }
    private enum InFlight: Sendable {
        case request(xid: Int32, Pending?)
        case setWatches(xid: Int32)
        case closeSession(xid: Int32)

        var xid: Int32 {
            switch self {
            case let .request(xid, _), let .setWatches(xid), let .closeSession(xid): xid
            }
        }
    }
    private var queued = Deque<Pending>()
    private var inFlight = Deque<InFlight>()
    /// Waiters of auth replies (nil for replays after a reconnect), answered in order.
    private var authWaiters = Deque<Pending?>()
    /// Every auth sent, replayed after a reconnect.
    private var auths: [AuthPacket] = []
    private var nextRequestID: RequestID = 1
    private var nextXid: Int32 = 1
    /// No pending request has a deadline before this (it may be earlier than needed).
    private var earliestRequestDeadline: Millis = .max

    public private(set) var watches = WatchRegistry()
    /// Whether a request ever asked for something only this session owns on the server (an
    /// ephemeral, a watch, an added identity): such a session cannot serve another owner.
    private var boundToOwner = false

    // Output of the current input.
    private var actions: [SessionAction] = []
    private var outgoing: [UInt8] = []

    /// A session that starts with `start(now:)`; the host list is shuffled here.
    public init(configuration: SessionConfiguration) {
        self.configuration = configuration
        sessionId = configuration.sessionId
        password = configuration.password
        sessionTimeout = configuration.sessionTimeout
        established = configuration.sessionId != 0
        decoder = FrameDecoder(maxFrameLength: configuration.maxFrameLength)
        var hosts = configuration.connectString.hosts
        if let seed = configuration.shuffleSeed {
            var rng = SeededGenerator(seed: seed)
            hosts.shuffle(using: &rng)
        } else {
            hosts.shuffle()
        }
        self.hosts = hosts
        readWrite = ReadWriteSearch(seenReadWrite: configuration.sessionId != 0, maxInterval: configuration.maxReadWriteProbeInterval,
                                    asks: configuration.asksReadWrite)
    }

    /// Reads are dead after two thirds of the session timeout without a frame.
    public var readTimeout: Millis { sessionTimeout * 2 / 3 }
    /// Idle connections ping after a third of it.
    public var pingInterval: Millis { sessionTimeout / 3 }
    /// Requests queued or awaiting a reply.
    public var pendingCount: Int { queued.count + inFlight.count + authWaiters.count }
    /// Whether the session could serve another owner as if it were new: connected to a server
    /// that writes, idle, not closing, and never asked for anything that only it owns (an
    /// ephemeral node, a watch, an added identity). nginx keeps such sessions between requests.
    public var isReusable: Bool {
        state == .connected && isConnectionOpen && pendingCount == 0 && watches.isEmpty && !boundToOwner && closingDeadline == nil
    }
    /// Whether a handshake completed on the current connection.
    public var isConnectionOpen: Bool { if case .open = link { true } else { false } }

    // MARK: Inputs

    /// Begins connecting.
    public mutating func start(now: Millis) -> [SessionAction] {
        guard !started, state == .connecting else { return [] }
        started = true
        lastHeard = now
        emitState(.connecting)
        connectNextHost(now: now)
        return flush()
    }

    /// The TCP connection is up: send the handshake.
    public mutating func connectionEstablished(_ connection: ConnectionID, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            actions += readWrite.probeEstablished()
            return flush()
        }
        guard case let .opening(current, _) = link, current == connection else { return [] }
        decoder = FrameDecoder(maxFrameLength: configuration.maxFrameLength)
        link = .handshaking(connection, deadline: now.addingSaturating(configuration.connectTimeout))
        // A session only read-only servers have seen has an id they made up, which no
        // read-write server knows: ask for a new one instead (as the Java client does).
        let request = ConnectRequest(
            protocolVersion: 0, lastZxidSeen: lastZxid, timeOut: Int32(clamping: configuration.sessionTimeout),
            sessionId: readWrite.seenReadWrite ? sessionId : 0, passwd: password, readOnly: configuration.canBeReadOnly)
        queue(FrameEncoder.connectFrame(request))
        lastSent = now
        return flush()
    }

    /// The TCP connection could not be opened.
    public mutating func connectionFailed(_ connection: ConnectionID, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            probeEnded(readWrite.probeLost(now: now), now: now)
            return flush()
        }
        guard case let .opening(current, _) = link, current == connection else { return [] }
        link = .none
        connectNextHost(now: now)
        return flush()
    }

    /// The connection cannot authenticate and retrying would not help (a TLS certificate that
    /// fails verification, either way): the session ends as authFailed, with `message`.
    public mutating func connectionRefused(_ connection: ConnectionID, message: String, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            probeEnded(readWrite.probeLost(now: now), now: now)
            return flush()
        }
        guard let current = currentConnection, current == connection else { return [] }
        terminate(.authFailed, code: .authFailed, message: message)
        return flush()
    }

    /// The server closed the connection, or it broke.
    public mutating func connectionClosed(_ connection: ConnectionID, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            probeEnded(readWrite.probeLost(now: now), now: now)
            return flush()
        }
        guard let current = currentConnection, current == connection else { return [] }
        link = .none
        if closingDeadline != nil {
            finishClose()
        } else {
            lostConnection(now: now, close: false)
        }
        return flush()
    }

    /// Bytes from the server.
    public mutating func bytesReceived(_ bytes: some Sequence<UInt8>, connection: ConnectionID, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            if let outcome = readWrite.probeReceived(bytes, now: now) {
                actions.append(.closeConnection(connection))
                probeEnded(outcome, now: now)
            }
            return flush()
        }
        guard let current = currentConnection, current == connection else { return [] }
        decoder.append(bytes)
        processFrames(now: now)
        return flush()
    }

    /// Bytes from the server, without a copy into an intermediate array.
    public mutating func bytesReceived(_ bytes: UnsafeRawBufferPointer, connection: ConnectionID, now: Millis) -> [SessionAction] {
        if readWrite.isProbe(connection) {
            if let outcome = readWrite.probeReceived(bytes, now: now) {
                actions.append(.closeConnection(connection))
                probeEnded(outcome, now: now)
            }
            return flush()
        }
        guard let current = currentConnection, current == connection else { return [] }
        decoder.append(bytes)
        processFrames(now: now)
        return flush()
    }

    /// Time passed: pings, dead connections, connect and request timeouts, local expiry.
    public mutating func tick(now: Millis) -> [SessionAction] {
        if established && !state.isTerminal && !isConnectionOpen && now - lastHeard >= sessionTimeout {
            terminate(.expired, code: .sessionExpired)
            return flush()
        }
        switch link {
        case let .opening(connection, deadline), let .handshaking(connection, deadline), let .authenticating(connection, deadline, _):
            if now >= deadline {
                actions.append(.closeConnection(connection))
                link = .none
                if closingDeadline != nil { finishClose() } else { connectNextHost(now: now) }
            }
        case let .pausing(until):
            if now >= until {
                link = .none
                connectNextHost(now: now)
            }
        case .open:
            if now - lastHeard >= readTimeout {
                lostConnection(now: now, close: true)
            } else if now - lastSent >= pingInterval && closingDeadline == nil {
                queue(FrameEncoder.pingFrame())
                lastSent = now
            }
        case .none:
            break
        }
        if let closingDeadline, now >= closingDeadline { finishClose() }
        if now >= earliestRequestDeadline { expireRequests(now: now) }
        if state == .connectedReadOnly, closingDeadline == nil, isConnectionOpen {
            let (probeActions, outcome) = readWrite.tick(now: now, hosts: hosts, current: hostIndex, nextConnection: &nextConnection,
                                                        timeout: configuration.connectTimeout)
            actions += probeActions
            probeEnded(outcome, now: now)
        }
        return flush()
    }

    /// When `tick` should next be called (nil: nothing is scheduled).
    public func nextDeadline() -> Millis? {
        var next: Millis = earliestRequestDeadline
        switch link {
        case let .opening(_, deadline), let .handshaking(_, deadline), let .authenticating(_, deadline, _): next = min(next, deadline)
        case let .pausing(until): next = min(next, until)
        case .open:
            next = min(next, lastHeard.addingSaturating(readTimeout))
            if closingDeadline == nil { next = min(next, lastSent.addingSaturating(pingInterval)) }
        case .none: break
        }
        if let closingDeadline { next = min(next, closingDeadline) }
        if state == .connectedReadOnly, let probe = readWrite.nextDeadline { next = min(next, probe) }
        if established && !state.isTerminal && !isConnectionOpen { next = min(next, lastHeard.addingSaturating(sessionTimeout)) }
        return next == .max ? nil : next
    }

    /// Submits a request; its completion comes as an action (possibly among the returned ones).
    /// A request that sets a watch needs a `watcher`.
    public mutating func submit(_ operation: Operation, watcher: WatcherID? = nil, timeout: Millis, now: Millis) -> (RequestID, [SessionAction]) {
        let id = nextRequestID
        nextRequestID += 1
        let pending = Pending(id: id, operation: operation, watcher: watcher, deadline: now.addingSaturating(max(0, timeout)))
        if watcher != nil || operation.bindsToSession { boundToOwner = true }
        if let error = refusal(for: operation, watcher: watcher) {
            actions.append(.complete(id, .failure(error)))
        } else if case let .removeWatches(path, type, true) = operation {
            removeLocalWatches(path: path, type: type, request: id)
        } else {
            queued.append(pending)
            earliestRequestDeadline = min(earliestRequestDeadline, pending.deadline)
            sendQueued(now: now)
        }
        return (id, flush())
    }

    /// Gives a request up (its caller stopped waiting): no completion comes for it. A queued
    /// request is never sent; one in flight has its reply dropped, so a watch it asked for is
    /// not registered here (the server's copy fires once into nothing, or is gone after a
    /// reconnect).
    public mutating func cancel(_ id: RequestID) -> [SessionAction] {
        queued.removeAll { $0.id == id }
        for index in inFlight.indices {
            if case let .request(xid, pending?) = inFlight[index], pending.id == id { inFlight[index] = .request(xid: xid, nil) }
        }
        for index in authWaiters.indices where authWaiters[index]?.id == id { authWaiters[index] = nil }
        return flush()
    }

    /// Forgets `watcher` wherever it is registered (its owner stopped listening). Whether the
    /// server's watches on a path are still wanted: `watches.has(path:type:)`.
    public mutating func forgetWatcher(_ watcher: WatcherID) {
        watches.remove(watcher: watcher)
    }

    /// Ends the session: closeSession when connected (so ephemerals go at once), then closed.
    public mutating func close(now: Millis, timeout: Millis = 2_000) -> [SessionAction] {
        guard !state.isTerminal, closingDeadline == nil else { return flush() }
        failQueued(ZooKeeperError.closed())
        if case .open = link, state.isConnected {
            closingDeadline = now.addingSaturating(max(0, timeout))
            let xid = takeXid()
            inFlight.append(.closeSession(xid: xid))
            queue(FrameEncoder.requestFrame(xid: xid, opCode: .closeSession, body: EmptyRecord()))
            lastSent = now
        } else {
            finishClose()
        }
        return flush()
    }

    // MARK: Connecting

    /// The connection the machine is using or opening, if any.
    public var currentConnection: ConnectionID? {
        switch link {
        case let .opening(id, _), let .handshaking(id, _), let .authenticating(id, _, _), let .open(id): id
        case .none, .pausing: nil
        }
    }

    /// Whether `connection` is one the machine still wants: its current one, or the one asking
    /// another server whether it serves writes.
    public func wants(_ connection: ConnectionID) -> Bool {
        connection == currentConnection || readWrite.isProbe(connection)
    }

    /// A probe ended: on a read-write answer the session moves to that server (in-flight
    /// requests fail with connectionLoss, as with any lost connection, and are retryable).
    private mutating func probeEnded(_ outcome: ReadWriteSearch.Outcome?, now: Millis) {
        guard case let .readWrite(index) = outcome, state == .connectedReadOnly, closingDeadline == nil else { return }
        hostIndex = (index + hosts.count - 1) % hosts.count
        attemptsThisRound = 0
        lostConnection(now: now, close: true)
    }

    private mutating func connectNextHost(now: Millis) {
        guard !state.isTerminal else { return }
        guard !hosts.isEmpty else { return terminate(.closed, code: .connectionLoss) }
        if attemptsThisRound >= hosts.count {
            attemptsThisRound = 0
            if configuration.reconnectPause > 0 {
                link = .pausing(until: now.addingSaturating(configuration.reconnectPause))
                return
            }
        }
        attemptsThisRound += 1
        hostIndex = (hostIndex + 1) % hosts.count
        let host = hosts[hostIndex]
        currentHost = host
        let id = nextConnection
        nextConnection += 1
        link = .opening(id, deadline: now.addingSaturating(configuration.connectTimeout))
        actions.append(.connect(host, id))
    }

    /// The connection is gone (or judged dead): in-flight requests fail with connectionLoss,
    /// since they may or may not have happened; queued ones wait for the next server.
    private mutating func lostConnection(now: Millis, close: Bool) {
        // Closing: there is nothing to reconnect for.
        if closingDeadline != nil { return finishClose() }
        if close, let connection = currentConnection { actions.append(.closeConnection(connection)) }
        actions += readWrite.stop()
        link = .none
        outgoing.removeAll()
        let wasConnected = state.isConnected
        failInFlight(ZooKeeperError(.connectionLoss))
        if wasConnected {
            state = .connecting
            emitState(.disconnected)
        }
        connectNextHost(now: now)
    }

    private mutating func handshake(_ frame: JuteReader, connection: ConnectionID, now: Millis) throws(ProtocolError) {
        let response = try ConnectResponse.decode(exactly: frame)
        lastConnectResponse = response
        if response.isSessionExpired {
            terminate(.expired, code: .sessionExpired)
            return
        }
        let isReconnect = everConnected && response.sessionId == sessionId
        accepted = (isReconnect, response.readOnly == true, everConnected)
        sessionId = response.sessionId
        password = response.passwd
        sessionTimeout = Millis(response.timeOut)
        established = true
        everConnected = true
        attemptsThisRound = 0
        if let configuration = configuration.sasl {
            var exchange = SASLExchange(configuration)
            let step = exchange.start()
            sasl = exchange
            advanceSASL(step, connection: connection, deadline: now.addingSaturating(self.configuration.connectTimeout), now: now)
        } else {
            open(connection, now: now)
        }
    }

    /// The connection carries requests from now on: announce it, then auth, watches, the queue.
    private mutating func open(_ connection: ConnectionID, now: Millis) {
        link = .open(connection)
        let (isReconnect, readOnly, rewatch) = accepted
        state = readOnly ? .connectedReadOnly : .connected
        readWrite.connected(readOnly: readOnly, hostCount: hosts.count, now: now)
        emitState(readOnly ? .connectedReadOnly : (isReconnect ? .reconnected : .connected))
        // Auth first, then watches, then whatever waited: the server runs them in this order.
        for auth in auths {
            authWaiters.append(nil)
            queue(FrameEncoder.requestFrame(xid: Xid.auth, opCode: .auth, body: auth))
        }
        if rewatch { sendSetWatches() }
        sendQueued(now: now)
        lastSent = now
    }

    /// A SASL reply (only pings may come between: nothing else was sent).
    private mutating func saslReply(_ reader: inout JuteReader, now: Millis) throws(ProtocolError) {
        guard case let .authenticating(connection, deadline, xid) = link, var exchange = sasl else { return }
        let header = try ReplyHeader.decode(from: &reader)
        if header.xid == Xid.ping { return }
        guard header.xid == xid else { throw .invalidValue(field: "ReplyHeader.xid (during SASL)", value: Int64(header.xid)) }
        let token = header.err == 0 ? try SetSASLResponse.decode(from: &reader).token : nil
        let step = exchange.receive(error: header.error, token: token)
        sasl = exchange
        advanceSASL(step, connection: connection, deadline: deadline, now: now)
    }

    private mutating func advanceSASL(_ step: SASLExchange.Step, connection: ConnectionID, deadline: Millis, now: Millis) {
        switch step {
        case let .send(token):
            let xid = takeXid()
            link = .authenticating(connection, deadline: deadline, xid: xid)
            queue(FrameEncoder.requestFrame(xid: xid, opCode: .sasl, body: GetSASLRequest(token: token)))
            lastSent = now
        case .done:
            sasl = nil
            open(connection, now: now)
        case let .failed(message):
            sasl = nil
            terminate(.authFailed, code: .authFailed, message: message)
        }
    }

    private mutating func sendSetWatches() {
        let (registry, chroot) = (watches, chroot)
        let kinds: [WatchKind] = [.data, .exist, .child, .persistent, .persistentRecursive]
        // The config node is outside any chroot (getConfig never prefixes it).
        var lists = kinds.map { kind in
            registry.paths(kind).map { kind == .data && $0 == ZooKeeperPaths.config ? $0 : chroot.serverPath($0) }
        }
        while lists.contains(where: { !$0.isEmpty }) {
            var batch: [[String]] = Array(repeating: [], count: lists.count)
            var bytes = 0
            fill: for index in lists.indices {
                while let path = lists[index].first {
                    let size = 4 + path.utf8.count
                    if bytes > 0 && bytes + size > configuration.setWatchesBatchBytes { break fill }
                    bytes += size
                    batch[index].append(path)
                    lists[index].removeFirst()
                }
            }
            let xid = Xid.setWatches
            inFlight.append(.setWatches(xid: xid))
            if batch[3].isEmpty && batch[4].isEmpty {
                queue(FrameEncoder.requestFrame(xid: xid, opCode: .setWatches, body: SetWatches(
                    relativeZxid: lastZxid, dataWatches: batch[0], existWatches: batch[1], childWatches: batch[2])))
            } else {
                queue(FrameEncoder.requestFrame(xid: xid, opCode: .setWatches2, body: SetWatches2(
                    relativeZxid: lastZxid, dataWatches: batch[0], existWatches: batch[1], childWatches: batch[2],
                    persistentWatches: batch[3], persistentRecursiveWatches: batch[4])))
            }
        }
    }

    // MARK: Requests

    private func refusal(for operation: Operation, watcher: WatcherID?) -> ZooKeeperError? {
        switch state {
        case .expired: return ZooKeeperError(.sessionExpired, path: operation.path)
        case .authFailed: return ZooKeeperError(.authFailed, path: operation.path)
        case .closed: return ZooKeeperError.closed(path: operation.path)
        default: break
        }
        if closingDeadline != nil { return ZooKeeperError.closed(path: operation.path) }
        do { try operation.validate() } catch { return error }
        if operation.setsWatch && watcher == nil {
            return ZooKeeperError.badArguments("a watch needs a watcher", path: operation.path)
        }
        return nil
    }

    private mutating func takeXid() -> Int32 {
        let xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        return xid
    }

    /// Writes queued requests while connected and under the in-flight limit.
    private mutating func sendQueued(now: Millis) {
        guard case .open = link, state.isConnected else { return }
        while inFlight.count + authWaiters.count < configuration.maxInFlight, let pending = queued.popFirst() {
            if case let .addAuth(scheme, credentials) = pending.operation {
                let packet = AuthPacket(scheme: scheme, auth: credentials)
                auths.append(packet)
                authWaiters.append(pending)
                queue(FrameEncoder.requestFrame(xid: Xid.auth, opCode: .auth, body: packet))
            } else {
                let xid = takeXid()
                inFlight.append(.request(xid: xid, pending))
                queue(pending.operation.frame(xid: xid, chroot: chroot))
            }
            lastSent = now
        }
    }

    private mutating func processFrames(now: Millis) {
        while let connection = currentConnection {
            // Each frame is read where the decoder keeps it, never copied out.
            var frame: JuteReader
            do {
                guard let next = try decoder.nextFrameReader() else { return }
                frame = next
            } catch {
                if case let .invalidFrameLength(length, limit) = error, length > 0 { failOversizedReply(length: length, limit: limit) }
                return lostConnection(now: now, close: true)
            }
            lastHeard = now
            do {
                switch link {
                case .handshaking: try handshake(frame, connection: connection, now: now)
                case .authenticating: try saslReply(&frame, now: now)
                default: try reply(&frame, now: now)
                }
            } catch {
                // A reply we cannot read leaves the stream in an unknown state: start afresh.
                return lostConnection(now: now, close: true)
            }
        }
    }

    private mutating func reply(_ reader: inout JuteReader, now: Millis) throws(ProtocolError) {
        let header = try ReplyHeader.decode(from: &reader)
        switch header.xid {
        case Xid.watchEvent:
            let event = try WatcherEvent.decode(from: &reader)
            let clientEvent = WatchEvent(type: event.type, state: event.state, path: chroot.clientPath(event.path))
            actions.append(.watchEvent(clientEvent, watchers: watches.trigger(clientEvent)))
            return
        case Xid.ping:
            return
        case Xid.auth:
            let waiter = authWaiters.popFirst() ?? nil
            if header.error == .authFailed {
                if let waiter { actions.append(.complete(waiter.id, .failure(ZooKeeperError(.authFailed)))) }
                terminate(.authFailed, code: .authFailed)
            } else if let waiter {
                actions.append(.complete(waiter.id, header.err == 0 ? .success(.done) : .failure(ZooKeeperError(header.error))))
            }
            sendQueued(now: now)
            return
        default:
            break
        }
        // Taken out rather than copied (a request and its operation would be copied and freed).
        let next = inFlight.popFirst()
        guard let head = next, head.xid == header.xid else {
            if let next { inFlight.prepend(next) }  // still in flight: it fails with the connection
            // Replies come in request order; anything else means we lost track of the stream.
            throw .invalidValue(field: "ReplyHeader.xid (out of order)", value: Int64(header.xid))
        }
        // Nothing left to time out: no stale deadline wakes an idle session's host (a kept
        // nginx session would otherwise wake every few seconds to find nothing due).
        if inFlight.isEmpty && queued.isEmpty && authWaiters.isEmpty { earliestRequestDeadline = .max }
        if header.zxid > 0 { lastZxid = header.zxid }
        switch head {
        case .setWatches:
            break
        case .closeSession:
            finishClose()
        case let .request(_, pending):
            guard let pending else { break }  // timed out meanwhile: the caller has its answer
            let result: Result<OperationResult, ZooKeeperError>
            do {
                result = try pending.operation.result(err: header.error, body: &reader, chroot: chroot)
            } catch {
                // Its request is answered before the connection is dropped for the bad reply.
                actions.append(.complete(pending.id, .failure(ZooKeeperError(.connectionLoss, path: pending.operation.path))))
                throw error
            }
            if case .success = result { registerWatch(for: pending, result: result) }
            if case let .exists(path, true) = pending.operation, header.error == .noNode, let watcher = pending.watcher {
                watches.add(watcher, path: path, kind: .exist)
            }
            actions.append(.complete(pending.id, result))
        }
        sendQueued(now: now)
    }

    /// Replies come in request order, so a frame over the limit answers the oldest request in
    /// flight: it fails with frameTooLarge, which a retry cannot cure (connectionLoss would be
    /// retried forever). The stream cannot be resynchronised, so the connection goes.
    private mutating func failOversizedReply(length: Int32, limit: Int) {
        guard case let .request(xid, pending?) = inFlight.first else { return }
        let message = "reply of \(length) bytes exceeds the frame limit of \(limit) bytes"
        actions.append(.complete(pending.id, .failure(ZooKeeperError(.frameTooLarge, path: pending.operation.path, message: message))))
        inFlight[inFlight.startIndex] = .request(xid: xid, nil)
    }

    private mutating func registerWatch(for pending: Pending, result: Result<OperationResult, ZooKeeperError>) {
        switch pending.operation {
        case let .removeWatches(path, type, _):
            emitRemoved(watches.remove(path: path, type: type), path: path)
            return
        default:
            break
        }
        guard let watcher = pending.watcher else { return }
        switch pending.operation {
        case let .exists(path, true):
            if case .success(.stat(.some)) = result { watches.add(watcher, path: path, kind: .data) }
        case let .getData(path, true): watches.add(watcher, path: path, kind: .data)
        case .getConfig(true): watches.add(watcher, path: ZooKeeperPaths.config, kind: .data)
        case let .getChildren(path, true, _): watches.add(watcher, path: path, kind: .child)
        case let .addWatch(path, mode):
            watches.add(watcher, path: path, kind: mode == .persistent ? .persistent : .persistentRecursive)
        default: break
        }
    }

    private mutating func removeLocalWatches(path: String, type: WatcherType, request: RequestID) {
        guard watches.has(path: path, type: type) else {
            actions.append(.complete(request, .failure(ZooKeeperError(.noWatcher, path: path))))
            return
        }
        emitRemoved(watches.remove(path: path, type: type), path: path)
        actions.append(.complete(request, .success(.done)))
    }

    private mutating func emitRemoved(_ removed: [(WatcherID, EventType)], path: String) {
        var byType: [EventType: Set<WatcherID>] = [:]
        for (id, type) in removed { byType[type, default: []].insert(id) }
        for (type, ids) in byType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            actions.append(.watchEvent(WatchEvent(type: type, state: .syncConnected, path: path), watchers: ids))
        }
    }

    /// Times out requests past their deadline: queued ones are dropped; in-flight ones are
    /// answered now and their late reply is discarded (the stream must stay in order).
    private mutating func expireRequests(now: Millis) {
        var earliest: Millis = .max
        var kept = Deque<Pending>()
        for pending in queued {
            if now >= pending.deadline {
                actions.append(.complete(pending.id, .failure(ZooKeeperError(.operationTimeout, path: pending.operation.path))))
            } else {
                kept.append(pending)
                earliest = min(earliest, pending.deadline)
            }
        }
        queued = kept
        for index in inFlight.indices {
            guard case let .request(xid, pending?) = inFlight[index] else { continue }
            if now >= pending.deadline {
                actions.append(.complete(pending.id, .failure(ZooKeeperError(.operationTimeout, path: pending.operation.path))))
                inFlight[index] = .request(xid: xid, nil)
            } else {
                earliest = min(earliest, pending.deadline)
            }
        }
        for index in authWaiters.indices {
            guard let pending = authWaiters[index] else { continue }
            if now >= pending.deadline {
                actions.append(.complete(pending.id, .failure(ZooKeeperError(.operationTimeout))))
                authWaiters[index] = nil
            } else {
                earliest = min(earliest, pending.deadline)
            }
        }
        earliestRequestDeadline = earliest
    }

    // MARK: Ending

    private mutating func failInFlight(_ error: ZooKeeperError) {
        for entry in inFlight {
            if case let .request(_, pending?) = entry {
                actions.append(.complete(pending.id, .failure(ZooKeeperError(error.code, path: pending.operation.path, message: error.message))))
            }
        }
        inFlight.removeAll()
        for case let pending? in authWaiters {
            actions.append(.complete(pending.id, .failure(error)))
        }
        authWaiters.removeAll()
    }

    private mutating func failQueued(_ error: ZooKeeperError) {
        for pending in queued {
            actions.append(.complete(pending.id, .failure(ZooKeeperError(error.code, path: pending.operation.path, message: error.message))))
        }
        queued.removeAll()
    }

    /// A terminal state: everything pending fails, every watcher hears it once, then forgets.
    private mutating func terminate(_ terminal: SessionState, code: ErrorCode, message: String? = nil) {
        guard !state.isTerminal else { return }
        let error = terminal == .closed ? ZooKeeperError.closed() : ZooKeeperError(code, message: message)
        endReason = error
        failInFlight(error)
        failQueued(error)
        if let connection = currentConnection { actions.append(.closeConnection(connection)) }
        actions += readWrite.stop()
        link = .none
        outgoing.removeAll()
        closingDeadline = nil
        earliestRequestDeadline = .max
        state = terminal
        let everyone = watches.allWatchers
        watches.removeAll()
        let event: SessionEvent = switch terminal {
        case .expired: .expired
        case .authFailed: .authFailed
        default: .closed
        }
        actions.append(.sessionEvent(event, watchers: everyone))
    }

    private mutating func finishClose() {
        terminate(.closed, code: .connectionLoss)
    }

    /// Non-terminal changes go to state observers only; watchers hear just the terminal ones
    /// (from `terminate`), which tell them their watch will never fire.
    private mutating func emitState(_ event: SessionEvent) {
        actions.append(.sessionEvent(event, watchers: []))
    }

    /// Queues a frame to write at the end of this input (a lone frame is taken as it is).
    private mutating func queue(_ frame: [UInt8]) {
        if outgoing.isEmpty { outgoing = frame } else { outgoing += frame }
    }

    /// Takes back an actions array its runtime is done with (emptied), so that the next input
    /// appends its actions without allocating.
    public mutating func recycle(_ spent: inout [SessionAction]) {
        guard actions.capacity == 0 else { return }
        spent.removeAll(keepingCapacity: true)
        swap(&actions, &spent)
    }

    /// Hands over this input's actions, with everything written coalesced into one send.
    private mutating func flush() -> [SessionAction] {
        if !outgoing.isEmpty, let connection = currentConnection {
            // Bytes go out before anything else this input does: before the connection they
            // belong to is closed or replaced, and before any listener runs, since a listener
            // may submit a request that is written at once (a recipe asks again on
            // `.reconnected`): written after these bytes, or the server's answers come in
            // another order than `inFlight` and the connection is dropped as out of order.
            actions.insert(.send(outgoing, connection), at: 0)
        }
        // Moved, not copied: emptying a buffer the send action still holds would allocate.
        outgoing = []
        // Handed over, not copied: emptying a buffer the caller still holds would allocate
        // a new one at every input, even one with nothing to hand over.
        let taken = actions
        actions = []
        return taken
    }
}

extension Millis {
    /// Deadlines from huge timeouts ("never") saturate instead of trapping.
    func addingSaturating(_ other: Millis) -> Millis {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

/// SplitMix64: a tiny deterministic generator for the seeded host shuffle.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
