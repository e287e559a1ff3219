import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ZooKeeperProtocol
import ZooKeeperSession

/// The SwiftNIO transport: runs one `SessionRuntime` on an event loop, opens and closes its
/// connections as channels, writes what it sends, feeds it what arrives and the time.
/// Every member is touched on `eventLoop` only, except the entry points, which hop there.
final class SessionDriver: SessionTransport, DrivenSession, @unchecked Sendable {
    typealias Completion = SessionListeners.Completion
    typealias WatchHandler = SessionListeners.WatchHandler
    typealias StateHandler = SessionListeners.StateHandler

    let eventLoop: EventLoop
    /// Runs tasks on `eventLoop` (ZooKeeperClient.ioExecutor).
    let ioExecutor: IOThreadExecutor
    private let runtime: SessionRuntime
    private let logger: Logger
    /// TLS for every connection (nil: plain TCP); nil with `tlsError` when its files are bad.
    private let tls: TLSSetup?
    private let tlsError: ZooKeeperError?
    private var channels: [ConnectionID: Channel] = [:]
    private var tickTask: Scheduled<Void>?
    private var tickAt: Int64?
    /// Snapshot of the session for readers on other threads.
    let snapshot = SessionSnapshot()

    init(configuration: SessionConfiguration, logger: Logger) {
        eventLoop = SharedEventLoop.next()
        ioExecutor = IOThreadExecutor(eventLoop)
        runtime = SessionRuntime(configuration: configuration, clock: monotonicMillis)
        self.logger = logger
        var tlsError: ZooKeeperError?
        if let options = configuration.tls {
            do { tls = try TLSSetup(options) } catch {
                tls = nil
                tlsError = error
            }
        } else {
            tls = nil
        }
        self.tlsError = tlsError
        runtime.attach(self)
        runtime.onFacts = { [snapshot] in snapshot.update($0) }
    }

    // MARK: Entry points (any thread)

    var state: SessionState { snapshot.facts.state }
    var facts: SessionFacts { snapshot.facts }

    func start() {
        onLoop { $0.runtime.start() }
    }

    func submit(_ operation: Operation, watch: WatchHandler?, persistent: Bool, timeout: Int64, thenDrive: Bool = false,
                completion: @escaping Completion) {
        onLoop { $0.runtime.submit(operation, watch: watch, persistent: persistent, timeout: timeout, completion: completion) }
    }

    /// `submit`, remembered in `ticket` so that its caller can give it up (`cancel`) or stop
    /// its watch (`removeWatcher`) later.
    func submit(_ operation: Operation, watch: WatchHandler?, persistent: Bool, timeout: Int64, ticket: RequestTicket,
                completion: @escaping Completion) {
        onLoop { driver in
            if ticket.cancelled { return }
            ticket.submission = driver.runtime.submit(operation, watch: watch, persistent: persistent, timeout: timeout, completion: completion)
        }
    }

    /// Gives up the request of `ticket` (its task was cancelled): see `SessionRuntime.cancel`.
    func cancel(_ ticket: RequestTicket) {
        onLoop { driver in
            ticket.cancelled = true
            if let submission = ticket.submission { driver.runtime.cancel(submission) }
        }
    }

    func submit(_ operation: Operation, persistentWatcher watcher: WatcherID, watch: @escaping WatchHandler, timeout: Int64,
                completion: @escaping Completion) {
        onLoop { $0.runtime.submit(operation, watch: watch, persistent: true, watcherID: watcher, timeout: timeout, completion: completion) }
    }

    func removeWatcher(_ watcher: WatcherID, path: String) {
        onLoop { $0.runtime.removeWatcher(watcher, path: path) }
    }

    /// Stops the watcher of `ticket`'s request: see `SessionRuntime.removeWatcher`.
    func removeWatcher(of ticket: RequestTicket, path: String) {
        onLoop { driver in
            if let watcher = ticket.submission?.watcher { driver.runtime.removeWatcher(watcher, path: path) }
        }
    }

    func close(timeout: Int64, done: @escaping @Sendable () -> Void) {
        onLoop { $0.runtime.close(timeout: timeout, done: done) }
    }

    /// The id is known at once; the handler is in place before any later call reaches the loop.
    @discardableResult
    func onStateChange(_ handler: @escaping StateHandler) -> UInt64 {
        let id = SessionRuntime.takeHandlerID()
        onLoop { $0.runtime.onStateChange(handler, id: id) }
        return id
    }

    /// Like `onStateChange`, and hands `current` the state at the moment the handler took its
    /// place, in the same step on the loop: no change can fall between the two. (Reading
    /// `state` before registering races with an answer the loop is processing at that moment.)
    @discardableResult
    func onStateChange(_ handler: @escaping StateHandler, current: @escaping @Sendable (SessionState) -> Void) -> UInt64 {
        let id = SessionRuntime.takeHandlerID()
        onLoop { driver in
            driver.runtime.onStateChange(handler, id: id)
            current(driver.runtime.state)
        }
        return id
    }

    func removeStateHandler(_ id: UInt64) {
        onLoop { $0.runtime.removeStateHandler(id) }
    }

    private func onLoop(_ body: @escaping @Sendable (SessionDriver) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }

    // MARK: Connection news (event loop)

    fileprivate func received(_ buffer: ByteBuffer, on connection: ConnectionID) {
        buffer.withUnsafeReadableBytes { runtime.bytesReceived($0, connection: connection) }
    }

    /// TLS refused the connection (a certificate either way): retrying cannot help.
    fileprivate func refused(_ connection: ConnectionID, message: String) {
        guard channels.removeValue(forKey: connection) != nil else { return }
        logger.notice("zookeeper connection refused", metadata: ["error": "\(message)"])
        runtime.connectionRefused(connection, message: message)
    }

    fileprivate func closed(_ connection: ConnectionID) {
        guard channels.removeValue(forKey: connection) != nil else { return }
        logger.debug("zookeeper connection closed", metadata: ["connection": "\(connection)"])
        runtime.connectionClosed(connection)
    }

    // MARK: Transport (the runtime's I/O, on the event loop)

    func send(_ bytes: [UInt8], connection: ConnectionID) {
        guard let channel = channels[connection] else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    func close(connection: ConnectionID) {
        channels.removeValue(forKey: connection)?.close(promise: nil)
    }

    func sessionChanged(_ event: SessionEvent) {
        logSessionEvent(event)
    }

    private func logSessionEvent(_ event: SessionEvent) {
        switch event {
        case .expired, .authFailed: logger.notice("zookeeper session \(event)", metadata: ["session": "\(SessionId.hex(runtime.facts.sessionId))"])
        default: logger.debug("zookeeper session \(event)", metadata: ["host": "\(runtime.facts.currentHost.map { "\($0)" } ?? "-")", "session": "\(SessionId.hex(runtime.facts.sessionId))"])
        }
    }

    func open(_ host: HostAddress, connection: ConnectionID) {
        logger.debug("zookeeper connecting", metadata: ["host": "\(host)", "connection": "\(connection)"])
        if let tlsError {
            eventLoop.execute { self.runtime.connectionRefused(connection, message: tlsError.message) }
            return
        }
        HostResolver.resolve(host) { addresses in
            self.eventLoop.execute {
                // The machine may have given up on this attempt (timeout, close) meanwhile.
                guard self.runtime.wants(connection) else { return }
                if addresses.isEmpty { self.logger.debug("zookeeper cannot resolve host", metadata: ["host": "\(host)"]) }
                self.connect(connection, host: host, to: addresses[...])
            }
        }
    }

    /// Connects to each address of the host in turn until one answers.
    private func connect(_ connection: ConnectionID, host: HostAddress, to addresses: ArraySlice<SocketAddress>) {
        guard let address = addresses.first else { return runtime.connectionFailed(connection) }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(runtime.configuration.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = self.tls { try channel.pipeline.syncOperations.addHandler(try tls.handler(host: host.host)) }
                    try channel.pipeline.syncOperations.addHandler(SessionChannelHandler(driver: self, connection: connection))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case let .success(channel):
                    guard self.runtime.wants(connection) else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channels[connection] = channel
                    self.logger.debug("zookeeper connected", metadata: ["address": "\(address)", "connection": "\(connection)"])
                    self.runtime.connectionEstablished(connection)
                case let .failure(error):
                    self.logger.debug("zookeeper connect failed", metadata: ["address": "\(address)", "error": "\(error)"])
                    guard self.runtime.wants(connection) else { return }
                    self.connect(connection, host: host, to: addresses.dropFirst())
                }
            }
    }

    /// Keeps a pending earlier tick rather than rescheduling at every step (a ping deadline
    /// moves with every send): an early tick is harmless and schedules the next one.
    func scheduleTick(at deadline: Millis?) {
        guard let deadline else {
            tickTask?.cancel()
            tickTask = nil
            tickAt = nil
            return
        }
        if let tickAt, tickAt <= deadline, tickTask != nil { return }
        tickTask?.cancel()
        tickAt = deadline
        let delay = max(0, deadline - monotonicMillis())
        tickTask = eventLoop.scheduleTask(in: .milliseconds(delay)) { [self] in
            tickTask = nil
            tickAt = nil
            runtime.tick()
        }
    }
}

/// A submitted request, as its caller can later refer to it. Touched on the driver's event
/// loop only.
final class RequestTicket: @unchecked Sendable {
    fileprivate var submission: SessionRuntime.Submission?
    fileprivate var cancelled = false
}

/// Feeds one connection's bytes and closure to the driver.
private final class SessionChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let driver: SessionDriver
    private let connection: ConnectionID

    init(driver: SessionDriver, connection: ConnectionID) {
        self.driver = driver
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver.received(unwrapInboundIn(data), on: connection)
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver.closed(connection)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let message = TLSSetup.refusal(error) { driver.refused(connection, message: message) }
        context.close(promise: nil)
    }
}
