import ArgumentParser
import ZooKeeper

struct SetData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a node's data.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only if the node is at this version.") var version: Int32 = -1
    @Argument(help: "The node.") var path: String
    @Argument(help: "The new data (UTF-8).") var data: String

    func run() async throws {
        try await connection.withClient { zk in
            _ = try await request(path) { () async throws in try await zk.setData(path, data: Array(data.utf8), version: version) }
        }
    }
}

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node and print its path (a sequential node's path has its counter).",
        discussion: "An ephemeral node lives as long as the command's session: it is gone when zk exits.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "An ephemeral node.") var ephemeral = false
    @Flag(help: "Append a sequence number to the name.") var sequential = false
    @Flag(help: "A container node (the server removes it once its last child is gone).") var container = false
    @Option(help: "Milliseconds a childless, unchanged node lives (needs extendedTypesEnabled on the server).") var ttl: Int64?
    @Argument(help: "The node.") var path: String
    @Argument(help: "Its data (UTF-8).") var data: String = ""

    func validate() throws {
        if container && (ephemeral || sequential || ttl != nil) {
            throw ValidationError("--container goes with none of --ephemeral, --sequential, --ttl")
        }
        if let ttl {
            guard !ephemeral else { throw ValidationError("--ttl goes with persistent nodes only") }
            guard ttl > 0 else { throw ValidationError("--ttl must be a positive number of milliseconds") }
        }
    }

    var mode: CreateMode {
        if container { return .container }
        if ttl != nil { return sequential ? .persistentSequentialWithTTL : .persistentWithTTL }
        return CreateMode(ephemeral: ephemeral, sequential: sequential)
    }

    func run() async throws {
        try await connection.withClient { zk in
            let created = try await request(path) { () async throws in
                try await zk.create(path, data: Array(data.utf8), mode: mode, ttl: ttl.map { .milliseconds($0) })
            }
            emit(created.path)
        }
    }
}

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a node; -r deletes its descendants first.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(name: [.customShort("r"), .long], help: "Delete every descendant, then the node.") var recursive = false
    @Option(help: "Only if the node is at this version.") var version: Int32 = -1
    @Argument(help: "The node.") var path: String

    func run() async throws {
        try await connection.withClient { zk in
            let doomed = recursive ? try await TreeNode.read(zk, path).postOrder : [path]
            for node in doomed {
                let expected = node == path ? version : -1
                do {
                    try await request(node) { () async throws in try await zk.delete(node, version: expected) }
                } catch let failure as CommandFailure where failure.code == .noNode && node != path {
                    continue  // someone else deleted it meanwhile: the goal is met
                }
            }
        }
    }
}
