import ArgumentParser
import ZooKeeper

struct Ls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a node's children (sorted); -R lists the node's and every descendant's path.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(name: [.customShort("R"), .long], help: "The node and every descendant, as full paths, depth first.") var recursive = false
    @Flag(help: "Print a JSON array.") var json = false
    @Argument(help: "The node.") var path: String

    func run() async throws {
        try await connection.withClient { zk in
            let names: [String]
            if recursive {
                names = [path] + (try await TreeNode.read(zk, path).descendantPaths)
            } else {
                names = try await request(path) { () async throws in try await zk.getChildren(path) }.sorted()
            }
            if json { emit(JSON.array(names.map { .string($0) }).rendered) } else { names.forEach(emit) }
        }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a node's data; --watch then waits for the node's next change.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print the node's Stat too.") var stat = false
    @Flag(help: "Set a watch and print the event it fires.") var watch = false
    @Flag(help: "Print JSON: {path, data (or dataBase64), stat}, then the event.") var json = false
    @Argument(help: "The node.") var path: String

    func run() async throws {
        try await connection.withClient(show)
    }

    private func show(_ zk: ZooKeeperClient) async throws {
        let (events, fired) = AsyncStream<WatchEvent>.makeStream()
        var callback: WatchCallback?
        if watch { callback = { @Sendable event in fired.yield(event) } }
        let (data, nodeStat) = try await request(path) { () async throws in try await zk.getData(path, watch: callback) }
        if json {
            var fields: [(String, JSON)] = [("path", .string(path))] + dataJSON(data)
            if stat { fields.append(("stat", nodeStat.json)) }
            emit(JSON.object(fields).rendered)
        } else {
            emit(String(decoding: data, as: UTF8.self))
            if stat { emit(nodeStat.text) }
        }
        guard watch else { return }
        var iterator = events.makeAsyncIterator()
        if let event = await iterator.next() { emit(describe(event, json: json)) }
    }
}

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stat", abstract: "Print a node's Stat.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print the Stat's fields by name as a JSON object.") var json = false
    @Argument(help: "The node.") var path: String

    func run() async throws {
        try await connection.withClient { zk in
            guard let stat = try await request(path, { () async throws in try await zk.exists(path) }) else {
                throw CommandFailure(path, .noNode)
            }
            emit(json ? stat.json.rendered : stat.text)
        }
    }
}

struct Tree: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw the tree under a node.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print nested JSON objects: {name, path, children}.") var json = false
    @Argument(help: "The root of the drawing.") var path: String

    func run() async throws {
        try await connection.withClient { zk in
            let root = try await TreeNode.read(zk, path)
            if json { emit(root.json.rendered) } else { root.drawing.forEach(emit) }
        }
    }
}

/// One line per event: `NodeDataChanged /path`, or a JSON object.
func describe(_ event: WatchEvent, json: Bool) -> String {
    json ? JSON.object([("event", .string("\(event.type)")), ("path", .string(event.path))]).rendered
        : "\(event.type) \(event.path)"
}
