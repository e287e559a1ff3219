/// SASL credentials a session authenticates with on every connection, before anything else.
public struct SASLCredentials: Sendable, Hashable, CustomStringConvertible {
    public enum Mechanism: String, Sendable, Hashable {
        case digestMD5 = "DIGEST-MD5"
    }
    public var mechanism: Mechanism
    public var username: String
    public var password: String
    /// The SASL service and host the server expects ("zookeeper/zk-sasl-md5" unless the server
    /// sets zookeeper.sasl.client.username / zookeeper.sasl.serverName otherwise).
    public var service: String
    public var serverName: String

    public init(mechanism: Mechanism = .digestMD5, username: String, password: String,
                service: String = "zookeeper", serverName: String = "zk-sasl-md5") {
        self.mechanism = mechanism
        self.username = username
        self.password = password
        self.service = service
        self.serverName = serverName
    }

    /// Never shows the password.
    public var description: String { "SASL(\(mechanism.rawValue), username: \(username), password: <redacted>)" }
}

/// TLS for every connection of a session: what to trust and who we are. Files are PEM.
public struct TLSOptions: Sendable, Hashable, CustomStringConvertible {
    /// CA certificates that may sign the server's certificate (nil: the system's trust store).
    public var caFile: String?
    /// Our certificate (chain), for servers that ask for one (`ssl.clientAuth=need`).
    public var certificateFile: String?
    /// The key of `certificateFile`.
    public var keyFile: String?
    /// Check the server's certificate and name (default). Off only for tests.
    public var verify: Bool
    /// The name the server's certificate must carry, also sent as SNI (nil: the host connected to).
    public var serverName: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, verify: Bool = true, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verify = verify
        self.serverName = serverName
    }

    /// Names files only (a key file's path is no secret; its content is never read into a log).
    public var description: String {
        "TLS(ca: \(caFile ?? "system"), certificate: \(certificateFile ?? "none"), verify: \(verify), serverName: \(serverName ?? "host"))"
    }
}
