import NIOCore
import NIOSSL
import ZooKeeperSession

/// TLS for the NIO transport: one context per client (files read once), one handler per
/// connection, and which failures mean "refused" (retrying cannot help) rather than "lost".
struct TLSSetup {
    let context: NIOSSLContext
    let options: TLSOptions

    /// Reads the CA, certificate and key files; throws a message naming what is wrong.
    init(_ options: TLSOptions) throws(ZooKeeperError) {
        self.options = options
        var configuration = NIOSSL.TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = options.verify ? .fullVerification : .none
        do {
            if let caFile = options.caFile { configuration.trustRoots = .file(caFile) }
            if let certificateFile = options.certificateFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
                guard let keyFile = options.keyFile else {
                    throw ZooKeeperError(.badArguments, message: "TLS: a client certificate needs its key file")
                }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
            context = try NIOSSLContext(configuration: configuration)
        } catch let error as ZooKeeperError {
            throw error
        } catch {
            throw ZooKeeperError(.badArguments, message: "TLS: cannot load the CA, certificate or key: \(error)")
        }
    }

    /// The handler for a connection to `host` (SNI and the checked name; an IP address is
    /// checked against the certificate's IP entries instead and sent without SNI).
    func handler(host: String) throws -> NIOSSLClientHandler {
        let name = options.serverName ?? host
        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : name)
    }

    /// A handshake or certificate failure: the same on every retry, so the session ends with it.
    static func refusal(_ error: Error) -> String? {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "TLS: the server's certificate does not name the server (\(error)); set the server name"
        }
        guard let error = error as? NIOSSLError else { return nil }
        switch error {
        case .handshakeFailed: return "TLS handshake failed: \(error)"
        default:
            let text = "\(error)"
            return text.lowercased().contains("certificate") ? "TLS: the server refused our certificate: \(text)" : nil
        }
    }
}
