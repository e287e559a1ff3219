import ZooKeeperSession

/// The `sasl` and `tls` tables of zk.new, checked field by field (unknown fields are refused, so a
/// typo never silently turns security off). Messages name the field, never a password.
enum SecurityOptions {
    struct Invalid: Error { let message: String }

    static func sasl(_ value: LuaValue) throws(Invalid) -> SASLCredentials? {
        guard case let .table(pairs) = value else {
            if value.isNil { return nil }
            throw Invalid(message: "sasl must be a table")
        }
        try refuseUnknown(pairs, in: "sasl", known: ["mechanism", "username", "password", "service", "server_name"])
        let mechanism = try string(value, "mechanism", in: "sasl") ?? "DIGEST-MD5"
        guard let parsed = SASLCredentials.Mechanism(rawValue: mechanism.uppercased()) else {
            throw Invalid(message: "sasl.mechanism must be \"DIGEST-MD5\" (the only one supported)")
        }
        guard let username = try string(value, "username", in: "sasl"), !username.isEmpty else {
            throw Invalid(message: "sasl.username must be a non-empty string")
        }
        guard let password = try string(value, "password", in: "sasl") else { throw Invalid(message: "sasl.password must be a string") }
        var credentials = SASLCredentials(mechanism: parsed, username: username, password: password)
        if let service = try string(value, "service", in: "sasl") { credentials.service = service }
        if let serverName = try string(value, "server_name", in: "sasl") { credentials.serverName = serverName }
        return credentials
    }

    static func tls(_ value: LuaValue) throws(Invalid) -> TLSOptions? {
        guard case let .table(pairs) = value else {
            if value.isNil { return nil }
            throw Invalid(message: "tls must be a table")
        }
        try refuseUnknown(pairs, in: "tls", known: ["ca_file", "cert_file", "key_file", "verify", "server_name"])
        var options = TLSOptions(caFile: try string(value, "ca_file", in: "tls"), certificateFile: try string(value, "cert_file", in: "tls"),
                                 keyFile: try string(value, "key_file", in: "tls"), serverName: try string(value, "server_name", in: "tls"))
        switch value["verify"] {
        case .nil: break
        case let .boolean(verify): options.verify = verify
        default: throw Invalid(message: "tls.verify must be a boolean")
        }
        if (options.certificateFile == nil) != (options.keyFile == nil) {
            throw Invalid(message: "tls.cert_file and tls.key_file go together")
        }
        return options
    }

    private static func string(_ table: LuaValue, _ field: String, in name: String) throws(Invalid) -> String? {
        switch table[field] {
        case .nil: return nil
        case let .string(bytes): return String(decoding: bytes, as: UTF8.self)
        default: throw Invalid(message: "\(name).\(field) must be a string")
        }
    }

    static func refuseUnknown(_ pairs: [(LuaValue, LuaValue)], in name: String, known: Set<String>) throws(Invalid) {
        for (key, _) in pairs {
            guard case let .string(bytes) = key else { throw Invalid(message: "\(name): option names must be strings") }
            let field = String(decoding: bytes, as: UTF8.self)
            guard known.contains(field) else {
                throw Invalid(message: "\(name): unknown option '\(field)' (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }
}
