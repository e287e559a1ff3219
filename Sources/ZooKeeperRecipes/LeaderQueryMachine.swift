import ZooKeeperProtocol
import ZooKeeperSession

/// Who leads an election (Curator's `LeaderLatch.getLeader`): the participant id in the data
/// of the lowest-sequence latch node under the election's path, or nil when nobody contends.
/// If that node goes between the listing and the read, the listing is taken again.
public struct LeaderQueryMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        /// The leader's participant id; nil: no participant.
        case leader(String?)
        case failed(ZooKeeperError)
    }

    /// Listings allowed when the lowest node keeps going away under us.
    static let rounds = 10

    private enum Phase: Equatable {
        case idle, listing(RecipeToken), reading(RecipeToken, node: String), done
    }

    public let path: String
    private var tokens = TokenSource()
    private var phase = Phase.idle
    private var rereads = 0

    public init(path: String) { self.path = path }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        return list()
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        switch input {
        case .watch: return []
        case let .session(event):
            guard phase != .done, let error = ZooKeeperError.ending(event, path: path) else { return [] }
            return finish(.failed(error))
        case let .result(token, result):
            switch phase {
            case .listing(token):
                switch result {
                case let .success(.children(children, _)):
                    guard let lowest = Contenders.sorted(children).first else { return finish(.leader(nil)) }
                    return read(RecipePath.join(path, lowest))
                case let .failure(error) where error.code == .noNode: return finish(.leader(nil))  // no election here
                default: return retryOrFail(result)
                }
            case let .reading(awaited, node) where awaited == token:
                switch result {
                case let .success(.data(data, _)): return finish(.leader(String(decoding: data, as: UTF8.self)))
                case let .failure(error) where error.code == .noNode:
                    // The leader left between the listing and the read: look again.
                    rereads += 1
                    return rereads < Self.rounds ? list() : finish(.failed(error))
                case let .failure(error) where error.isRecoverableLoss: return read(node)
                default: return retryOrFail(result)
                }
            default:
                return []
            }
        }
    }

    private mutating func retryOrFail(_ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch result {
        case let .failure(error) where error.isRecoverableLoss: return list()
        case let .failure(error): return finish(.failed(error))
        case .success: return finish(.failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer")))
        }
    }

    private mutating func list() -> [RecipeStep<Notice>] {
        let request = tokens.request(.getChildren(path: path, watch: false, includeStat: false))
        phase = .listing(request.token)
        return [.submit(request)]
    }

    private mutating func read(_ node: String) -> [RecipeStep<Notice>] {
        let request = tokens.request(.getData(path: node, watch: false))
        phase = .reading(request.token, node: node)
        return [.submit(request)]
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        phase = .done
        return [.notify(notice), .finished]
    }
}
