import Testing
import ZooKeeperRecipes

@Suite struct NamingTests {
    @Test func contendersSortBySequenceWhateverTheirPrefix() {
        let children = [
            "_c_\(testId)-lock-0000000007",  // ours
            "ab12cd__lock__0000000003",  // kazoo
            "_c_11111111-2222-4333-8444-555555555555-lock-0000000005",  // Curator
            "leases",  // not a contender
            "x-lock-12",  // too short a suffix
        ]
        #expect(Contenders.sorted(children) == [
            "ab12cd__lock__0000000003",
            "_c_11111111-2222-4333-8444-555555555555-lock-0000000005",
            "_c_\(testId)-lock-0000000007",
        ])
        #expect(Contenders.sequence(of: "lock-2147483647") == 2_147_483_647)
        #expect(Contenders.sequence(of: "lock-00000x0042") == nil)
        #expect(Contenders.sequence(of: "lock-0000000042") == 42)
    }

    @Test func protectedNamesFollowCuratorsLayout() {
        var generator = SystemRandomNumberGenerator()
        let id = ProtectedName.randomId(using: &generator)
        let parts = id.split(separator: "-").map(\.count)
        #expect(parts == [8, 4, 4, 4, 12])
        #expect(id == id.lowercased())
        #expect(id[id.index(id.startIndex, offsetBy: 14)] == "4")  // version 4
        #expect(ProtectedName.prefix(for: id) == "_c_\(id)-")
        #expect(ProtectedName.isProtected("_c_\(id)-lock-0000000001"))
        #expect(!ProtectedName.isProtected("lock-0000000001"))
        #expect(ProtectedName.normalized("_c_\(id)-lock-0000000001") == "lock-0000000001")
        #expect(ProtectedName.normalized("lock-0000000001") == "lock-0000000001")
    }
}
