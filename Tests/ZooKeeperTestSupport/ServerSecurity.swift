// SASL and TLS for test servers: the JAAS file, the zoo.cfg lines, and certificates made at test
// time with openssl and keytool (nothing secret is checked in).

import Foundation

/// How a test server authenticates clients.
public struct ServerSecurity: Sendable {
    /// DIGEST-MD5 users (name: password); empty: no SASL.
    public var saslUsers: [String: String]
    /// TLS on a second port (`securePort(of:)`), next to the plain one the test bed polls.
    public var tls: TLS?

    public struct TLS: Sendable {
        public var certificates: TestCertificates
        /// Ask for client certificates (`ssl.clientAuth=need`) or not (`none`).
        public var requireClientCertificate: Bool
        public init(certificates: TestCertificates, requireClientCertificate: Bool = false) {
            self.certificates = certificates
            self.requireClientCertificate = requireClientCertificate
        }
    }

    public init(saslUsers: [String: String] = [:], tls: TLS? = nil) {
        self.saslUsers = saslUsers
        self.tls = tls
    }

    public static let none = ServerSecurity()

    /// JAAS configuration text (nil without SASL users).
    var jaasText: String? {
        guard !saslUsers.isEmpty else { return nil }
        let users = saslUsers.sorted { $0.key < $1.key }.map { "user_\($0.key)=\"\($0.value)\"" }.joined(separator: " ")
        return "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required \(users);\n};\n"
    }

    /// zoo.cfg lines (unknown keys become `zookeeper.*` system properties of the server).
    var configLines: [String] {
        var lines: [String] = []
        if !saslUsers.isEmpty { lines.append("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider") }
        if let tls {
            let c = tls.certificates
            lines += [
                "secureClientPort=@SECURE_PORT@", "secureClientPortAddress=\(ZooKeeperServer.host)",
                "authProvider.2=org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "ssl.keyStore.location=\(c.serverKeyStore)", "ssl.keyStore.password=\(TestCertificates.storePassword)",
                "ssl.keyStore.type=PKCS12",
                "ssl.trustStore.location=\(c.trustStore)", "ssl.trustStore.password=\(TestCertificates.storePassword)",
                "ssl.trustStore.type=PKCS12",
                "ssl.clientAuth=\(tls.requireClientCertificate ? "need" : "none")",
            ]
        }
        return lines
    }

    /// Extra JVM options (the JAAS file is written here, into a fresh temporary file).
    func javaOptions() throws -> [String] {
        var options: [String] = []
        if let jaasText {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("zk-jaas-\(getpid())-\(UUID().uuidString.prefix(8)).conf")
            try jaasText.write(to: file, atomically: true, encoding: .utf8)
            options.append("-Djava.security.auth.login.config=\(file.path)")
        }
        if tls != nil { options.append("-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory") }
        return options
    }
}

/// A CA, a server certificate it signed (for the name localhost only, so that clients that
/// connect to 127.0.0.1 show they check the name they were given), a client
/// certificate it signed (CN=client), and an unrelated CA that signed nothing; PEM files plus the
/// server's PKCS12 key store and trust store.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { path("ca.pem") }
    public var unrelatedCAFile: String { path("unrelated-ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    var serverKeyStore: String { path("server.p12") }
    var trustStore: String { path("trust.p12") }
    static let storePassword = "testpass"  // as in scripts/zk-test-certs.sh

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// scripts/zk-test-certs.sh, which the shell test bed uses too.
    private static let certificateScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/zk-test-certs.sh").standardized.path

    /// Makes everything in a fresh temporary directory.
    public static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zk-certs-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Off the cooperative pool: openssl and keytool (a JVM) take seconds.
        let result = try await ChildProcess.run(["/bin/bash", certificateScript, directory.path])
        guard result.status == 0 else {
            throw TestCertificatesError(description: "making test certificates failed: \(result.error)")
        }
        return TestCertificates(directory: directory)
    }
}

extension ZooKeeperServer {
    /// Servers with SASL users and/or TLS (see `ServerSecurity`).
    public static func start(servers: Int = 1, security: ServerSecurity) async throws -> ZooKeeperServer {
        try await start(servers: servers, configuration: security.configLines, javaOptions: try security.javaOptions())
    }
}

public struct TestCertificatesError: Error, CustomStringConvertible {
    public let description: String
}
