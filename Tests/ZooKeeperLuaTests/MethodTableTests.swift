#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import ZooKeeperLua

/// The methods are declared once (LuaMethodTable.swift); everything else must agree with that
/// table: the core implements each, batch and the `_async` forms take exactly the flagged ones,
/// the C ABI lists them all, and the Lua API reference documents exactly the declared methods.
@Suite struct MethodTableTests {
    /// docs/lua-api.md, the Lua API reference.
    static func referenceLines() throws -> [Substring] {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let file = try #require(fopen("/" + root + "/docs/lua-api.md", "r"), "docs/lua-api.md not found beside Tests/")
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            text += buffer[0..<n]
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The methods with a `### client:name` entry (a recipe object's: `### lock:name`, declared
    /// as `lock:name`), by the `## ` section they are in.
    static func documentedMethods() throws -> [String: Set<String>] {
        var bySection: [String: Set<String>] = [:]
        var section = ""
        // The kinds of object: those the makers are named after, and those they answer (a lease).
        let objects = Set(LuaMethod.all.filter { $0.flags.contains(.object) }.flatMap { [$0.name, $0.result] })
        func isName(_ text: Substring) -> Bool { !text.isEmpty && text.allSatisfy { $0 == "_" || ($0 >= "a" && $0 <= "z") } }
        for line in try referenceLines() {
            if line.hasPrefix("## ") { section = String(line.dropFirst(3)) }
            guard line.hasPrefix("### ") else { continue }
            let parts = line.dropFirst(4).split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, isName(parts[0]), isName(parts[1]) else { continue }
            if parts[0] == "client" {
                bySection[section, default: []].insert(String(parts[1]))
            } else if objects.contains(String(parts[0])) {
                bySection[section, default: []].insert(line.dropFirst(4).description)
            }
        }
        return bySection
    }

    @Test func theReferenceDocumentsExactlyTheDeclaredMethods() throws {
        let documented = try Self.documentedMethods()
        let all = documented.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let declared = Set(LuaMethod.all.filter { !$0.flags.contains(.hidden) }.map(\.name))
        #expect(all.subtracting(declared).isEmpty, "documented but not declared: \(all.subtracting(declared).sorted())")
        #expect(declared.subtracting(all).isEmpty, "declared but not in docs/lua-api.md: \(declared.subtracting(all).sorted())")
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
