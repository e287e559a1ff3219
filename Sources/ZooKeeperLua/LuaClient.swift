import CZooKeeperLua
import ZooKeeperProtocol
import ZooKeeperSession

/// One resty.zookeeper client object. Everything here runs on the Lua thread that owns the
/// client, except the closures handed to the ZooKeeper client, which only post to the mailbox
/// or hand an operation's result to its ticket (`OperationAnswer`).
final class LuaClient {
    /// What a method asks of the glue.
    enum Outcome {
        case done([LuaValue])
        case raise(String)
        case wait(Ticket)
    }

    /// A call in progress: when it is ready and how to answer it.
    final class Ticket {
        let id: UInt64
        var deadline: Int64
        /// An operation's result, handed straight to the ticket by the thread whose driving
        /// answered it (no mailbox), and how to answer the call with it; nil for other calls.
        let answer: OperationAnswer?
        private let format: ((Result<OperationResult, ZooKeeperError>) -> Outcome)?
        /// Checked under the mailbox lock with the pending news and contract watch events.
        private let ready: (_ news: [Mailbox.News], _ watchEvents: [WatchEvent]) -> Bool
        /// Builds the answer from the ticket's news (or at the deadline, with what there is).
        private let answerNews: (_ news: [Mailbox.News], _ timedOut: Bool) -> Outcome
        /// A batch: ready when every part is, answered by combining the parts' answers.
        var parts: [Ticket] = []
        var combine: (([Outcome]) -> Outcome)?
        /// The batch this ticket is a part of (0: none).
        var batch: UInt64 = 0
        /// Ready by something else than its own news (dispatch: callbacks having run).
        var readyWithoutNews = false

        init(id: UInt64, deadline: Int64, isReady: @escaping ([Mailbox.News], [WatchEvent]) -> Bool,
             finish: @escaping ([Mailbox.News], Bool) -> Outcome) {
            self.id = id
            self.deadline = deadline
            ready = isReady
            answerNews = finish
            answer = nil
            format = nil
        }

        init(id: UInt64, deadline: Int64, answer: OperationAnswer, format: @escaping (Result<OperationResult, ZooKeeperError>) -> Outcome) {
            self.id = id
            self.deadline = deadline
            self.answer = answer
            self.format = format
            ready = { _, _ in false }
            answerNews = { _, _ in .done([]) }
        }

        /// Whether the call can be answered, given the mailbox's news by ticket (under its lock).
        func isReady(in news: [UInt64: [Mailbox.News]], _ watchEvents: [WatchEvent]) -> Bool {
            if !parts.isEmpty { return parts.allSatisfy { $0.isReady(in: news, watchEvents) } }
            if let answer { return answer.isAnswered }
            return ready(news[id] ?? [], watchEvents)
        }

        /// The call's answer: from its own answer, or from its news (taken from the mailbox).
        func finish(news: () -> [Mailbox.News]) -> Outcome {
            if let answer, let format { return format(answer.result ?? .failure(ZooKeeperError(.operationTimeout))) }
            let news = news()
            let timedOut = !ready(news, []) && monotonicNow() >= deadline
            return answerNews(news, timedOut)
        }
    }

    // Options of zk.new.
    var connectString: String
    var timeoutMillis: Int64
    var sessionTimeoutMillis: Int64
    var debug: Bool
    /// The longest reply accepted (`max_frame_bytes`).
    let maxFrameBytes: Int
    /// SASL and TLS for every session of this client (never logged: the password stays here).
    var sasl: SASLCredentials?
    /// Accept a read-only server (`read_only = true`); the session then looks for a read-write one.
    var readOnly = false
    var tls: TLSOptions?
    /// Lua moves the bytes (on nginx cosockets): nothing here may block.
    let hostedIO: Bool
    /// Shared by many requests (nginx's per-worker client): a watch() waits for its own watch's
    /// event, not the session's next one.
    let shared: Bool
    /// The hosted sessions' I/O, for the Lua driver (it moves with a session kept between requests).
    var io = HostedIO()
    /// nginx per-request clients: how this client's sessions are kept for the next request
    /// (`keepalive`), nil when they are not.
    var keepalive: SessionKeepalive.Options?

    var zk: LuaSession?
    /// Whether close() ended the last session (session_state() then says "closed").
    var closedByUser = false
    let mailbox: Mailbox
    var tickets: [UInt64: Ticket] = [:]
    private var nextTicket: UInt64 = 1
    /// Registry references the core holds, and those to hand back.
    private var ownedRefs: Set<Int32> = []
    private var releasedRefs: [Int32] = []
    /// State-change callbacks (released when the client closes).
    var stateRefs: [Int32] = []
    /// For each state-change callback, the mailbox's last sequence number when it was
    /// registered: it hears only the state changes posted after that.
    var stateSince: [Int32: UInt64] = [:]
    private var stateObservation: SessionObservation?
    var logLines: [String] = []
    /// The recipe objects Lua holds (client:lock, election, counter), by the id their userdata carries.
    var recipes: [UInt64: LuaRecipe] = [:]
    var nextRecipe: UInt64 = 1
    var requestCount: UInt64 = 0
    /// An `_async` call is starting: nobody drives the session right after it.
    var startingAsync = false
    var authCount = 0

    /// Kept alive for the glue until the next call: the last reply and the last event.
    var reply: [UInt8] = []
    var ioBytes: [UInt8] = []
    var eventArguments: [UInt8] = []
    var readyIds: [UInt64] = []
    var logLine: [CChar] = []

    init(connectString: String, timeoutMillis: Int64, sessionTimeoutMillis: Int64, debug: Bool,
         maxFrameBytes: Int = FrameDecoder.defaultMaxFrameLength, hostedIO: Bool = false, shared: Bool = false) {
        self.maxFrameBytes = maxFrameBytes
        self.hostedIO = hostedIO
        self.shared = shared
        mailbox = Mailbox(blocking: !hostedIO, tracksAnswered: hostedIO && shared)
        self.connectString = connectString
        self.timeoutMillis = timeoutMillis
        self.sessionTimeoutMillis = sessionTimeoutMillis
        self.debug = debug
    }

    deinit {
        zk?.beginClose()
    }

    // MARK: Tickets

    func makeTicket(deadline: Int64, isReady: @escaping ([Mailbox.News], [WatchEvent]) -> Bool,
                    finish: @escaping ([Mailbox.News], Bool) -> Outcome) -> Ticket {
        let ticket = Ticket(id: nextTicket, deadline: deadline, isReady: isReady, finish: finish)
        nextTicket += 1
        tickets[ticket.id] = ticket
        return ticket
    }

    /// Waits for a ticket: true when it is ready, false when a callback is due first.
    func wait(_ id: UInt64) -> Bool {
        guard let ticket = tickets[id] else { return true }
        if hostedIO { return check(id) != .callbackDue }  // never blocks: Lua drives
        guard let zk, !zk.state.isTerminal else {
            // No session to drive: a terminal session answered every request as it ended.
            return !mailbox.wait(until: ticket.deadline) { news, watchEvents in ticket.isReady(in: news, watchEvents) }
        }
        // This thread does the session's I/O itself until the answer (or a callback) is there.
        var callbackDue = false
        if let answer = ticket.answer {
            // An operation: its answer reaches the ticket straight from this thread's driving;
            // neither the mailbox's lock nor its news is involved.
            zk.drive(until: ticket.deadline) {
                callbackDue = mailbox.hasCallbacks
                return callbackDue || answer.isAnswered
            }
            return !callbackDue
        }
        zk.drive(until: ticket.deadline) {
            let state = mailbox.check { news, watchEvents in ticket.isReady(in: news, watchEvents) }
            callbackDue = state.callbackDue
            return state.callbackDue || state.ready
        }
        return !callbackDue
    }

    enum Readiness: Int32 {
        case pending = 0, ready = 1, callbackDue = 2
    }

    /// Looks at a ticket without waiting (for the cosocket driver): answered or past its
    /// deadline, or a callback due first, or neither.
    /// Ticket 0 asks only whether a callback is due.
    func check(_ id: UInt64) -> Readiness {
        let ticket = tickets[id]
        if ticket == nil && id != 0 { return .ready }
        // A closure that does not escape: no allocation per check (the cosocket driver checks often).
        let state = mailbox.check { news, watchEvents in ticket?.isReady(in: news, watchEvents) ?? false }
        if let ticket, state.ready || monotonicNow() >= ticket.deadline { return .ready }
        return state.callbackDue ? .callbackDue : .pending
    }

    /// The tickets that became ready since the last call (of those that got news, and those
    /// ready without news), each once, and whether a callback is due: for a shared client's
    /// driver, which wakes these waiters only. A ticket past its deadline is not reported: its
    /// waiter wakes at the deadline by itself.
    func takeReadyTickets() -> (ids: [UInt64], callbackDue: Bool) {
        var ids: [UInt64] = []
        var candidates = mailbox.takeAnswered()
        for (id, ticket) in tickets where ticket.readyWithoutNews { candidates.append(id) }
        for id in candidates {
            guard let ticket = tickets[id] else { continue }
            let target = ticket.batch != 0 ? ticket.batch : id
            guard !ids.contains(target), let waited = tickets[target],
                  mailbox.check(ready: { news, watchEvents in waited.isReady(in: news, watchEvents) }).ready else { continue }
            ids.append(target)
        }
        return (ids, check(0) == .callbackDue)
    }

    /// Drops a ticket nobody will finish (an async handle collected unwaited): its answer is
    /// dropped from the mailbox when it comes, or at its deadline.
    func forget(_ id: UInt64) {
        guard let ticket = tickets.removeValue(forKey: id) else { return }
        for part in ticket.parts.isEmpty ? [ticket] : ticket.parts {
            tickets[part.id] = nil
            // An operation's answer goes to its ticket, dropped with it; other news to the mailbox.
            if part.answer == nil { abandonedTickets.append((part.id, part.deadline)) }
        }
    }

    /// The deadline of a ticket (monotonic ms), if it is known.
    func deadline(of id: UInt64) -> Int64? { tickets[id]?.deadline }

    func finish(_ id: UInt64) -> Outcome {
        guard let ticket = tickets.removeValue(forKey: id) else { return .raise("resty.zookeeper: unknown call") }
        if let combine = ticket.combine { return combine(ticket.parts.map { finish($0.id) }) }
        return ticket.finish { mailbox.takeNews(id) }
    }

    /// Submits an operation; the ticket is ready when it is answered. The answer goes straight
    /// to the ticket (the thread that drove the session to it sets it), not through the mailbox.
    func submit(_ operation: Operation, watch: SessionListeners.WatchHandler? = nil, persistent: Bool = false,
                format: @escaping (Result<OperationResult, ZooKeeperError>) -> Outcome) -> Outcome {
        guard let zk, !zk.state.isTerminal else { return format(.failure(sessionEndedError)) }
        requestCount += 1
        let answer = OperationAnswer()
        let ticket = Ticket(id: nextTicket, deadline: monotonicNow() + timeoutMillis + 1_000, answer: answer, format: format)
        nextTicket += 1
        tickets[ticket.id] = ticket
        if mailbox.tracksAnswered {
            // A shared client's driver learns from the mailbox which waiters to wake.
            let (mailbox, id) = (self.mailbox, ticket.id)
            zk.submit(operation, watch: watch, persistent: persistent, timeout: .milliseconds(timeoutMillis), thenDrive: !startingAsync) { result in
                answer.deliver(result)
                mailbox.noteAnswered(id)
            }
        } else {
            zk.submit(operation, watch: watch, persistent: persistent, timeout: .milliseconds(timeoutMillis), thenDrive: !startingAsync,
                      completion: answer.deliver)
        }
        return .wait(ticket)
    }

    /// Why a call cannot start: the session expired or failed its auth (a script must be able
    /// to tell that its ephemerals and watches are gone), else there is none ("not connected").
    var sessionEndedError: ZooKeeperError {
        switch zk?.state {
        case .expired?: ZooKeeperError(.sessionExpired)
        case .authFailed?: ZooKeeperError(.authFailed)
        default: ZooKeeperError.closed()
        }
    }

    // MARK: Registry references

    /// References a method keeps (callbacks it registered); the others of its call go back.
    private var keptRefs: Set<Int32> = []
    private(set) var callbacksRun = 0

    /// Tickets of a batch that failed half way; their late answers are dropped from the mailbox.
    var abandonedTickets: [(id: UInt64, deadline: Int64)] = []

    /// Runs a method with ownership of the references its arguments carry: those it keeps stay
    /// owned, the rest are handed back at once.
    func perform(_ method: String, _ values: [LuaValue]) -> Outcome {
        dropAbandonedAnswers()
        let refs = values.flatMap(\.functionRefs)
        ownedRefs.formUnion(refs)
        keptRefs = []
        defer {
            for ref in refs where !keptRefs.contains(ref) { release(ref) }
            keptRefs = []
        }
        do {
            return try call(method, LuaArguments(method: method, values: values))
        } catch {
            return .raise(error.message)
        }
    }

    /// `perform` for simple arguments (no function among them, so no reference to own).
    func perform(_ method: String, simple arguments: UnsafeBufferPointer<zkl_arg>) -> Outcome {
        dropAbandonedAnswers()
        do {
            return try call(method, LuaArguments(method: method, simple: arguments))
        } catch {
            return .raise(error.message)
        }
    }

    private func dropAbandonedAnswers() {
        guard !abandonedTickets.isEmpty else { return }
        let now = monotonicNow()
        abandonedTickets.removeAll { !mailbox.takeNews($0.id).isEmpty || now > $0.deadline }
    }

    /// Keeps a reference of the current call's arguments.
    func keep(_ ref: Int32) { keptRefs.insert(ref) }

    /// Hands a reference back to Lua (once).
    func release(_ ref: Int32) {
        if ownedRefs.remove(ref) != nil { releasedRefs.append(ref) }
    }

    func owns(_ ref: Int32) -> Bool { ownedRefs.contains(ref) }

    /// Whether Lua callbacks or objects are tied to this client (references it holds).
    var holdsReferences: Bool { !ownedRefs.isEmpty || !releasedRefs.isEmpty }

    func takeReleasedRef() -> Int32 {
        releasedRefs.isEmpty ? 0 : releasedRefs.removeFirst()
    }

    /// A watch callback that posts its events for the Lua thread; one-shot ones are the last
    /// call, persistent ones end with their removal or the session's end.
    func watchCallback(ref: Int32, persistent: Bool) -> SessionListeners.WatchHandler {
        let mailbox = self.mailbox
        return { event in
            let ends = !persistent || event.type == .persistentWatchRemoved || event.type == .none
            mailbox.post(callback: Mailbox.Callback(ref: ref, arguments: [LuaFormat.event(event)], last: ends))
        }
    }

    /// State changes fanned out to every on_state callback, waiting their turn.
    private var pendingStateCalls: [Mailbox.Callback] = []

    /// The next callback to run, skipping those whose reference was handed back meanwhile.
    /// A mailbox entry with reference 0 is a state change, for every on_state callback.
    func nextCallback() -> Mailbox.Callback? {
        while true {
            if !pendingStateCalls.isEmpty {
                let call = pendingStateCalls.removeFirst()
                if owns(call.ref) {
                    callbacksRun += 1
                    return call
                }
                continue
            }
            guard let callback = mailbox.takeCallback() else { return nil }
            if callback.ref == 0 {
                pendingStateCalls = stateRefs.filter { (stateSince[$0] ?? 0) < callback.sequence }
                    .map { Mailbox.Callback(ref: $0, arguments: callback.arguments, last: false) }
                continue
            }
            guard owns(callback.ref) else { continue }
            if callback.last { release(callback.ref) }
            callbacksRun += 1
            return callback
        }
    }

    // MARK: Session

    func stopObservingState() {
        stateObservation?.cancel()
        stateObservation = nil
    }

    func observeState(of client: LuaSession) {
        let mailbox = self.mailbox
        stateObservation?.cancel()
        stateObservation = client.onStateChange { event in
            mailbox.post(state: event, callback: Mailbox.Callback(ref: 0, arguments: [LuaFormat.sessionEventName(event)], last: false))
        }
    }

    /// Ends the session (waiting up to a second for the server, see below) and hands back every
    /// reference.
    func releaseEverything() {
        stateObservation?.cancel()
        stateObservation = nil
        // Collected, often as the process ends: wait (a little) for the server to end the
        // session, or its ephemerals would stay until it expires.
        zk?.closeAndWait(timeout: 1_000)
        for ref in ownedRefs { releasedRefs.append(ref) }
        ownedRefs.removeAll()
        stateRefs.removeAll()
        stateSince.removeAll()
        tickets.removeAll()
        recipes.removeAll()
    }
}
