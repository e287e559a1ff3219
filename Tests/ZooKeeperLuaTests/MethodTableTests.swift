#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import ZooKeeperLua

/// The methods are declared once (LuaMethodTable.swift); everything else must agree with that
/// table: the core implements each, batch and the `_async` forms take exactly the flagged ones,
/// the C ABI lists them all, and the README documents exactly the declared methods.
@Suite struct MethodTableTests {
    /// The README's Lua API section (up to the next `## ` heading).
    static func readmeLuaAPI() throws -> [Substring] {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let file = try #require(fopen("/" + root + "/README.md", "r"), "README.md not found beside Tests/")
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            text += buffer[0..<n]
        }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("## Lua API") }, "README has no Lua API section")
        let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.endIndex
        return Array(lines[start..<end])
    }

    /// Method names in the first cells of the table rows `| \`client:name(...)\` ...` (or
    /// `client:name{...}`), by the `### ` heading they are under.
    static func documentedMethods() throws -> [String: Set<String>] {
        var byHeading: [String: Set<String>] = [:]
        var heading = ""
        for line in try readmeLuaAPI() {
            if line.hasPrefix("### ") { heading = String(line.dropFirst(4)) }
            guard line.hasPrefix("| `client:") else { continue }
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            var rest = cell[...]
            while let range = rest.range(of: "client:") {
                let name = rest[range.upperBound...].prefix { $0 == "_" || ($0 >= "a" && $0 <= "z") }
                let next = rest[range.upperBound...].dropFirst(name.count).first
                if !name.isEmpty, next == "(" || next == "{" {
                    byHeading[heading, default: []].insert(String(name))
                }
                rest = rest[range.upperBound...]
            }
        }
        return byHeading
    }

    @Test func theReadmeDocumentsExactlyTheDeclaredMethods() throws {
        let documented = try Self.documentedMethods()
        let all = documented.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let declared = Set(LuaMethod.all.filter { !$0.flags.contains(.hidden) }.map(\.name))
        #expect(all.subtracting(declared).isEmpty, "documented but not declared: \(all.subtracting(declared).sorted())")
        #expect(declared.subtracting(all).isEmpty, "declared but not in the README: \(declared.subtracting(all).sorted())")
        let contract = Set(LuaMethod.all.filter { $0.flags.contains(.contract) }.map(\.name))
        let documentedContract = documented.first { $0.key.hasPrefix("The original client") }?.value ?? []
        #expect(documentedContract == contract)
    }

    /// The README says `_async` exists "for each method `batch` takes".
    @Test func asyncFormsAreTheBatchableMethods() {
        for method in LuaMethod.all {
            #expect(method.flags.contains(.async) == method.flags.contains(.batchable), "\(method.name)")
        }
    }

    @Test func everyDeclaredMethodIsImplemented() throws {
        for method in LuaMethod.all {
            let bed = HostedBed()
            let message = HostedBed.raised(bed.call(method.name)) ?? ""
            #expect(!message.contains("not implemented") && !message.contains("no method"), "\(method.name): \(message)")
        }
    }

    @Test func batchAndAsyncTakeExactlyTheFlaggedMethods() throws {
        for method in LuaMethod.all {
            let bed = HostedBed()
            let batch = HostedBed.raised(bed.call("batch", .array([.array([.string(method.name)])]))) ?? ""
            #expect(batch.contains("cannot be batched") == !method.flags.contains(.batchable), "\(method.name): \(batch)")
            let async = HostedBed.raised(bed.call(method.name + "_async")) ?? ""
            #expect(async.contains("no method") == !method.flags.contains(.async), "\(method.name)_async: \(async)")
        }
    }

    @Test func theCABIListsEveryDeclaredMethod() {
        var listed: [String: Int32] = [:]
        var name: UnsafePointer<CChar>?
        var flags: Int32 = 0
        var index: Int32 = 0
        while zkl_method(index, &name, &flags) == 1, let name {
            listed[String(cString: name)] = flags
            index += 1
        }
        #expect(listed == Dictionary(uniqueKeysWithValues: LuaMethod.all.map { ($0.name, $0.flags.rawValue) }))
        #expect(zkl_method(-1, &name, &flags) == 0)
    }
}
