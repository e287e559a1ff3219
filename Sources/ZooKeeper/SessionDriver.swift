import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol
import ZooKeeperSession

/// Runs one SessionStateMachine on an event loop: opens and closes connections, writes what the
/// machine sends, feeds it what arrives and the time, and delivers its completions and events.
/// Every member is touched on `eventLoop` only.
final class SessionDriver: @unchecked Sendable {
    typealias Completion = SessionListeners.Completion
    typealias WatchHandler = SessionListeners.WatchHandler
    typealias StateHandler = SessionListeners.StateHandler

    let eventLoop: EventLoop
    /// Runs tasks on `eventLoop` (ZooKeeperClient.ioExecutor).
    let ioExecutor: IOThreadExecutor
    private var machine: SessionStateMachine
    private let logger: Logger
    private var channels: [ConnectionID: Channel] = [:]
    private var listeners = SessionListeners()
    private static let handlerIDs = NIOLockedValueBox<UInt64>(1)
    private var tickTask: Scheduled<Void>?
    private var tickAt: Int64?
    /// Snapshot of the session for readers on other threads.
    let snapshot: SessionSnapshot

    init(configuration: SessionConfiguration, logger: Logger) {
        eventLoop = SharedEventLoop.next()
        ioExecutor = IOThreadExecutor(eventLoop)
        machine = SessionStateMachine(configuration: configuration)
        self.logger = logger
        snapshot = SessionSnapshot()
    }

    // MARK: Entry points (any thread)

    func start() {
        onLoop { $0.run($0.machine.start(now: monotonicMillis())) }
    }

    func submit(_ operation: Operation, watch: WatchHandler?, persistent: Bool, timeout: Int64, completion: @escaping Completion) {
        onLoop { driver in
            var watcher: WatcherID?
            if let watch {
                let id = driver.takeHandlerID()
                driver.listeners.addWatch(watch, persistent: persistent, id: id)
                watcher = id
            }
            let (id, actions) = driver.machine.submit(operation, watcher: watcher, timeout: timeout, now: monotonicMillis())
            driver.listeners.expect(id, watcher: watcher, completion: completion)
            driver.run(actions)
        }
    }

    func close(timeout: Int64, done: @escaping @Sendable () -> Void) {
        onLoop { driver in
            driver.run(driver.machine.close(now: monotonicMillis(), timeout: timeout))
            if driver.machine.state == .closed || driver.machine.state.isTerminal {
                done()
            } else {
                driver.listeners.whenEnded(id: driver.takeHandlerID(), done)
            }
        }
    }

    func addStateHandler(_ handler: @escaping StateHandler) -> UInt64 {
        let id = takeHandlerID()
        onLoop { $0.listeners.addState(handler, id: id) }
        return id
    }

    func removeStateHandler(_ id: UInt64) {
        onLoop { $0.listeners.removeState(id) }
    }

    private func onLoop(_ body: @escaping @Sendable (SessionDriver) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }

    private func takeHandlerID() -> UInt64 {
        Self.handlerIDs.withLockedValue { next in
            defer { next += 1 }
            return next
        }
    }

    // MARK: Connection news (event loop)

    fileprivate func received(_ buffer: ByteBuffer, on connection: ConnectionID) {
        let actions = buffer.withUnsafeReadableBytes { machine.bytesReceived($0, connection: connection, now: monotonicMillis()) }
        run(actions)
    }

    fileprivate func closed(_ connection: ConnectionID) {
        guard channels.removeValue(forKey: connection) != nil else { return }
        run(machine.connectionClosed(connection, now: monotonicMillis()))
    }

    // MARK: Actions

    private func run(_ actions: [SessionAction]) {
        // Facts first: whoever a completion or event wakes must read the state it announces.
        snapshot.update(machine)
        for action in actions {
            switch action {
            case let .connect(host, connection):
                connect(host, connection)
            case let .send(bytes, connection):
                guard let channel = channels[connection] else { continue }
                var buffer = channel.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                channel.writeAndFlush(buffer, promise: nil)
            case let .closeConnection(connection):
                channels.removeValue(forKey: connection)?.close(promise: nil)
            case let .sessionEvent(event, _):
                logSessionEvent(event)
                for call in listeners.calls(for: action, sessionEnded: machine.state.isTerminal) { call() }
                if machine.state.isTerminal {
                    tickTask?.cancel()
                    tickTask = nil
                }
            case .complete, .watchEvent:
                for call in listeners.calls(for: action, sessionEnded: machine.state.isTerminal) { call() }
            }
        }
        scheduleTick()
    }

    private func logSessionEvent(_ event: SessionEvent) {
        switch event {
        case .expired, .authFailed: logger.notice("zookeeper session \(event)", metadata: ["session": "\(SessionId.hex(machine.sessionId))"])
        default: logger.debug("zookeeper session \(event)", metadata: ["host": "\(machine.currentHost.map { "\($0)" } ?? "-")", "session": "\(SessionId.hex(machine.sessionId))"])
        }
    }

    private func connect(_ host: HostAddress, _ connection: ConnectionID) {
        logger.debug("zookeeper connecting", metadata: ["host": "\(host)"])
        let timeout = TimeAmount.milliseconds(machine.configuration.connectTimeout)
        // Resolve here rather than through NIO's resolver, which runs on libdispatch: that does
        // not survive a fork(), and a forked child (an nginx worker) could never connect.
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host.host, port: host.port)
        } catch {
            logger.debug("zookeeper cannot resolve host", metadata: ["host": "\(host)", "error": "\(error)"])
            eventLoop.execute { self.run(self.machine.connectionFailed(connection, now: monotonicMillis())) }
            return
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SessionChannelHandler(driver: self, connection: connection))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case let .success(channel):
                    // The machine may have given up on this attempt (timeout, close) meanwhile.
                    guard self.machine.currentConnection == connection else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channels[connection] = channel
                    self.run(self.machine.connectionEstablished(connection, now: monotonicMillis()))
                case let .failure(error):
                    self.logger.debug("zookeeper connect failed", metadata: ["host": "\(host)", "error": "\(error)"])
                    self.run(self.machine.connectionFailed(connection, now: monotonicMillis()))
                }
            }
    }

    private func scheduleTick() {
        guard let deadline = machine.nextDeadline() else {
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
            run(machine.tick(now: monotonicMillis()))
        }
    }
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
        context.close(promise: nil)
    }
}
