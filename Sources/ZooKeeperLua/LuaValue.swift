/// A Lua value as it crosses the C ABI (see zookeeper_lua.h for the encoding).
enum LuaValue: Equatable, Sendable {
    case `nil`
    case boolean(Bool)
    case number(Double)
    case string([UInt8])
    /// Key/value pairs in the order Lua's `next` gave them.
    case table([(LuaValue, LuaValue)])
    /// A registry reference to a function; the core owns it until it hands it back.
    case function(Int32)

    static func == (a: LuaValue, b: LuaValue) -> Bool {
        switch (a, b) {
        case (.nil, .nil): true
        case let (.boolean(x), .boolean(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.function(x), .function(y)): x == y
        case let (.table(x), .table(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    static func string(_ text: String) -> LuaValue { .string(Array(text.utf8)) }
    static func int<I: BinaryInteger>(_ value: I) -> LuaValue { .number(Double(value)) }

    /// An array table {v1, v2, ...}.
    static func array(_ values: [LuaValue]) -> LuaValue {
        .table(values.enumerated().map { (.number(Double($0.offset + 1)), $0.element) })
    }

    /// A record table {k = v, ...}.
    static func record(_ fields: KeyValuePairs<String, LuaValue>) -> LuaValue {
        .table(fields.map { (.string($0.key), $0.value) })
    }

    var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        }
    }

    var isNil: Bool { if case .nil = self { true } else { false } }

    /// A field of a record table (string keys).
    subscript(field: String) -> LuaValue {
        guard case let .table(pairs) = self else { return .nil }
        return pairs.first { if case let .string(k) = $0.0 { k.elementsEqual(field.utf8) } else { false } }?.1 ?? .nil
    }

    /// The array part 1...n of a table, in order; nil if the table is not a proper array.
    var arrayElements: [LuaValue]? {
        guard case let .table(pairs) = self else { return nil }
        var byIndex: [Int: LuaValue] = [:]
        for (key, value) in pairs {
            guard case let .number(n) = key, n >= 1, n == n.rounded(), n <= Double(pairs.count) else { return nil }
            byIndex[Int(n)] = value
        }
        guard byIndex.count == pairs.count else { return nil }
        return (0..<pairs.count).map { byIndex[$0 + 1]! }
    }

    /// Every function reference inside this value.
    var functionRefs: [Int32] {
        switch self {
        case let .function(ref): [ref]
        case let .table(pairs): pairs.flatMap { $0.0.functionRefs + $0.1.functionRefs }
        default: []
        }
    }
}

/// Reads and writes value streams. Reading is total: a malformed stream is an error, not a trap.
enum ValueStream {
    enum Tag: UInt8 { case `nil` = 0, `false`, `true`, number, string, table, function }
    static let maxDepth = 32

    struct Malformed: Error {}

    static func decode(_ pointer: UnsafePointer<UInt8>?, _ length: Int) throws(Malformed) -> [LuaValue] {
        guard let pointer, length >= 4 else { throw Malformed() }
        var reader = Reader(bytes: UnsafeBufferPointer(start: pointer, count: length))
        let count = try reader.u32()
        guard Int(count) <= length else { throw Malformed() }
        var values: [LuaValue] = []
        for _ in 0..<count { values.append(try reader.value(depth: 0)) }
        return values
    }

    static func encode(_ values: [LuaValue]) -> [UInt8] {
        var out: [UInt8] = []
        encode(values, into: &out)
        return out
    }

    /// Encodes into `out`, reusing its storage (a reply buffer per client: no allocation per
    /// call), unless a large answer left it big.
    static func encode(_ values: [LuaValue], into out: inout [UInt8]) {
        if out.capacity > 64 * 1024 { out = [] } else { out.removeAll(keepingCapacity: true) }
        out.reserveCapacity(64)
        appendU32(&out, UInt32(values.count))
        for value in values { append(&out, value) }
    }

    private static func append(_ out: inout [UInt8], _ value: LuaValue) {
        switch value {
        case .nil: out.append(Tag.nil.rawValue)
        case let .boolean(b): out.append(b ? Tag.true.rawValue : Tag.false.rawValue)
        case let .number(d):
            out.append(Tag.number.rawValue)
            withUnsafeBytes(of: d) { out.append(contentsOf: $0) }
        case let .string(bytes):
            out.append(Tag.string.rawValue)
            appendU32(&out, UInt32(bytes.count))
            out.append(contentsOf: bytes)
        case let .table(pairs):
            out.append(Tag.table.rawValue)
            appendU32(&out, UInt32(pairs.count))
            for (key, value) in pairs {
                append(&out, key)
                append(&out, value)
            }
        case let .function(ref):
            out.append(Tag.function.rawValue)
            withUnsafeBytes(of: ref) { out.append(contentsOf: $0) }
        }
    }

    private static func appendU32(_ out: inout [UInt8], _ v: UInt32) {
        withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0

        mutating func take(_ n: Int) throws(Malformed) -> UnsafeBufferPointer<UInt8> {
            guard n >= 0, bytes.count - offset >= n else { throw Malformed() }
            defer { offset += n }
            return UnsafeBufferPointer(rebasing: bytes[offset..<offset + n])
        }

        mutating func u32() throws(Malformed) -> UInt32 {
            let raw = try take(4)
            return UnsafeRawBufferPointer(raw).loadUnaligned(as: UInt32.self)
        }

        mutating func value(depth: Int) throws(Malformed) -> LuaValue {
            guard depth <= ValueStream.maxDepth, let tag = Tag(rawValue: try take(1)[0]) else { throw Malformed() }
            switch tag {
            case .nil: return .nil
            case .false: return .boolean(false)
            case .true: return .boolean(true)
            case .number: return .number(UnsafeRawBufferPointer(try take(8)).loadUnaligned(as: Double.self))
            case .string: return .string(Array(try take(Int(try u32()))))
            case .function: return .function(UnsafeRawBufferPointer(try take(4)).loadUnaligned(as: Int32.self))
            case .table:
                let count = Int(try u32())
                // Each pair takes at least two bytes: a lying count cannot make us reserve memory.
                guard count <= (bytes.count - offset) / 2 else { throw Malformed() }
                var pairs: [(LuaValue, LuaValue)] = []
                pairs.reserveCapacity(count)
                for _ in 0..<count { pairs.append((try value(depth: depth + 1), try value(depth: depth + 1))) }
                return .table(pairs)
            }
        }
    }
}
