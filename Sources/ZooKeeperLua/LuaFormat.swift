import ZooKeeperProtocol
import ZooKeeperSession

/// Conversions between ZooKeeper values and Lua values, and the contract's error strings.
enum LuaFormat {
    /// 64-bit ids (session ids, zxids, ephemeral owners) as exact `0x...` strings: a Lua 5.1
    /// number (a double) would round them.
    static func id(_ value: Int64) -> LuaValue { .string(SessionId.hex(value)) }

    static func stat(_ stat: Stat) -> LuaValue {
        .record([
            "czxid": id(stat.czxid), "mzxid": id(stat.mzxid), "pzxid": id(stat.pzxid),
            "ctime": .int(stat.ctime), "mtime": .int(stat.mtime),
            "version": .int(stat.version), "cversion": .int(stat.cversion), "aversion": .int(stat.aversion),
            "ephemeral_owner": id(stat.ephemeralOwner), "data_length": .int(stat.dataLength),
            "num_children": .int(stat.numChildren),
        ])
    }

    static func event(_ event: WatchEvent) -> LuaValue {
        .record(["type": .int(event.type.rawValue), "state": .int(event.state.rawValue), "path": .string(event.path)])
    }

    static func sessionEventName(_ event: SessionEvent) -> LuaValue {
        switch event {
        case .connecting: .string("connecting")
        case .connected: .string("connected")
        case .connectedReadOnly: .string("connected_read_only")
        case .disconnected: .string("disconnected")
        case .reconnected: .string("reconnected")
        case .expired: .string("expired")
        case .authFailed: .string("auth_failed")
        case .closed: .string("closed")
        }
    }

    static func stateName(_ state: SessionState) -> String {
        switch state {
        case .connecting: "connecting"
        case .connected: "connected"
        case .connectedReadOnly: "connected_read_only"
        case .expired: "expired"
        case .authFailed: "auth_failed"
        case .closed: "closed"
        }
    }

    static func strings(_ values: [String]) -> LuaValue { .array(values.map { .string($0) }) }

    static func acl(_ entries: [ACL]) -> LuaValue {
        .array(entries.map { .record(["perms": .int($0.permissions.rawValue), "scheme": .string($0.id.scheme), "id": .string($0.id.id)]) })
    }

    // MARK: Errors

    /// The contract's message for an error: the original client's words where it had them.
    static func contractMessage(_ error: ZooKeeperError, creating: Bool = false) -> String {
        switch error.code {
        case .noNode: creating ? "parent node does not exist" : "node does not exist"
        case .nodeExists: "node already exists"
        case .badVersion: "bad version"
        case .badArguments: error.message.hasPrefix("invalid path") ? "invalid path" : error.message
        case .closed: "not connected"
        // The session is over: say so, or a script cannot tell it from a client never connected.
        case .sessionExpired, .authFailed: error.code.message
        case _ where error.code.isClientSide: error.message
        default: "zk error code: \(error.code.rawValue)"
        }
    }

    /// The message of the methods beyond the contract.
    static func message(_ error: ZooKeeperError) -> String {
        error.isClosed ? "not connected" : error.message
    }

    /// `nil, message, code` of the methods beyond the contract.
    static func failure(_ error: ZooKeeperError) -> LuaClient.Outcome {
        .done([.nil, .string(message(error)), .int(error.code.rawValue)])
    }

    /// `nil, message, code` of the contract's methods: its two values, and the code third.
    static func contractFailure(_ error: ZooKeeperError, creating: Bool = false) -> LuaClient.Outcome {
        .done([.nil, .string(contractMessage(error, creating: creating)), .int(error.code.rawValue)])
    }

    /// A failure the contract words itself (`"empty connect string"`, `"timeout"`), with a code.
    static func failure(_ message: String, _ code: ErrorCode) -> LuaClient.Outcome {
        .done([.nil, .string(message), .int(code.rawValue)])
    }

    /// `zk.errors`: every code by its name (`NONODE = -101`), ZooKeeper's and the client's own.
    static var errorCodes: LuaValue {
        .table((ErrorCode.table + ErrorCode.clientTable).map { (.string($0.name), .int($0.code.rawValue)) })
    }

    static func multiResult(_ result: MultiResult) -> LuaValue {
        switch result {
        case let .create(path): .record(["type": .string("create"), "path": .string(path)])
        case let .create2(path, stat): .record(["type": .string("create"), "path": .string(path), "stat": self.stat(stat)])
        case .delete: .record(["type": .string("delete")])
        case let .setData(stat): .record(["type": .string("set_data"), "stat": self.stat(stat)])
        case .check: .record(["type": .string("check")])
        case let .getChildren(children): .record(["type": .string("get_children"), "children": strings(children)])
        case let .getData(data, stat): .record(["type": .string("get_data"), "data": .string(data), "stat": self.stat(stat)])
        case let .error(code): .record(["type": .string("error"), "code": .int(code.rawValue), "err": .string(code.message)])
        }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The handshake as the original's debug mode printed it, with the password masked.
    static func handshakeLines(_ response: ConnectResponse) -> [String] {
        let bytes = response.encoded()
        // protocolVersion, timeOut, sessionId, then the password's length and bytes.
        let passwordStart = 4 + 4 + 8 + 4
        let text = hex(bytes.prefix(passwordStart)) + String(repeating: "**", count: response.passwd.count)
            + hex(bytes.dropFirst(passwordStart + response.passwd.count))
        return [
            "[resty.zookeeper] handshake payload length: \(bytes.count)",
            "[resty.zookeeper] handshake payload hex: \(text) (password masked)",
            "[resty.zookeeper] session_id=\(SessionId.hex(response.sessionId)) timeout=\(response.timeOut)",
        ]
    }
}
