import ZooKeeper

/// A subtree read child by child (names sorted), for `ls -R`, `tree` and `rm -r`.
struct TreeNode {
    let path: String
    let children: [TreeNode]

    var name: String { path == "/" ? "/" : String(path.split(separator: "/").last ?? "") }

    static func read(_ zk: ZooKeeperClient, _ path: String) async throws -> TreeNode {
        let names = try await request(path) { () async throws in try await zk.getChildren(path) }.sorted()
        var children: [TreeNode] = []
        for name in names {
            do {
                children.append(try await read(zk, childPath(path, name)))
            } catch let failure as CommandFailure where failure.code == .noNode {
                continue  // deleted while we walked: not part of the tree any more
            }
        }
        return TreeNode(path: path, children: children)
    }

    /// Every descendant's path, parents before their children.
    var descendantPaths: [String] { children.flatMap { [$0.path] + $0.descendantPaths } }

    /// Children before their parent: the order deletes must take.
    var postOrder: [String] { children.flatMap(\.postOrder) + [path] }

    var drawing: [String] { [path] + Self.draw(children, prefix: "") }

    private static func draw(_ nodes: [TreeNode], prefix: String) -> [String] {
        nodes.enumerated().flatMap { index, node -> [String] in
            let last = index == nodes.count - 1
            return [prefix + (last ? "└── " : "├── ") + node.name]
                + draw(node.children, prefix: prefix + (last ? "    " : "│   "))
        }
    }

    var json: JSON {
        .object([("name", .string(name)), ("path", .string(path)), ("children", .array(children.map(\.json)))])
    }
}
