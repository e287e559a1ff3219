import CDirectSupport
#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperProtocol
import ZooKeeperSession

/// A transport without an event loop of its own: the thread that waits for an answer (`drive`)
/// writes and reads the socket itself, so a sequential call costs no thread handoff; the shared
/// `Poller` thread takes over while nobody waits, for pings, watch events and reconnects. One
/// lock guards the socket and the session's `SessionRuntime`; completions and handlers run with
/// it held, so they must only hand their news on (never call back into the session).
public final class DirectSession: SessionTransport, @unchecked Sendable {
    /// Hears a request's result (with the session locked).
    public typealias Completion = SessionListeners.Completion
    /// Hears a watch's events (with the session locked).
    public typealias WatchHandler = SessionListeners.WatchHandler
    /// Hears session state changes (with the session locked).
    public typealias StateHandler = SessionListeners.StateHandler

    private var lock = pthread_mutex_t()
    let runtime: SessionRuntime
    private let poller: Poller
    private var token: UInt64 = 0

    private var connection = DirectConnection()
    /// Read-write probes' connections, each driven by a thread of its own (DirectProbes.swift).
    var probes: [ConnectionID: DirectConnection] = [:]
    /// TLS for every connection, or why its files cannot be used (nil, nil: plain TCP).
    let tls: TLSContext?
    private let tlsError: String?
    /// A caller is driving: the poller leaves the session alone.
    private var driving = false
    /// What the poller watches the socket for (0: nothing); a delivered event disarms it.
    private var armedEvents: UInt32 = 0
    /// A caller submitted and is about to drive: the socket is left to it, not the poller.
    private var callerWillDrive = false
    /// Work handed over by `runUnlocked`, run by whichever thread releases the lock next.
    private let deferred = DeferredWork()

    /// A session that starts connecting with `start()`.
    public init(configuration: SessionConfiguration) {
        runtime = SessionRuntime(configuration: configuration, clock: monotonicMillis)
        poller = Poller.shared()
        var tlsError: String?
        if let options = configuration.tls {
            do { tls = try TLSContext(options) } catch {
                tls = nil
                tlsError = error.message
            }
        } else {
            tls = nil
        }
        self.tlsError = tlsError
        pthread_mutex_init(&lock, nil)
        runtime.attach(self)
        token = poller.register(self)
    }

    deinit {
        connection.close()
        pthread_mutex_destroy(&lock)
    }

    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { unlock() }
        return body()
    }

    /// Releases the lock, then runs the work handed over meanwhile.
    private func unlock() {
        pthread_mutex_unlock(&lock)
        deferred.run()
    }

    /// Runs `work` as soon as the session's lock is released, on the thread releasing it (the
    /// poller or a driving caller): for a completion or handler (which run with the lock held)
    /// whose reaction calls the session again, such as a recipe submitting its next request.
    public func runUnlocked(_ work: @escaping @Sendable () -> Void) {
        deferred.add(work)
    }

    // MARK: Facts

    /// The session's state.
    public var state: SessionState { locked { runtime.state } }
    /// The session's facts (id, password, timeout, zxid, host...).
    public var facts: SessionFacts { locked { runtime.facts } }
    /// How the session connects.
    public var configuration: SessionConfiguration { runtime.configuration }

    // MARK: Requests

    /// Starts connecting (the poller or a driving caller carries it on).
    public func start() {
        locked { runtime.start() }
    }

    /// Submits an operation; `completion` runs (with the session locked) in whichever thread
    /// drives the session when the answer arrives. With `thenDrive`, the caller promises to
    /// call `drive` next: the poller stops watching the socket now, so a quick reply does not
    /// wake it (should the caller not drive, the poller's next timer takes the socket back).
    public func submit(_ operation: Operation, watch: WatchHandler? = nil, persistent: Bool = false, timeout: Int64,
                       thenDrive: Bool = false, completion: @escaping Completion) {
        locked {
            if thenDrive {
                callerWillDrive = true
                disarmPoller()
            }
            runtime.submit(operation, watch: watch, persistent: persistent, timeout: timeout, completion: completion)
        }
    }

    public func submit(_ operation: Operation, persistentWatcher watcher: WatcherID, watch: @escaping WatchHandler,
                       timeout: Int64, completion: @escaping Completion) {
        locked { runtime.submit(operation, watch: watch, persistent: true, watcherID: watcher, timeout: timeout, completion: completion) }
    }

    public func removeWatcher(_ watcher: WatcherID, path: String) {
        locked { runtime.removeWatcher(watcher, path: path) }
    }

    /// Drives the session on the calling thread until `ready()` holds or `deadline` (monotonic
    /// ms) passes: writes, reads and timers happen here, without waking any other thread.
    /// `ready` runs with the session locked, so it must not call the session.
    public func drive(until deadline: Int64, ready: () -> Bool) {
        pthread_mutex_lock(&lock)
        driving = true
        callerWillDrive = false
        // The caller reads the socket now: the poller must not wake for the replies.
        disarmPoller()
        var now = monotonicMillis()
        while !ready() {
            if now >= deadline { break }
            if let next = runtime.nextDeadline, next <= now {
                runtime.tick(now: now)
                now = monotonicMillis()
                continue
            }
            let wait = min(deadline, runtime.nextDeadline ?? .max) - now
            let socket = connection.fd
            let events = Int16(connection.connecting ? POLLOUT : (POLLIN | (connection.hasOutput ? POLLOUT : 0)))
            pthread_mutex_unlock(&lock)
            if deferred.run() {
                // What ran may have answered the caller or queued writes: look again first.
                pthread_mutex_lock(&lock)
                now = monotonicMillis()
                continue
            }
            var revents: Int16 = 0
            if socket >= 0 {
                revents = Socket.poll(socket, events: events, timeoutMillis: min(wait, 1_000))
            } else {
                usleep(UInt32(min(max(wait, 1), 50)) * 1_000)
            }
            pthread_mutex_lock(&lock)
            now = monotonicMillis()
            if revents != 0 && socket == connection.fd { handleReadiness(revents, now: now) }
        }
        driving = false
        handBackLazily(now: now)
        unlock()
    }

    /// After a drive, the socket goes back to the poller only if no caller drives again soon:
    /// a loop of calls then costs no epoll_ctl per call. The poller takes the socket at its
    /// next wake (within a second, or at the session's next timer); what arrives meanwhile
    /// waits in the socket, and a caller that drives reads it first.
    private func handBackLazily(now: Int64) {
        guard !runtime.state.isTerminal else { return armPoller() }
        poller.schedule(token, at: min(now + Self.handBackDelay, runtime.nextDeadline ?? .max), soft: true)
    }

    private static let handBackDelay: Int64 = 20

    /// Closes the session (closeSession, then the socket); `done` runs once it is closed.
    public func close(timeout: Int64 = 2_000, done: @escaping @Sendable () -> Void = {}) {
        locked { runtime.close(timeout: timeout, done: done) }
    }

    @discardableResult
    /// Calls `handler` (with the session locked) on every state change; returns its id.
    public func onStateChange(_ handler: @escaping StateHandler) -> UInt64 {
        locked { runtime.onStateChange(handler) }
    }

    /// Stops calling a state handler.
    public func removeStateHandler(_ id: UInt64) {
        locked { runtime.removeStateHandler(id) }
    }

    // MARK: The poller's side

    func pollerReady(_ events: UInt32) {
        pthread_mutex_lock(&lock)
        defer { unlock() }
        armedEvents = 0  // one-shot: delivering the event disarmed it
        guard !driving else { return }  // the driver re-arms when it is done
        var revents: Int16 = 0
        if events & UInt32(ZKD_IN) != 0 { revents |= Int16(POLLIN) }
        if events & UInt32(ZKD_OUT) != 0 { revents |= Int16(POLLOUT) }
        if events & UInt32(ZKD_ERR | ZKD_HUP | ZKD_RDHUP) != 0 { revents |= Int16(POLLHUP) }
        handleReadiness(revents, now: monotonicMillis())
        armPoller()
    }

    func pollerTick() {
        pthread_mutex_lock(&lock)
        defer { unlock() }
        guard !driving else {
            // The driver hands the session back when it is done (handBackLazily); until then
            // this timer must not stay due, or the poller finds it due again at once, all drive long.
            poller.schedule(token, at: nil, soft: true)
            return
        }
        callerWillDrive = false  // a caller that promised to drive and did not: take over
        runtime.tick()
        armPoller()
    }

    private func disarmPoller() {
        guard armedEvents != 0, connection.isOpen else { return }
        poller.arm(token, fd: connection.fd, events: 0)
        armedEvents = 0
    }

    /// Hands the socket and the timers to the poller (while nobody drives).
    private func armPoller() {
        poller.schedule(token, at: runtime.nextDeadline)
        guard !driving, !callerWillDrive, connection.isOpen else { return }
        var events = UInt32(ZKD_IN | ZKD_RDHUP)
        if connection.hasOutput { events |= UInt32(ZKD_OUT) }
        if connection.connecting { events = UInt32(ZKD_OUT) }
        guard events != armedEvents else { return }
        poller.arm(token, fd: connection.fd, events: events)
        armedEvents = events
    }

    // MARK: I/O (lock held)

    private func handleReadiness(_ revents: Int16, now: Int64) {
        let id = connection.id
        if connection.connecting {
            guard revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 else { return }
            switch connection.finishConnect() {
            case .connected: runtime.connectionEstablished(id, now: now)
            case .retrying: armedEvents = 0  // a new socket, for the next address
            case .failed: connectionLost(id, failed: true, now: now)
            }
            return
        }
        if revents & Int16(POLLOUT) != 0 { flush() }
        guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, connection.isOpen else { return }
        guard let base = zkd_thread_read_buffer() else { return }  // out of memory: try at the next wake
        let buffer = UnsafeMutableRawBufferPointer(start: base, count: Int(ZKD_READ_BUFFER_SIZE))
        // The runtime may close or replace the connection while handling what was read.
        while connection.isOpen && connection.id == id {
            switch connection.read(into: buffer) {
            case let .bytes(n):
                runtime.bytesReceived(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), connection: id, now: now)
                if n < buffer.count { return }
            case .drained:
                return
            case .ended:
                return connectionLost(id, failed: false, now: now)
            case let .refused(message):
                armedEvents = 0
                return runtime.connectionRefused(id, message: message, now: now)
            }
        }
    }

    private func flush() {
        let id = connection.id
        if !connection.flush() { connectionLost(id, failed: false, now: monotonicMillis()) }
    }

    /// The socket is closed already: the runtime hears it.
    private func connectionLost(_ id: ConnectionID, failed: Bool, now: Int64) {
        armedEvents = 0
        if failed { runtime.connectionFailed(id, now: now) } else { runtime.connectionClosed(id, now: now) }
    }

    // MARK: Transport (the runtime calls these with the lock held; callers never do)

    public func open(_ host: HostAddress, connection id: ConnectionID) {
        if let tlsError { return runtime.connectionRefused(id, message: tlsError) }
        if id != runtime.currentConnection { return openProbe(host, id: id) }
        armedEvents = 0
        if !connection.open(host, id: id, tls: tls) { runtime.connectionFailed(id) }
    }

    public func send(_ bytes: [UInt8], connection id: ConnectionID) {
        if var probe = probes[id] {
            if probe.write(bytes) { probes[id] = probe } else { close(connection: id) }
            return
        }
        guard id == connection.id, connection.isOpen else { return }
        if !connection.write(bytes) { connectionLost(id, failed: false, now: monotonicMillis()) }
    }

    public func close(connection id: ConnectionID) {
        if var probe = probes.removeValue(forKey: id) { return probe.close() }
        guard id == connection.id else { return }
        connection.close()
        armedEvents = 0
    }

    /// A driving caller watches the deadline itself; otherwise the poller does.
    public func scheduleTick(at deadline: Millis?) {
        if !driving { armPoller() }
    }

    public func sessionChanged(_ event: SessionEvent) {
        if runtime.state.isTerminal { poller.unregister(token) }
    }
}

extension DirectSession: DrivenSession {}
