// Session passwords and auth data are secrets: the records that hold them print a mask instead,
// so neither a log line nor a failed test's output can leak them.

extension ConnectRequest: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "ConnectRequest(protocolVersion: \(protocolVersion), lastZxidSeen: \(lastZxidSeen), timeOut: \(timeOut), "
            + "sessionId: \(SessionId.hex(sessionId)), passwd: \(Redacted.mask(passwd)), readOnly: \(String(describing: readOnly)))"
    }
    public var debugDescription: String { description }
}

extension ConnectResponse: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "ConnectResponse(protocolVersion: \(protocolVersion), timeOut: \(timeOut), "
            + "sessionId: \(SessionId.hex(sessionId)), passwd: \(Redacted.mask(passwd)), readOnly: \(String(describing: readOnly)))"
    }
    public var debugDescription: String { description }
}

extension AuthPacket: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "AuthPacket(type: \(type), scheme: \(scheme), auth: \(Redacted.mask(auth)))" }
    public var debugDescription: String { description }
}

/// How secrets appear in text: their length only.
public enum Redacted {
    public static func mask(_ secret: [UInt8]) -> String { "<\(secret.count) bytes redacted>" }
}

/// Session ids are printed as ZooKeeper's own logs print them: `0x` and lowercase hex.
public enum SessionId {
    public static func hex(_ id: Int64) -> String { "0x" + String(UInt64(bitPattern: id), radix: 16) }

    /// Parses `0x...` (or bare) hex back into a session id; nil when it is not one.
    public static func parse(_ text: String) -> Int64? {
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.count <= 16, let value = UInt64(digits, radix: 16) else { return nil }
        return Int64(bitPattern: value)
    }
}
