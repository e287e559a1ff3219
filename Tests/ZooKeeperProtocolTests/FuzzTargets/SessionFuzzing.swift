import ZooKeeperProtocol
import ZooKeeperSession

/// The session state machine after a handshake, driven by a script of server bytes and other
/// events: whatever a server sends, the machine must not trap, must answer every request exactly
/// once (never one it was told to forget), and must end when closed.
///
/// The input is a list of commands, each an opcode byte and an argument byte:
/// opcode % 8 in 0...1 feeds the next `argument` bytes to the session's connection, 2...3 to the
/// connection opened last (a read-write probe's, when one is open); 4 lets
/// `argument` × 50 ms pass; 5 closes the connection from the server's side; 6 submits request
/// `argument`; 7 cancels an earlier request. A connection the machine opens is established at
/// once, so its first bytes must be a ConnectResponse.
public enum SessionFuzzing {
    /// One request the script can submit, with the body a server answers it with (for seeds).
    struct Request {
        var operation: Operation
        var watcher: WatcherID?
        var reply: any JuteEncodable
    }

    static let stat = FuzzSeeds.stat

    /// Every kind of request, so that every reply decoder is reached (the chroot is /app).
    static let requests: [Request] = [
        Request(operation: .getData(path: "/a", watch: true), watcher: 1, reply: GetDataResponse(data: [1, 2], stat: stat)),
        Request(operation: .exists(path: "/b", watch: true), watcher: 2, reply: StatResponse(stat: stat)),
        Request(operation: .getChildren(path: "/c", watch: true, includeStat: true), watcher: 3, reply: GetChildren2Response(children: ["x", "y"], stat: stat)),
        Request(operation: .getChildren(path: "/c", watch: false, includeStat: false), reply: GetChildrenResponse(children: ["x"])),
        Request(operation: .create(path: "/d", data: [1], acl: FuzzSeeds.acl, mode: .persistentSequential), reply: Create2Response(path: "/app/d0000000001", stat: stat)),
        Request(operation: .create(path: "/e", data: [], acl: FuzzSeeds.acl, mode: .persistentWithTTL, ttl: 1000), reply: Create2Response(path: "/app/e", stat: stat)),
        Request(operation: .setData(path: "/a", data: [3], version: -1), reply: StatResponse(stat: stat)),
        Request(operation: .delete(path: "/a", version: 5), reply: EmptyRecord()),
        Request(operation: .getACL(path: "/a"), reply: GetACLResponse(acl: FuzzSeeds.acl, stat: stat)),
        Request(operation: .setACL(path: "/a", acl: FuzzSeeds.acl, version: 1), reply: StatResponse(stat: stat)),
        Request(operation: .getAllChildrenNumber(path: "/c"), reply: GetAllChildrenNumberResponse(totalNumber: 2)),
        Request(operation: .getEphemerals(prefix: "/"), reply: GetEphemeralsResponse(ephemerals: ["/app/d0000000001"])),
        Request(operation: .sync(path: "/a"), reply: PathRequest(path: "/app/a")),
        Request(operation: .multi([.create(CreateRequest(path: "/m", data: [1], acl: FuzzSeeds.acl, mode: .persistent)), .check(CheckVersionRequest(path: "/m", version: 0))]),
                reply: MultiResponse(results: [.create(path: "/app/m"), .check])),
        Request(operation: .multiRead([.getData(GetDataRequest(path: "/m")), .getChildren(GetChildrenRequest(path: "/"))]),
                reply: MultiResponse(results: [.getData(data: [1], stat: stat), .getChildren(children: ["m"])])),
        Request(operation: .addWatch(path: "/r", mode: .persistentRecursive), watcher: 4, reply: ErrorResponse(err: 0)),
        Request(operation: .checkWatches(path: "/a", type: .data), reply: EmptyRecord()),
        Request(operation: .removeWatches(path: "/a", type: .any, local: false), reply: EmptyRecord()),
        Request(operation: .whoAmI, reply: WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "digest", user: "u")])),
        Request(operation: .getConfig(watch: true), watcher: 5, reply: GetDataResponse(data: Array("server.1=x".utf8), stat: stat)),
        Request(operation: .reconfig(ReconfigRequest(joiningServers: "server.4=h4:2888:3888")), reply: GetDataResponse(data: [], stat: stat)),
        // Last: auth replies come with their own xid and take no number from the sequence.
        Request(operation: .addAuth(scheme: "digest", credentials: Array("u:p".utf8)), reply: EmptyRecord()),
    ]

    static let sessionId: Int64 = 0x0123_4567_89AB_CDEF
    static let password = [UInt8](1...16)

    static func handshake(readOnly: Bool) -> [UInt8] {
        FrameEncoder.frame { ConnectResponse(timeOut: 9_000, sessionId: sessionId, passwd: password, readOnly: readOnly).encode(to: &$0) }
    }

    static func replyFrame(xid: Int32, err: ErrorCode = .ok, body: any JuteEncodable) -> [UInt8] {
        FrameEncoder.frame { writer in
            ReplyHeader(xid: xid, zxid: Int64(max(xid, 0)) + 100, err: err.rawValue).encode(to: &writer)
            body.encode(to: &writer)
        }
    }

    /// What a script saw happen.
    struct Ledger {
        var submitted: Set<RequestID> = []
        var completed: Set<RequestID> = []
        var forgotten: Set<RequestID> = []
        /// The connection opened last, and every connection open.
        var connection: ConnectionID = 0
        var open: Set<ConnectionID> = []
        var pendingConnect: ConnectionID?

        mutating func take(_ actions: [SessionAction]) {
            for action in actions {
                switch action {
                case let .connect(_, id):
                    pendingConnect = id
                case let .complete(id, _):
                    precondition(submitted.contains(id), "a completion for request \(id), never submitted")
                    precondition(!forgotten.contains(id), "a completion for request \(id), cancelled before")
                    precondition(completed.insert(id).inserted, "request \(id) completed twice")
                case let .send(bytes, id):
                    precondition(open.contains(id), "a send on connection \(id), which is not open")
                    precondition(!bytes.isEmpty, "an empty send")
                case let .closeConnection(id):
                    open.remove(id)
                default:
                    break
                }
            }
        }
    }

    /// Runs one script (see the type's comment).
    public static func run(_ input: [UInt8]) {
        guard let chroot = try? Chroot("/app") else { return }
        var configuration = SessionConfiguration(
            connectString: ConnectString(hosts: [HostAddress(host: "h1", port: 2181), HostAddress(host: "h2", port: 2182)], chroot: chroot),
            sessionTimeout: 9_000, canBeReadOnly: true, maxFrameLength: 64 * 1024, reconnectPause: 100, shuffleSeed: 1)
        configuration.connectTimeout = 2_000
        var machine = SessionStateMachine(configuration: configuration)
        var ledger = Ledger()
        var now: Millis = 0

        func establishPending() {
            while let id = ledger.pendingConnect {
                ledger.pendingConnect = nil
                ledger.connection = id
                ledger.open.insert(id)
                ledger.take(machine.connectionEstablished(id, now: now))
            }
        }
        func submit(_ index: Int) {
            let request = requests[index % requests.count]
            let (id, actions) = machine.submit(request.operation, watcher: request.watcher, timeout: 5_000, now: now)
            ledger.submitted.insert(id)
            ledger.take(actions)
        }

        ledger.take(machine.start(now: now))
        establishPending()
        ledger.take(machine.bytesReceived(handshake(readOnly: false), connection: ledger.connection, now: now))
        establishPending()

        var offset = input.startIndex
        while offset + 1 < input.endIndex {
            let (opcode, argument) = (input[offset] % 8, Int(input[offset + 1]))
            offset += 2
            switch opcode {
            case 0...3:
                let end = min(offset + argument, input.endIndex)
                let target = opcode < 2 ? machine.currentConnection ?? ledger.connection : ledger.connection
                ledger.take(machine.bytesReceived(input[offset..<end], connection: target, now: now))
                offset = end
            case 4:
                now += Millis(argument) * 50
                ledger.take(machine.tick(now: now))
            case 5:
                ledger.open.remove(ledger.connection)
                ledger.take(machine.connectionClosed(ledger.connection, now: now))
            case 6:
                submit(argument)
            default:
                let candidates = ledger.submitted.subtracting(ledger.completed).sorted()
                if !candidates.isEmpty {
                    let id = candidates[argument % candidates.count]
                    ledger.forgotten.insert(id)
                    ledger.take(machine.cancel(id))
                }
            }
            establishPending()
            if let deadline = machine.nextDeadline() { precondition(deadline >= 0, "a deadline before the start: \(deadline)") }
        }

        // Closing ends everything: every request answered or forgotten, the session terminal.
        ledger.take(machine.close(now: now))
        now += 60_000
        ledger.take(machine.tick(now: now))
        precondition(machine.state.isTerminal, "still \(machine.state) after close and its timeout")
        let unanswered = ledger.submitted.subtracting(ledger.completed).subtracting(ledger.forgotten)
        precondition(unanswered.isEmpty, "requests never answered: \(unanswered.sorted())")
    }

    // MARK: Seeds

    static func feed(_ bytes: [UInt8]) -> [UInt8] {
        stride(from: 0, to: bytes.count, by: 255).flatMap { start -> [UInt8] in
            let piece = bytes[start..<min(start + 255, bytes.count)]
            return [0, UInt8(piece.count)] + Array(piece)
        }
    }

    /// Scripts that submit every request and answer them: as a server would, with errors,
    /// with events and pings between, and across a reconnect with SetWatches.
    public static var corpus: [[UInt8]] {
        let submitAll: [UInt8] = requests.indices.flatMap { index -> [UInt8] in [6, UInt8(index)] }
        var answers: [UInt8] = []
        var errors: [UInt8] = []
        var xid: Int32 = 0
        for request in requests {
            if case .addAuth = request.operation {
                answers += replyFrame(xid: Xid.auth, body: EmptyRecord())
                errors += replyFrame(xid: Xid.auth, err: .authFailed, body: EmptyRecord())
                continue
            }
            xid += 1
            answers += replyFrame(xid: xid, body: request.reply)
            errors += replyFrame(xid: xid, err: .noNode, body: EmptyRecord())
        }
        let event = replyFrame(xid: Xid.watchEvent, body: WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/app/a"))
        let recursive = replyFrame(xid: Xid.watchEvent, body: WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/app/r/s"))
        let ping = replyFrame(xid: Xid.ping, body: EmptyRecord())
        let setWatches = replyFrame(xid: Xid.setWatches, body: EmptyRecord())
        let ticks: [UInt8] = [4, 100]
        let cancel: [UInt8] = [7, 0]
        let drop: [UInt8] = [5, 0]
        let long: [UInt8] = [4, 255, 4, 255]
        var scripts: [[UInt8]] = []
        scripts.append(submitAll + feed(answers))
        scripts.append(submitAll + feed(errors))
        scripts.append(submitAll + feed(answers + event + recursive + ping) + ticks + cancel)
        scripts.append(submitAll + feed(answers) + drop + feed(handshake(readOnly: false) + setWatches + event) + ticks)
        scripts.append(submitAll + drop + feed(handshake(readOnly: true) + setWatches) + long)
        scripts.append(submitAll + [7, 3, 7, 5] + feed(answers) + long)
        // On a read-only server: a probe opens after 100 ms and hears "ro", then "rw" (a move).
        var readOnly: [UInt8] = drop + feed(handshake(readOnly: true) + setWatches)
        readOnly += [4, 3, 2, 2] + Array("ro".utf8)
        readOnly += [4, 5, 2, 2] + Array("rw".utf8)
        scripts.append(submitAll + feed(answers) + readOnly + feed(handshake(readOnly: false)))
        return scripts
    }
}
