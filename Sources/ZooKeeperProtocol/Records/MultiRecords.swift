// multi (14) and multiRead (22): a list of operations, each behind a MultiHeader, ended by a
// header with done = true. Replies mirror it with one result per operation.

/// Precedes each operation and each result of a multi; `done` marks the end of the list.
public struct MultiHeader: JuteRecord, Hashable {
    /// The operation's opcode, or -1 (error result, end marker).
    public var type: Int32
    public var done: Bool
    public var err: Int32

    public init(type: Int32, done: Bool, err: Int32) {
        self.type = type
        self.done = done
        self.err = err
    }

    /// The header that ends every multi request and response.
    public static let end = MultiHeader(type: -1, done: true, err: -1)

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(type)
        writer.writeBool(done)
        writer.writeInt32(err)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> MultiHeader {
        MultiHeader(
            type: try reader.readInt32("MultiHeader.type"), done: try reader.readBool("MultiHeader.done"),
            err: try reader.readInt32("MultiHeader.err"))
    }
}

/// One operation of a transaction (multi) or of a batched read (multiRead).
public enum MultiOperation: JuteRecord, Hashable {
    /// Replies with the path only (opcode create).
    case create(CreateRequest)
    /// Replies with path and Stat (opcode create2).
    case create2(CreateRequest)
    case createContainer(CreateRequest)
    case createTTL(CreateTTLRequest)
    case delete(DeleteRequest)
    case setData(SetDataRequest)
    case check(CheckVersionRequest)
    /// multiRead only.
    case getChildren(GetChildrenRequest)
    /// multiRead only.
    case getData(GetDataRequest)

    public var opCode: OpCode {
        switch self {
        case .create: .create
        case .create2: .create2
        case .createContainer: .createContainer
        case .createTTL: .createTTL
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        case .getChildren: .getChildren
        case .getData: .getData
        }
    }

    /// The path the operation acts on.
    public var path: String {
        get {
            switch self {
            case let .create(r), let .create2(r), let .createContainer(r): r.path
            case let .createTTL(r): r.path
            case let .delete(r): r.path
            case let .setData(r): r.path
            case let .check(r): r.path
            case let .getChildren(r), let .getData(r): r.path
            }
        }
        set {
            switch self {
            case var .create(r): r.path = newValue; self = .create(r)
            case var .create2(r): r.path = newValue; self = .create2(r)
            case var .createContainer(r): r.path = newValue; self = .createContainer(r)
            case var .createTTL(r): r.path = newValue; self = .createTTL(r)
            case var .delete(r): r.path = newValue; self = .delete(r)
            case var .setData(r): r.path = newValue; self = .setData(r)
            case var .check(r): r.path = newValue; self = .check(r)
            case var .getChildren(r): r.path = newValue; self = .getChildren(r)
            case var .getData(r): r.path = newValue; self = .getData(r)
            }
        }
    }

    /// Header then body, as the server reads one operation.
    public func encode(to writer: inout JuteWriter) {
        MultiHeader(type: opCode.rawValue, done: false, err: -1).encode(to: &writer)
        switch self {
        case let .create(r), let .create2(r), let .createContainer(r): r.encode(to: &writer)
        case let .createTTL(r): r.encode(to: &writer)
        case let .delete(r): r.encode(to: &writer)
        case let .setData(r): r.encode(to: &writer)
        case let .check(r): r.encode(to: &writer)
        case let .getChildren(r), let .getData(r): r.encode(to: &writer)
        }
    }

    /// Reads the body of an operation whose header named `type`.
    static func decodeBody(type: Int32, from reader: inout JuteReader) throws(ProtocolError) -> MultiOperation {
        switch OpCode(rawValue: type) {
        case .create: return .create(try CreateRequest.decode(from: &reader))
        case .create2: return .create2(try CreateRequest.decode(from: &reader))
        case .createContainer: return .createContainer(try CreateRequest.decode(from: &reader))
        case .createTTL: return .createTTL(try CreateTTLRequest.decode(from: &reader))
        case .delete: return .delete(try DeleteRequest.decode(from: &reader))
        case .setData: return .setData(try SetDataRequest.decode(from: &reader))
        case .check: return .check(try CheckVersionRequest.decode(from: &reader))
        case .getChildren: return .getChildren(try GetChildrenRequest.decode(from: &reader))
        case .getData: return .getData(try GetDataRequest.decode(from: &reader))
        default: throw .invalidValue(field: "MultiHeader.type", value: Int64(type))
        }
    }

    /// Decodes header and body; the end-of-list header is not an operation, so this throws on it.
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> MultiOperation {
        let header = try MultiHeader.decode(from: &reader)
        if header.done { throw .invalidValue(field: "MultiHeader.done", value: 1) }
        return try decodeBody(type: header.type, from: &reader)
    }
}

/// The body of multi (14) and multiRead (22) requests.
public struct MultiRequest: JuteRecord, Hashable {
    public var operations: [MultiOperation]

    public init(operations: [MultiOperation]) { self.operations = operations }

    public func encode(to writer: inout JuteWriter) {
        for operation in operations { operation.encode(to: &writer) }
        MultiHeader.end.encode(to: &writer)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> MultiRequest {
        var operations: [MultiOperation] = []
        // Each round consumes at least a 9-byte header, so this ends with the input.
        while true {
            let header = try MultiHeader.decode(from: &reader)
            if header.done { return MultiRequest(operations: operations) }
            operations.append(try MultiOperation.decodeBody(type: header.type, from: &reader))
        }
    }
}

/// One operation's outcome in a multi or multiRead reply.
public enum MultiResult: JuteRecord, Hashable {
    case create(path: String)
    case create2(path: String, stat: Stat)
    case delete
    case setData(stat: Stat)
    case check
    case getChildren(children: [String])
    case getData(data: [UInt8], stat: Stat)
    /// The operation failed, or (with code 0 or runtimeInconsistency) was rolled back because
    /// another one in the same transaction failed.
    case error(ErrorCode)

    public var opCode: OpCode {
        switch self {
        case .create: .create
        case .create2: .create2
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        case .getChildren: .getChildren
        case .getData: .getData
        case .error: .error
        }
    }

    public func encode(to writer: inout JuteWriter) {
        var err: Int32 = 0
        if case let .error(code) = self { err = code.rawValue }
        MultiHeader(type: opCode.rawValue, done: false, err: err).encode(to: &writer)
        switch self {
        case let .create(path): writer.writeString(path)
        case let .create2(path, stat): Create2Response(path: path, stat: stat).encode(to: &writer)
        case .delete, .check: break
        case let .setData(stat): stat.encode(to: &writer)
        case let .getChildren(children): writer.writeStrings(children)
        case let .getData(data, stat): GetDataResponse(data: data, stat: stat).encode(to: &writer)
        case let .error(code): writer.writeInt32(code.rawValue)
        }
    }

    static func decodeBody(type: Int32, from reader: inout JuteReader) throws(ProtocolError) -> MultiResult {
        switch OpCode(rawValue: type) {
        case .create: return .create(path: try reader.readString("CreateResponse.path"))
        case .create2, .createContainer, .createTTL:
            let r = try Create2Response.decode(from: &reader)
            return .create2(path: r.path, stat: r.stat)
        case .delete, .deleteContainer: return .delete
        case .setData: return .setData(stat: try Stat.decode(from: &reader))
        case .check: return .check
        case .getChildren: return .getChildren(children: try reader.readStrings("GetChildrenResponse.children"))
        case .getData:
            let r = try GetDataResponse.decode(from: &reader)
            return .getData(data: r.data, stat: r.stat)
        case .error: return .error(ErrorCode(rawValue: try reader.readInt32("ErrorResponse.err")))
        default: throw .invalidValue(field: "MultiHeader.type", value: Int64(type))
        }
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> MultiResult {
        let header = try MultiHeader.decode(from: &reader)
        if header.done { throw .invalidValue(field: "MultiHeader.done", value: 1) }
        return try decodeBody(type: header.type, from: &reader)
    }
}

/// The body of multi and multiRead replies.
public struct MultiResponse: JuteRecord, Hashable {
    public var results: [MultiResult]

    public init(results: [MultiResult]) { self.results = results }

    /// The first real failure of a transaction, skipping the rolled-back entries that the
    /// server reports as OK or runtimeInconsistency.
    public var firstError: (index: Int, code: ErrorCode)? {
        for (index, result) in results.enumerated() {
            if case let .error(code) = result, code != .ok, code != .runtimeInconsistency { return (index, code) }
        }
        return nil
    }

    public func encode(to writer: inout JuteWriter) {
        for result in results { result.encode(to: &writer) }
        MultiHeader.end.encode(to: &writer)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> MultiResponse {
        var results: [MultiResult] = []
        while true {
            let header = try MultiHeader.decode(from: &reader)
            if header.done { return MultiResponse(results: results) }
            results.append(try MultiResult.decodeBody(type: header.type, from: &reader))
        }
    }
}
