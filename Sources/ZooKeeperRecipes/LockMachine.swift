import ZooKeeperProtocol
import ZooKeeperSession

/// An exclusive lock, Curator's `InterProcessMutex` layout: each contender makes a protected
/// ephemeral-sequential `<path>/_c_<uuid>-lock-NNNNNNNNNN` (parents as containers); the lowest
/// sequence holds the lock; every other one watches its immediate predecessor with getData (a
/// watch that leaves nothing behind if the node is already gone) and looks again when it goes.
///
/// The leader latch is this machine under another node name (`LeaderLatchMachine`).
///
/// One machine is one acquisition: `acquire`, then `release` (or `abandon` to give up waiting).
/// A holder whose connection is lost hears `.suspended` at once (before the session could have
/// expired: the session notices silence at two thirds of its timeout); on reconnect it checks
/// its node still exists and hears `.acquired` again, or `.lost`.
public struct LockMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        /// The lock is ours (again, after a suspension).
        case acquired(path: String)
        /// The connection is gone: the lock may be lost; act as if it were until `.acquired`.
        case suspended
        /// The lock is no longer ours (the session ended, or our node was deleted).
        case lost(ZooKeeperError)
        /// `release` finished: our node is gone.
        case released
        /// The acquisition failed.
        case failed(ZooKeeperError)
    }

    /// Curator's lock name, the part of the node name before the sequence.
    public static let lockName = "lock-"

    private enum Phase: Equatable {
        case idle, creating, checking(RecipeToken), waiting(RecipeToken)
        case held, suspended, verifying(RecipeToken)
        /// Deleting our node; `quiet`: nobody waits for `.released` (an abandoned attempt).
        case releasing(RecipeToken, quiet: Bool)
        /// Given up while the create was in flight: delete what it makes.
        case abandoning
        case done
    }

    public let path: String
    public let data: [UInt8]
    /// Who holds among the contenders (exclusive, or the read side of a read-write lock).
    public let rule: LockRule
    private var create: ProtectedCreate
    private var tokens: TokenSource
    private var phase = Phase.idle
    /// Our node, once made.
    public private(set) var ourPath: String?

    /// A lock on `path`; `protectedId` names this attempt's node (random by default); `name`
    /// is the node name before the sequence (the leader latch contends with `latch-`); `rule`
    /// who holds (`LockMachine.read` and `.write` make the sides of a read-write lock).
    public init(path: String, data: [UInt8] = [], name: String = lockName, rule: LockRule = .exclusive,
                protectedId: String = ProtectedName.randomId(), tokens: TokenSource = TokenSource()) {
        self.path = path
        self.data = data
        self.rule = rule
        self.tokens = tokens
        create = ProtectedCreate(path: RecipePath.join(path, name), data: data, mode: .ephemeralSequential, protectedId: protectedId)
    }

    /// Whether the lock is held and not suspended.
    public var isHeld: Bool { phase == .held }
    /// Whether the machine will ask for nothing more.
    public var isDone: Bool { phase == .done }

    // MARK: Owner commands

    public mutating func acquire() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        phase = .creating
        return outcome(create.start(&tokens))
    }

    /// Lets go: deletes our node; `.released` once it is gone.
    public mutating func release() -> [RecipeStep<Notice>] {
        leave(quiet: false)
    }

    /// Gives up the acquisition (a time-out, a cancelled task): our node, made or in the
    /// making, is deleted; nothing more is told.
    public mutating func abandon() -> [RecipeStep<Notice>] {
        leave(quiet: true)
    }

    private mutating func leave(quiet: Bool) -> [RecipeStep<Notice>] {
        switch phase {
        case .idle:
            phase = .done
            return quiet ? [.finished] : [.notify(.released), .finished]
        case .creating:
            phase = .abandoning
            return quiet ? [] : [.notify(.released)]
        case .checking, .waiting, .held, .suspended, .verifying:
            return delete(quiet: quiet)
        case .releasing, .abandoning, .done:
            return []
        }
    }

    // MARK: Inputs

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        switch input {
        case let .result(token, result): return received(token, result)
        case let .watch(token, event):
            guard case .waiting(token) = phase, event.type != .none else { return [] }
            return check()
        case let .session(event): return sessionChanged(event)
        }
    }

    private mutating func received(_ token: RecipeToken, _ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch phase {
        case .creating, .abandoning:
            guard create.awaits(token) else { return [] }
            return outcome(create.receive(token, result, tokens: &tokens))
        case .checking(token):
            switch result {
            case let .success(.children(children, _)): return decide(children)
            case let .failure(error) where error.code == .noNode: return restart()
            case let .failure(error) where error.isRecoverableLoss: return check()
            case let .failure(error): return fail(error)
            case .success: return fail(ZooKeeperError(.marshallingError, path: path))
            }
        case .waiting(token):
            switch result {
            case let .success(.children(children, _)): return decide(children, watching: true)
            case .success: return []  // watching the predecessor
            case let .failure(error) where error.code == .noNode || error.isRecoverableLoss: return check()
            case let .failure(error): return fail(error)
            }
        case .verifying(token):
            switch result {
            case .success(.stat(.some)):
                phase = .held
                return [.notify(.acquired(path: ourPath ?? path))]
            case .success: return lose(ZooKeeperError(.noNode, path: ourPath, message: "our lock node is gone"))
            case let .failure(error) where error.isRecoverableLoss: return verify()
            case let .failure(error): return lose(error)
            }
        case let .releasing(token2, quiet) where token2 == token:
            switch result {
            case let .failure(error) where error.isRecoverableLoss: return delete(quiet: quiet)
            case let .failure(error) where error.code != .noNode && !error.isTerminal:
                phase = .done
                return quiet ? [.finished] : [.notify(.failed(error)), .finished]
            default:
                // Gone, or going with the session.
                phase = .done
                return quiet ? [.finished] : [.notify(.released), .finished]
            }
        default:
            return []
        }
    }

    private mutating func sessionChanged(_ event: SessionEvent) -> [RecipeStep<Notice>] {
        switch event {
        case .disconnected:
            guard phase == .held else { return [] }
            phase = .suspended
            return [.notify(.suspended)]
        case .reconnected, .connected, .connectedReadOnly:
            switch phase {
            case .suspended: return verify()
            case .waiting: return check()  // a deletion missed while away is seen now
            default: return []
            }
        case .expired, .closed, .authFailed:
            let error = ZooKeeperError(event == .expired ? .sessionExpired : event == .authFailed ? .authFailed : .connectionLoss,
                                       path: path, message: event == .closed ? "client is closed" : nil)
            switch phase {
            case .held, .suspended, .verifying: return lose(error)
            case .creating, .checking, .waiting: return fail(error)
            case let .releasing(_, quiet):
                phase = .done
                return quiet ? [.finished] : [.notify(.released), .finished]
            case .abandoning, .idle:
                phase = .done
                return [.finished]
            case .done: return []
            }
        case .connecting:
            return []
        }
    }

    // MARK: Steps

    private mutating func outcome(_ outcome: ProtectedCreate.Outcome) -> [RecipeStep<Notice>] {
        switch outcome {
        case let .pending(requests): return requests.map { .submit($0) }
        case let .created(created):
            ourPath = created
            if phase == .abandoning { return delete(quiet: true) }
            return check()
        case let .failed(error):
            if phase == .abandoning {
                phase = .done
                return [.finished]
            }
            return fail(error)
        }
    }

    private mutating func check() -> [RecipeStep<Notice>] {
        let request = tokens.request(.getChildren(path: path, watch: false, includeStat: false))
        phase = .checking(request.token)
        return [.submit(request)]
    }

    /// `watching`: `children` answer the request that set the current wait's watch (the
    /// counted rule's), so a wait goes on with that watch rather than asking again.
    private mutating func decide(_ children: [String], watching: Bool = false) -> [RecipeStep<Notice>] {
        let sorted = Contenders.sorted(children)
        guard let ourPath, let index = sorted.firstIndex(of: RecipePath.name(of: ourPath)) else { return restart() }
        switch rule.wait(in: sorted, at: index) {
        case nil:
            phase = .held
            return [.notify(.acquired(path: ourPath))]
        case _ where watching:
            return []  // the answer of the request that set the watch: still waiting on it
        case let .node(name)?:
            let request = tokens.request(.getData(path: RecipePath.join(path, name), watch: true))
            phase = .waiting(request.token)
            return [.submit(request)]
        case .children?:
            let request = tokens.request(.getChildren(path: path, watch: true, includeStat: false))
            phase = .waiting(request.token)
            return [.submit(request)]
        }
    }

    /// Our node vanished while we waited (deleted by someone): contend again with a new one.
    private mutating func restart() -> [RecipeStep<Notice>] {
        create = ProtectedCreate(path: create.path, data: data, mode: .ephemeralSequential)
        ourPath = nil
        phase = .creating
        return outcome(create.start(&tokens))
    }

    private mutating func verify() -> [RecipeStep<Notice>] {
        guard let ourPath else { return lose(ZooKeeperError(.noNode, path: path)) }
        let request = tokens.request(.exists(path: ourPath, watch: false))
        phase = .verifying(request.token)
        return [.submit(request)]
    }

    private mutating func delete(quiet: Bool) -> [RecipeStep<Notice>] {
        guard let ourPath else {
            phase = .done
            return quiet ? [.finished] : [.notify(.released), .finished]
        }
        let request = tokens.request(.delete(path: ourPath, version: -1))
        phase = .releasing(request.token, quiet: quiet)
        return [.submit(request)]
    }

    private mutating func lose(_ error: ZooKeeperError) -> [RecipeStep<Notice>] {
        end(with: .lost(error), error)
    }

    private mutating func fail(_ error: ZooKeeperError) -> [RecipeStep<Notice>] {
        end(with: .failed(error), error)
    }

    /// Tells `notice`; whatever is left of our node goes (with the session, or by a delete).
    private mutating func end(with notice: Notice, _ error: ZooKeeperError) -> [RecipeStep<Notice>] {
        if error.isTerminal || ourPath == nil {
            phase = .done
            return [.notify(notice), .finished]
        }
        return [.notify(notice)] + delete(quiet: true)
    }
}
