/// Curator's "protected" node names: `_c_<uuid>-<name>`. The uuid, fixed for one create, lets a
/// client that lost the answer to its create find the node it may have made instead of making
/// a second one (Curator's `ProtectedUtils`; the layout is shared so mixed fleets agree).
public enum ProtectedName {
    public static let prefix = "_c_"

    /// `_c_<id>-`: what every node of one protected create starts with.
    public static func prefix(for id: String) -> String { prefix + id + "-" }

    /// A random version 4 UUID in its canonical lowercase form, as Java's `UUID.toString()`.
    public static func randomId<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    public static func randomId() -> String {
        var generator = SystemRandomNumberGenerator()
        return randomId(using: &generator)
    }

    /// Whether `name` is a protected name (prefix, a 36-character id, then `-`).
    public static func isProtected(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        let idEnd = prefix.utf8.count + 36
        return bytes.count > idEnd + 1 && name.hasPrefix(prefix) && bytes[idEnd] == UInt8(ascii: "-")
    }

    /// The name without a protected prefix (`_c_<uuid>-lock-0000000001` → `lock-0000000001`).
    public static func normalized(_ name: String) -> String {
        isProtected(name) ? String(decoding: Array(name.utf8).dropFirst(prefix.utf8.count + 37), as: UTF8.self) : name
    }
}

/// The contenders of a lock or latch, ordered the way every peer orders them: by the server's
/// 10-digit sequence suffix, whatever comes before it (ours and Curator's `_c_<uuid>-lock-`,
/// kazoo's `<uuid>__lock__`). Children without such a suffix do not contend.
public enum Contenders {
    /// The sequence number a sequential node's name ends with, if it does.
    public static func sequence(of name: String) -> Int64? {
        let bytes = Array(name.utf8)
        guard bytes.count >= 10 else { return nil }
        var value: Int64 = 0
        for byte in bytes.suffix(10) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The sequential children, lowest sequence first.
    public static func sorted(_ children: [String]) -> [String] {
        children.compactMap { name in sequence(of: name).map { (name, $0) } }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map(\.0)
    }
}

/// Path helpers for recipes (client paths, `/` separated).
enum RecipePath {
    static func join(_ parent: String, _ name: String) -> String { parent == "/" ? "/" + name : parent + "/" + name }

    /// The last component of `path`.
    static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The parent of `path` ("/" for a top-level node).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// Every proper ancestor of `path` below the root, top first ("/a/b/c" → "/a", "/a/b").
    static func ancestors(of path: String) -> [String] {
        var result: [String] = []
        var current = parent(of: path)
        while current != "/" {
            result.append(current)
            current = parent(of: current)
        }
        return result.reversed()
    }
}
