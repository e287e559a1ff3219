import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Cross-checks with an independent client, kazoo: what each writes the other reads, and a
/// digest ACL kazoo sets is honoured after our addAuth and refused without it.
@Suite struct KazooCrossCheckTests {
    /// The suites' one kazoo helper, test/kazoo_peer.py.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../test/kazoo_peer.py").standardizedFileURL.path

    func kazoo(_ arguments: String...) async throws -> String {
        let server = try await ZooKeeperServer.shared()
        let result = try await ChildProcess.run(["/usr/bin/python3", Self.script, server.connectString] + arguments)
        #expect(result.status == 0, "kazoo \(arguments) failed: \(result.error)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func dataWrittenByEachSideIsReadByTheOther() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("kazoo")
        let ours: [UInt8] = Array("written by swift \u{e9}".utf8) + [0, 255]
        try await zk.create(root, data: ours)
        #expect(try await kazoo("read", root) == hex(ours))

        let theirs: [UInt8] = [1, 2, 3, 0, 0xFE]
        _ = try await kazoo("write", root + "/from-kazoo", hex(theirs))
        #expect(try await zk.getData(root + "/from-kazoo").data == theirs)

        // An ephemeral of ours is visible to kazoo, and gone for it once we close.
        try await zk.create(root + "/eph", mode: .ephemeral)
        #expect(try await kazoo("exists", root + "/eph") == "\(root)/eph yes")
        await zk.close()
        #expect(try await kazoo("exists", root + "/eph") == "\(root)/eph no")
    }

    @Test func digestACLSetByKazooIsHonoured() async throws {
        let root = uniqueRoot("kazoo-acl")
        _ = try await kazoo("digest-node", root, "carol", "s3cret")
        let zk = try await connectShared()
        await expectCode(.noAuth) { try await zk.getData(root) }
        try await zk.addAuth(scheme: "digest", credentials: DigestAuth.credentials(user: "carol", password: "wrong"))
        await expectCode(.noAuth) { try await zk.getData(root) }
        try await zk.addAuth(scheme: "digest", credentials: DigestAuth.credentials(user: "carol", password: "s3cret"))
        #expect(try await zk.getData(root).data == Array("guarded".utf8))
        let (acl, _) = try await zk.getACL(root)
        #expect(acl == [ACL(permissions: .all, id: Ids.digest(user: "carol", password: "s3cret"))], "kazoo's digest id matches ours")
        await zk.close()
    }

    /// kazoo's Lock told about Curator-style names: "locked" (then released) or "timeout".
    static let tryLock = """
        from kazoo.exceptions import LockTimeout
        lock = zk.Lock(sys.argv[1], extra_lock_patterns=["-lock-"])
        try:
            lock.acquire(timeout=float(sys.argv[2]))
            print("locked")
            lock.release()
        except LockTimeout:
            print("timeout")
        """

    @Test func kazoosLockToldAboutCuratorNamesIsExcludedByOurs() async throws {
        let zk = try await connectShared()
        let path = uniqueRoot("kazoo-lock") + "/mutex"
        let lock = zk.lock(path)
        #expect(lock.nodePath == nil)
        try await lock.acquire()
        // Our node: protected, sequential, ephemeral, ours.
        let node = try #require(lock.nodePath)
        #expect(node.hasPrefix(path + "/_c_") && node.dropLast(10).hasSuffix("-lock-") && node.suffix(10).allSatisfy(\.isNumber), "\(node)")
        #expect(try await zk.exists(node)?.ephemeralOwner == zk.sessionId)
        #expect(try await kazoo("exec", Self.tryLock, path, "0.3") == "timeout")
        try await lock.release()
        #expect(lock.nodePath == nil)
        #expect(try await kazoo("exec", Self.tryLock, path, "5") == "locked")
        await zk.close()
    }
}
