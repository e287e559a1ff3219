import CZooKeeperLua
import ZooKeeperProtocol
import ZooKeeperSession

/// A caller mistake, raised in Lua as `bad argument #n to 'method' (...)`.
struct BadArgument: Error {
    let message: String
}

/// The arguments of one method call, with Lua-style checks. They come either as values (decoded
/// from a value stream) or as simple arguments read straight from the Lua stack (zkl_call_simple:
/// a path or data is read in place, never copied into a LuaValue first).
struct LuaArguments {
    var method: String
    private let values: [LuaValue]
    /// Valid during the call that made these arguments only.
    private let simple: UnsafeBufferPointer<zkl_arg>
    /// Lua numbers a method's arguments from #2 (`self` is #1), a plain function's from #1.
    var firstNumber = 2
    /// For values that are fields of one argument (an options table, a multi operation): that
    /// argument's number, the fields' names by index, and what to say before a field's name.
    var nested: (number: Int, fields: [String], prefix: String)? = nil

    init(method: String, values: [LuaValue], firstNumber: Int = 2) {
        self.method = method
        self.values = values
        simple = UnsafeBufferPointer(start: nil, count: 0)
        self.firstNumber = firstNumber
    }

    /// Simple arguments (nil, booleans, numbers, strings) as the glue found them on the stack.
    init(method: String, simple: UnsafeBufferPointer<zkl_arg>) {
        self.method = method
        values = []
        self.simple = simple
    }

    /// The bytes of a simple string argument, in place.
    private func bytes(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        guard index < simple.count, simple[index].type == Int32(ZKL_STRING) else { return nil }
        let arg = simple[index]
        return UnsafeBufferPointer(start: UnsafeRawPointer(arg.bytes)?.assumingMemoryBound(to: UInt8.self), count: arg.bytes == nil ? 0 : arg.length)
    }

    subscript(index: Int) -> LuaValue {
        guard simple.baseAddress != nil else { return index < values.count ? values[index] : .nil }
        guard index < simple.count else { return .nil }
        switch Int(simple[index].type) {
        case Int(ZKL_FALSE): return .boolean(false)
        case Int(ZKL_TRUE): return .boolean(true)
        case Int(ZKL_NUMBER): return .number(simple[index].number)
        case Int(ZKL_STRING): return .string(Array(bytes(index) ?? UnsafeBufferPointer(start: nil, count: 0)))
        default: return .nil
        }
    }

    func bad(_ index: Int, _ reason: String) -> BadArgument {
        if let nested {
            let field = index < nested.fields.count ? nested.fields[index] : "field \(index + 1)"
            return BadArgument(message: "bad argument #\(nested.number) to '\(method)' (\(nested.prefix)\(field): \(reason))")
        }
        return BadArgument(message: "bad argument #\(index + firstNumber) to '\(method)' (\(reason))")
    }

    private func expected(_ index: Int, _ type: String) -> BadArgument {
        bad(index, "\(type) expected, got \(self[index].typeName)")
    }

    func string(_ index: Int) throws(BadArgument) -> String {
        if let bytes = bytes(index) {
            guard !bytes.contains(0) else { throw bad(index, "string contains a NUL byte") }
            return String(decoding: bytes, as: UTF8.self)
        }
        switch self[index] {
        case let .string(bytes):
            guard !bytes.contains(0) else { throw bad(index, "string contains a NUL byte") }
            return String(decoding: bytes, as: UTF8.self)
        case let .number(n): return LuaArguments.numberText(n)
        default: throw expected(index, "string")
        }
    }

    func optionalString(_ index: Int) throws(BadArgument) -> String? {
        self[index].isNil ? nil : try string(index)
    }

    /// Binary data: any bytes, NULs included; nil reads as empty.
    func data(_ index: Int) throws(BadArgument) -> [UInt8] {
        if let bytes = bytes(index) { return Array(bytes) }
        switch self[index] {
        case .nil: return []
        case let .string(bytes): return bytes
        case let .number(n): return Array(LuaArguments.numberText(n).utf8)
        default: throw expected(index, "string")
        }
    }

    func integer(_ index: Int, default value: Int64? = nil, range: ClosedRange<Int64> = Int64(Int32.min)...Int64(Int32.max)) throws(BadArgument) -> Int64 {
        switch self[index] {
        case .nil:
            guard let value else { throw expected(index, "number") }
            return value
        case let .number(n):
            guard n == n.rounded(), n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
                throw bad(index, "integer between \(range.lowerBound) and \(range.upperBound) expected, got \(LuaArguments.numberText(n))")
            }
            return Int64(n)
        default: throw expected(index, "number")
        }
    }

    func boolean(_ index: Int) throws(BadArgument) -> Bool {
        switch self[index] {
        case .nil: return false
        case let .boolean(b): return b
        default: throw expected(index, "boolean")
        }
    }

    /// A callback, or nil; its reference is the core's from here on.
    func function(_ index: Int, required: Bool = false) throws(BadArgument) -> Int32? {
        switch self[index] {
        case .nil where !required: return nil
        case let .function(ref): return ref
        default: throw expected(index, required ? "function" : "function or nil")
        }
    }

    func table(_ index: Int) throws(BadArgument) -> LuaValue? {
        switch self[index] {
        case .nil: return nil
        case .table: return self[index]
        default: throw expected(index, "table")
        }
    }

    static func numberText(_ n: Double) -> String {
        n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    }

    // MARK: Structured arguments

    /// An ACL list: { { perms = 31, scheme = "world", id = "anyone" }, ... }.
    func acl(_ index: Int) throws(BadArgument) -> [ACL]? {
        guard let table = try table(index) else { return nil }
        guard let entries = table.arrayElements, !entries.isEmpty else { throw bad(index, "a non-empty array of ACL entries expected") }
        var acl: [ACL] = []
        for entry in entries {
            guard case .table = entry, case let .number(perms) = entry["perms"], perms == perms.rounded(), perms >= 0, perms <= 31,
                  case let .string(scheme) = entry["scheme"], case let .string(id) = entry["id"] else {
                throw bad(index, "ACL entries are { perms = 0..31, scheme = string, id = string }")
            }
            acl.append(ACL(permissions: Permissions(rawValue: Int32(perms)), id: Id(scheme: String(decoding: scheme, as: UTF8.self), id: String(decoding: id, as: UTF8.self))))
        }
        return acl
    }

    /// The create mode of `create(path, data, mode, sequential)` and of multi's create.
    static func createMode(_ name: String?, sequential: Bool) -> CreateMode? {
        switch (name ?? "persistent", sequential) {
        case ("persistent", false): .persistent
        case ("persistent", true), ("persistent_sequential", _): .persistentSequential
        case ("ephemeral", false): .ephemeral
        case ("ephemeral", true), ("ephemeral_sequential", _): .ephemeralSequential
        case ("container", false): .container
        case ("persistent_ttl", false), ("ttl", false): .persistentWithTTL
        case ("persistent_ttl", true), ("ttl", true), ("persistent_sequential_ttl", _): .persistentSequentialWithTTL
        default: nil
        }
    }
}

extension LuaValue {
    /// A string field of a record, or nil.
    func text(_ field: String) -> String? {
        if case let .string(bytes) = self[field] { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    func number(_ field: String) -> Double? {
        if case let .number(n) = self[field] { return n }
        return nil
    }
}
