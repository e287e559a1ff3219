import Testing
import ZooKeeperProtocol

@Suite struct MD5Tests {
    /// RFC 1321, appendix A.5.
    @Test func rfc1321TestSuite() {
        let vectors: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (input, digest) in vectors { #expect(MD5.hex(MD5.hash(Array(input.utf8))) == digest, "\(input)") }
    }

    /// Lengths around the padding boundary (55, 56, 63, 64 bytes) against known digests.
    @Test func paddingBoundaries() {
        #expect(MD5.hex(MD5.hash([UInt8](repeating: 0x61, count: 55))) == "ef1772b6dff9a122358552954ad0df65")
        #expect(MD5.hex(MD5.hash([UInt8](repeating: 0x61, count: 56))) == "3b0c8ac703f828b04c6c197006d17218")
        #expect(MD5.hex(MD5.hash([UInt8](repeating: 0x61, count: 64))) == "014842d480b571495a4a0363793f7367")
    }
}

@Suite struct DigestMD5Tests {
    /// RFC 2831 section 4, the IMAP example: the response and the server's rspauth.
    @Test func rfc2831Example() throws {
        var client = DigestMD5Client(username: "chris", password: "secret", service: "imap", host: "elwood.innosoft.com",
                                     cnonce: "OA6MHXh6VqTrRk")
        let challenge = #"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#
        let response = String(decoding: try client.respond(to: Array(challenge.utf8)), as: UTF8.self)
        #expect(response == #"charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,"#
            + #"cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",maxbuf=65536,response=d388dad90d4bbd760a152321f2143af7,qop=auth"#)
        try client.verify(final: Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8))
        #expect(throws: DigestMD5Client.Failure.badServerProof) { try client.verify(final: Array("rspauth=00000000000000000000000000000000".utf8)) }
    }

    @Test func refusesChallengesItCannotAnswer() {
        var client = DigestMD5Client(username: "bob", password: "x")
        for bad in ["", "realm=\"x\"", "nonce=\"n\",qop=\"auth-conf\"", "nonce=\"n\",algorithm=md5", "nonce=\"unterminated", "=x"] {
            #expect(throws: DigestMD5Client.Failure.self, "\(bad)") { try client.respond(to: Array(bad.utf8)) }
        }
        #expect(throws: DigestMD5Client.Failure.badServerProof) { try client.verify(final: Array("rspauth=x".utf8)) }
    }

    @Test func quotesAndEscapesTheUsername() throws {
        var client = DigestMD5Client(username: #"a"b\c"#, password: "p", cnonce: "c")
        let response = String(decoding: try client.respond(to: Array(#"nonce="n\"x""#.utf8)), as: UTF8.self)
        #expect(response.contains(#"username="a\"b\\c""#))
        #expect(response.contains(#"nonce="n\"x""#))
        #expect(!response.contains("realm="))
    }

    @Test func descriptionHidesThePassword() {
        let client = DigestMD5Client(username: "bob", password: "bobsecret")
        #expect(!"\(client)".contains("bobsecret"))
    }

    @Test func saslRecordsRoundTrip() throws {
        let request = GetSASLRequest(token: [1, 2, 3])
        #expect(try GetSASLRequest.decode(exactly: request.encoded()) == request)
        #expect(try SetSASLResponse.decode(exactly: [0xFF, 0xFF, 0xFF, 0xFF]) == SetSASLResponse(token: nil))
    }
}
