import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// A fixed protected id, so tests know the names machines make.
let testId = "0f8fad5b-d9cb-469f-a165-70867728950e"
let ourPrefix = "_c_\(testId)-"

/// Drives one machine with scripted inputs and keeps what it asked for.
struct Script<Machine: RecipeMachine> {
    var machine: Machine
    /// Every step, in order.
    private(set) var steps: [RecipeStep<Machine.Notice>] = []
    /// Requests submitted and not yet answered by the script.
    private(set) var open: [RecipeRequest] = []

    init(_ machine: Machine) { self.machine = machine }

    /// Runs an owner command; returns its steps.
    @discardableResult
    mutating func command(_ body: (inout Machine) -> [RecipeStep<Machine.Notice>]) -> [RecipeStep<Machine.Notice>] {
        record(body(&machine))
    }

    @discardableResult
    mutating func feed(_ input: RecipeInput) -> [RecipeStep<Machine.Notice>] {
        record(machine.receive(input))
    }

    /// Answers the oldest open request whose operation matches.
    @discardableResult
    mutating func answer(_ result: Result<OperationResult, ZooKeeperError>, where match: (Operation) -> Bool = { _ in true },
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> [RecipeStep<Machine.Notice>] {
        let index = try #require(open.firstIndex { match($0.operation) }, "no open request matches; open: \(open)", sourceLocation: sourceLocation)
        let request = open.remove(at: index)
        return feed(.result(request.token, result))
    }

    /// Answers the last open request (the one the machine asked for most recently).
    @discardableResult
    mutating func answerLast(_ result: Result<OperationResult, ZooKeeperError>, sourceLocation: SourceLocation = #_sourceLocation) throws -> [RecipeStep<Machine.Notice>] {
        let last = open.popLast()
        let request = try #require(last, "no open request", sourceLocation: sourceLocation)
        return feed(.result(request.token, result))
    }

    /// The last open request.
    func last(sourceLocation: SourceLocation = #_sourceLocation) throws -> RecipeRequest {
        try #require(open.last, "no open request", sourceLocation: sourceLocation)
    }

    /// Drops every open request without answering (a test that does not care).
    mutating func forgetOpen() { open.removeAll() }

    private mutating func record(_ new: [RecipeStep<Machine.Notice>]) -> [RecipeStep<Machine.Notice>] {
        steps += new
        for case let .submit(request) in new { open.append(request) }
        return new
    }
}

/// The notices among `steps`.
func notices<N>(_ steps: [RecipeStep<N>]) -> [N] {
    steps.compactMap { if case let .notify(notice) = $0 { notice } else { nil } }
}

/// The operations among `steps`.
func operations<N>(_ steps: [RecipeStep<N>]) -> [Operation] {
    steps.compactMap { if case let .submit(request) = $0 { request.operation } else { nil } }
}

func finishes<N>(_ steps: [RecipeStep<N>]) -> Bool {
    steps.contains { if case .finished = $0 { true } else { false } }
}

func stat(version: Int32 = 0, owner: Int64 = 0) -> Stat {
    Stat(czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: version, cversion: 0, aversion: 0, ephemeralOwner: owner, dataLength: 0, numChildren: 0, pzxid: 1)
}

let loss = ZooKeeperError(.connectionLoss)
