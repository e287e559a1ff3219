import ZooKeeper

/// A JSON value with ordered object keys, so `--json` output lists fields in a fixed, readable
/// order (a Stat's as ZooKeeper names them) and keeps 64-bit integers exact.
enum JSON {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    var rendered: String {
        switch self {
        case let .string(s): return Self.quote(s)
        case let .int(n): return String(n)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "null"
        case let .array(items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case let .object(fields):
            return "{" + fields.map { Self.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Stat {
    /// The Stat's fields by their ZooKeeper names.
    var fields: [(String, Int64)] {
        [("czxid", czxid), ("mzxid", mzxid), ("ctime", ctime), ("mtime", mtime), ("version", Int64(version)),
         ("cversion", Int64(cversion)), ("aversion", Int64(aversion)), ("ephemeralOwner", ephemeralOwner),
         ("dataLength", Int64(dataLength)), ("numChildren", Int64(numChildren)), ("pzxid", pzxid)]
    }

    var json: JSON { .object(fields.map { ($0.0, .int($0.1)) }) }

    /// zkCli's layout: `name = value`, zxids and the owner in hex.
    var text: String {
        let hex: Set = ["czxid", "mzxid", "pzxid", "ephemeralOwner"]
        return fields.map { name, value in
            "\(name) = " + (hex.contains(name) ? "0x" + String(UInt64(bitPattern: value), radix: 16) : String(value))
        }.joined(separator: "\n")
    }
}

extension ACL {
    /// `scheme:id:perms`, the form `acl set` reads.
    var text: String { "\(id.scheme):\(id.id):\(permissions)" }
    var json: JSON { .object([("scheme", .string(id.scheme)), ("id", .string(id.id)), ("perms", .string("\(permissions)"))]) }
}

/// Node data as JSON: the text when it is UTF-8, else null plus the bytes in base64.
func dataJSON(_ data: [UInt8]) -> [(String, JSON)] {
    if let text = String(validating: data, as: UTF8.self) { return [("data", .string(text))] }
    return [("data", .null), ("dataBase64", .string(base64(data)))]
}

private func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    var i = 0
    while i < bytes.count {
        let chunk = bytes[i..<min(i + 3, bytes.count)]
        let n = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
        for j in 0..<4 {
            out.append(j <= chunk.count ? table[(n >> (18 - 6 * j)) & 63] : "=")
        }
        i += 3
    }
    return out
}
