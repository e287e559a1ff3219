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
