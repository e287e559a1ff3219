import Testing
import ZooKeeperProtocol

@Suite struct PathValidationTests {
    @Test(arguments: ["/", "/a", "/a/b", "/zookeeper", "/a.b", "/..a", "/a..", "/.a/b.", "/é/ü", "/a b", "/a-b_c:d@e"])
    func valid(path: String) {
        #expect(PathValidation.isValid(path))
    }

    @Test(arguments: [
        "", "a", "a/b", "/a/", "//", "/a//b", "/.", "/..", "/a/.", "/a/../b", "/./a", "/a\u{0}b", "/a\u{1}",
        "/a\u{1f}", "/a\u{7f}", "/a\u{9f}", "/a\u{e000}", "/a\u{f8ff}", "/a\u{fff0}", "/a\u{ffff}", "/a\u{1F600}", "/a\nb",
    ])
    func invalid(path: String) {
        #expect(throws: InvalidPathError.self) { try PathValidation.validate(path) }
    }

    @Test func sequentialMayEndInSlash() {
        #expect(PathValidation.isValid("/queue/", sequential: true))
        #expect(PathValidation.isValid("/queue/item-", sequential: true))
        #expect(!PathValidation.isValid("/queue/", sequential: false))
        #expect(!PathValidation.isValid("/queue//", sequential: true))
        #expect(!PathValidation.isValid("/a/../", sequential: true))
    }

    /// Every short path over an alphabet that mixes the rules' edge cases, against the rules
    /// written out plainly (the validator takes an allocation-free shortcut for ASCII).
    @Test func agreesWithTheRulesOnShortPaths() {
        let alphabet: [Character] = ["/", ".", "a", " ", "\u{1}", "\u{7f}", "é"]
        func expected(_ path: String, sequential: Bool) -> Bool {
            guard path.first == "/" else { return false }
            if path == "/" { return true }
            if path.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) { return false }
            var segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if sequential, segments.last == "" { segments.removeLast() }
            return !segments.isEmpty && segments.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
        }
        var paths = [""], all: [String] = []
        for _ in 1...5 {
            paths = paths.flatMap { p in alphabet.map { p + String($0) } }
            all += paths
        }
        for path in all {
            for sequential in [false, true] where path.count > 1 || !sequential {
                #expect(PathValidation.isValid(path, sequential: sequential) == expected(path, sequential: sequential), "\(path.debugDescription) sequential: \(sequential)")
            }
        }
    }

    @Test func errorSaysWhy() {
        do {
            try PathValidation.validate("/a//b")
            Issue.record("no error")
        } catch {
            #expect(error.reason.contains("empty node name"))
            #expect(error.path == "/a//b")
        }
    }
}

@Suite struct ChrootTests {
    @Test func prefixesAndStrips() throws {
        let chroot = try Chroot("/app/x")
        #expect(chroot.serverPath("/") == "/app/x")
        #expect(chroot.serverPath("/node") == "/app/x/node")
        #expect(chroot.clientPath("/app/x") == "/")
        #expect(chroot.clientPath("/app/x/node") == "/node")
        #expect(chroot.clientPath("/app/xy") == "/app/xy", "a sibling with a common prefix is not inside")
        #expect(chroot.clientPath("/other") == "/other")
    }

    @Test func noChrootIsIdentity() throws {
        for root in ["", "/"] {
            let chroot = try Chroot(root)
            #expect(chroot.isNone)
            #expect(chroot.serverPath("/a") == "/a")
            #expect(chroot.clientPath("/a") == "/a")
        }
    }

    @Test func invalidChrootIsRefused() {
        #expect(throws: InvalidPathError.self) { try Chroot("app") }
        #expect(throws: InvalidPathError.self) { try Chroot("/app/") }
    }
}
