import ZooKeeperProtocol
import ZooKeeperSession

/// A protected create as a state machine: creates `<parent>/_c_<uuid>-<name>`, making missing
/// parents as containers, and after a connection loss finds the node it may have made (for an
/// ephemeral, among this session's own ephemerals) rather than making a second one. Used alone
/// and inside the lock and the latch, which forward it the inputs of its tokens.
public struct ProtectedCreate: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Submit these and keep feeding results.
        case pending([RecipeRequest])
        /// The node exists: its path (with the sequence suffix).
        case created(String)
        case failed(ZooKeeperError)
    }

    /// The path asked for, without protection (`/locks/a/lock-`).
    public let path: String
    public let data: [UInt8]
    public let mode: CreateMode
    public let acl: [ACL]
    /// `_c_<uuid>-`.
    public let prefix: String
    /// The path created with: the protected prefix before the last component.
    public let protectedPath: String

    /// Ancestor-creation rounds allowed (a container parent may be reaped between our parent
    /// create and our create).
    static let parentRounds = 3

    private var awaited: RecipeToken?
    private var parentRoundsUsed = 0
    /// The create was sent at least once, so a loss may have created the node.
    private var mayExist = false

    public init(path: String, data: [UInt8] = [], mode: CreateMode, acl: [ACL] = Ids.openACLUnsafe, protectedId: String = ProtectedName.randomId()) {
        self.path = path
        self.data = data
        self.mode = mode
        self.acl = acl
        prefix = ProtectedName.prefix(for: protectedId)
        protectedPath = RecipePath.join(RecipePath.parent(of: path), prefix + RecipePath.name(of: path))
    }

    var parent: String { RecipePath.parent(of: path) }

    /// Whether `token` is the request this create waits for.
    func awaits(_ token: RecipeToken) -> Bool { awaited == token }

    public mutating func start(_ tokens: inout TokenSource) -> Outcome {
        // The path asked for, not the protected one: "job-" alone would become "/_c_...-job-".
        do {
            try PathValidation.validate(path, sequential: mode.isSequential)
        } catch {
            return .failed(ZooKeeperError(.badArguments, path: path, message: error.description))
        }
        guard path != "/" else { return .failed(ZooKeeperError(.badArguments, path: path, message: "the root cannot be created")) }
        return .pending([create(&tokens)])
    }

    /// Feeds the result of one of this create's requests (other tokens are ignored: the
    /// ancestor creates of a parent round are answered but not awaited).
    public mutating func receive(_ token: RecipeToken, _ result: Result<OperationResult, ZooKeeperError>, tokens: inout TokenSource) -> Outcome {
        guard token == awaited else { return .pending([]) }
        awaited = nil
        switch result {
        case let .success(.created(created, _)):
            return .created(created)
        case let .success(.paths(ephemerals)):
            // getEphemerals: this session's nodes under our prefix; at most one is ours.
            if let ours = ephemerals.first(where: { $0.hasPrefix(protectedPath) }) { return .created(ours) }
            return .pending([create(&tokens)])
        case let .success(.children(children, _)):
            let ownPrefix = RecipePath.name(of: protectedPath)
            if let ours = children.first(where: { $0.hasPrefix(ownPrefix) }) { return .created(RecipePath.join(parent, ours)) }
            return .pending([create(&tokens)])
        case .success:
            return .failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer to a protected create"))
        case let .failure(error) where error.code == .noNode:
            // No parent (a find on a missing parent means nothing was created either).
            guard parentRoundsUsed < Self.parentRounds else { return .failed(error) }
            parentRoundsUsed += 1
            var requests = RecipePath.ancestors(of: protectedPath).map {
                tokens.request(.create(path: $0, data: [], acl: acl, mode: .container))
            }
            requests.append(create(&tokens))
            return .pending(requests)
        case let .failure(error) where error.isRecoverableLoss:
            // Queued by the session until it is connected again; then it tells what happened.
            return .pending([mayExist ? find(&tokens) : create(&tokens)])
        case let .failure(error):
            return .failed(error)
        }
    }

    private mutating func create(_ tokens: inout TokenSource) -> RecipeRequest {
        mayExist = true
        let request = tokens.request(.create(path: protectedPath, data: data, acl: acl, mode: mode))
        awaited = request.token
        return request
    }

    /// Looks for the node a lost create may have made: an ephemeral among this session's own
    /// (so the owner is checked in the same request), any other among the parent's children.
    private mutating func find(_ tokens: inout TokenSource) -> RecipeRequest {
        let request = tokens.request(mode.isEphemeral ? .getEphemerals(prefix: protectedPath) : .getChildren(path: parent, watch: false, includeStat: false))
        awaited = request.token
        return request
    }
}
