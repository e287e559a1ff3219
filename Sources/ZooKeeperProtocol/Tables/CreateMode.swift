/// How a node is created (CreateMode): the flag value sent in CreateRequest.flags.
public enum CreateMode: Int32, Sendable, CaseIterable {
    case persistent = 0
    case ephemeral = 1
    case persistentSequential = 2
    case ephemeralSequential = 3
    /// Removed by the server once its last child is gone.
    case container = 4
    /// Removed by the server when it has had no children and no change for the TTL.
    case persistentWithTTL = 5
    case persistentSequentialWithTTL = 6

    public var isEphemeral: Bool { self == .ephemeral || self == .ephemeralSequential }
    public var isSequential: Bool { self == .persistentSequential || self == .ephemeralSequential || self == .persistentSequentialWithTTL }
    public var isContainer: Bool { self == .container }
    public var isTTL: Bool { self == .persistentWithTTL || self == .persistentSequentialWithTTL }

    /// The opcode that creates a node of this mode and answers with its Stat.
    public var createOpCode: OpCode {
        if isContainer { return .createContainer }
        if isTTL { return .createTTL }
        return .create2
    }

    /// The mode for the original Lua client's ("persistent"|"ephemeral", sequential) pair.
    public init(ephemeral: Bool, sequential: Bool) {
        switch (ephemeral, sequential) {
        case (false, false): self = .persistent
        case (true, false): self = .ephemeral
        case (false, true): self = .persistentSequential
        case (true, true): self = .ephemeralSequential
        }
    }
}
