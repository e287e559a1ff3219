/// The client side of SASL DIGEST-MD5 (RFC 2831) with qop "auth" (authentication only, no
/// integrity or privacy layer), as ZooKeeper's servers speak it: the server challenges, the client
/// answers with a digest of its password, the server proves it knew the password too (rspauth).
public struct DigestMD5Client: Sendable {
    public let username: String
    private let password: String
    /// "service/host" of RFC 2831: ZooKeeper's servers expect "zookeeper/zk-sasl-md5".
    public let digestURI: String
    private let cnonce: String
    /// The rspauth the server must send back, once the response went out.
    private var expectedRspauth: String?

    public init(username: String, password: String, service: String = "zookeeper", host: String = "zk-sasl-md5",
                cnonce: String = DigestMD5Client.randomCnonce()) {
        self.username = username
        self.password = password
        digestURI = "\(service)/\(host)"
        self.cnonce = cnonce
    }

    public enum Failure: Error, Equatable, Sendable {
        /// The server's challenge is not one we can answer; the text says why.
        case badChallenge(String)
        /// The server's final message did not prove it knows the password.
        case badServerProof
    }

    /// The response to the server's challenge.
    public mutating func respond(to challenge: [UInt8]) throws(Failure) -> [UInt8] {
        guard let fields = Self.directives(challenge) else { throw .badChallenge("unreadable challenge") }
        guard let nonce = fields["nonce"], !nonce.isEmpty else { throw .badChallenge("no nonce") }
        if let algorithm = fields["algorithm"], algorithm.lowercased() != "md5-sess" {
            throw .badChallenge("algorithm \(algorithm) (want md5-sess)")
        }
        let qops = (fields["qop"] ?? "auth").split(separator: ",").map { $0.trimmed.lowercased() }
        guard qops.contains("auth") else { throw .badChallenge("qop \(fields["qop"] ?? "") lacks auth") }
        let realm = fields["realm"] ?? ""
        let utf8 = fields["charset"]?.lowercased() == "utf-8"
        guard let secret = Self.encode(username, utf8: utf8), let realmBytes = Self.encode(realm, utf8: utf8),
              let passwordBytes = Self.encode(password, utf8: utf8)
        else { throw .badChallenge("the credentials need charset=utf-8, which the server did not offer") }

        let nc = "00000001"
        let a1 = MD5.hash(secret + [UInt8(ascii: ":")] + realmBytes + [UInt8(ascii: ":")] + passwordBytes)
            + Array(":\(nonce):\(cnonce)".utf8)
        let ha1 = MD5.hex(MD5.hash(a1))
        func digest(_ a2: String) -> String {
            MD5.hex(MD5.hash(Array("\(ha1):\(nonce):\(nc):\(cnonce):auth:\(MD5.hex(MD5.hash(Array(a2.utf8))))".utf8)))
        }
        expectedRspauth = digest(":\(digestURI)")
        var parts: [String] = []
        if utf8 { parts.append("charset=utf-8") }
        parts.append("username=\(Self.quoted(username))")
        if fields["realm"] != nil { parts.append("realm=\(Self.quoted(realm))") }
        parts += ["nonce=\(Self.quoted(nonce))", "nc=\(nc)", "cnonce=\(Self.quoted(cnonce))",
                  "digest-uri=\(Self.quoted(digestURI))", "maxbuf=65536", "response=\(digest("AUTHENTICATE:\(digestURI)"))", "qop=auth"]
        return Array(parts.joined(separator: ",").utf8)
    }

    /// Checks the server's final message ("rspauth=...").
    public func verify(final message: [UInt8]) throws(Failure) {
        guard let expected = expectedRspauth, let fields = Self.directives(message), fields["rspauth"]?.lowercased() == expected else {
            throw .badServerProof
        }
    }

    /// 16 random bytes in hex.
    public static func randomCnonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return MD5.hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `key=value` or `key="quoted value"` pairs separated by commas; nil when unreadable. A
    /// repeated key keeps its first value (a server may offer several realms: we take the first).
    static func directives(_ bytes: [UInt8]) -> [String: String]? {
        var fields: [String: String] = [:]
        var i = 0
        func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 } }
        while true {
            skipSpace()
            while i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; skipSpace() }
            guard i < bytes.count else { return fields }
            let keyStart = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: ",") { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { return nil }
            let key = String(decoding: bytes[keyStart..<i], as: UTF8.self).trimmed.lowercased()
            i += 1
            skipSpace()
            var value: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < bytes.count else { return nil }  // unterminated
                    if bytes[i] == UInt8(ascii: "\"") { i += 1; break }
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                    value.append(bytes[i])
                    i += 1
                }
            } else {
                while i < bytes.count, bytes[i] != UInt8(ascii: ",") { value.append(bytes[i]); i += 1 }
            }
            guard !key.isEmpty else { return nil }
            if fields[key] == nil { fields[key] = String(decoding: value, as: UTF8.self).trimmed }
        }
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    /// RFC 2831: with charset=utf-8, text that fits ISO 8859-1 is hashed as ISO 8859-1, other
    /// text as UTF-8; without it, only ISO 8859-1 is allowed (nil otherwise).
    private static func encode(_ text: String, utf8: Bool) -> [UInt8]? {
        let scalars = text.unicodeScalars
        if scalars.allSatisfy({ $0.value <= 0xFF }) { return scalars.map { UInt8($0.value) } }
        return utf8 ? Array(text.utf8) : nil
    }
}

extension DigestMD5Client: CustomStringConvertible {
    /// Never shows the password.
    public var description: String { "DigestMD5Client(username: \(username), digestURI: \(digestURI))" }
}

private extension StringProtocol {
    var trimmed: String {
        let scalars = unicodeScalars.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
        return String(String.UnicodeScalarView(scalars))
    }
}
