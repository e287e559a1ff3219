import ArgumentParser
import ZooKeeper

struct Acl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read or set a node's ACL.", subcommands: [Get.self, Set.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a node's ACL, one scheme:id:perms a line.")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Print a JSON array of {scheme, id, perms}.") var json = false
        @Argument(help: "The node.") var path: String

        func run() async throws {
            try await connection.withClient { zk in
                let (acl, _) = try await request(path) { () async throws in try await zk.getACL(path) }
                if json { emit(JSON.array(acl.map(\.json)).rendered) } else { acl.map(\.text).forEach(emit) }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a node's ACL.",
            discussion: "ACL is scheme:id:perms[,scheme:id:perms...], perms from cdrwa: world:anyone:r, digest:user:BASE64:cdrwa, ip:127.0.0.1:cdrwa.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only if the ACL is at this version (aversion).") var version: Int32 = -1
        @Argument(help: "The node.") var path: String
        @Argument(help: "The new ACL.") var acl: String

        func validate() throws { _ = try Self.parse(acl) }

        func run() async throws {
            let entries = try Self.parse(acl)
            try await connection.withClient { zk in
                _ = try await request(path) { () async throws in try await zk.setACL(path, acl: entries, version: version) }
            }
        }

        /// The scheme is before the first colon, the permissions after the last (a digest id has
        /// a colon of its own).
        static func parse(_ text: String) throws -> [ACL] {
            try text.split(separator: ",").map { entry in
                guard let first = entry.firstIndex(of: ":"), let last = entry.lastIndex(of: ":"), first < last else {
                    throw ValidationError("ACL entry \"\(entry)\" is not scheme:id:perms")
                }
                var permissions: Permissions = []
                for letter in entry[entry.index(after: last)...] {
                    switch letter {
                    case "c": permissions.insert(.create)
                    case "d": permissions.insert(.delete)
                    case "r": permissions.insert(.read)
                    case "w": permissions.insert(.write)
                    case "a": permissions.insert(.admin)
                    default: throw ValidationError("ACL entry \"\(entry)\": unknown permission \"\(letter)\" (use cdrwa)")
                    }
                }
                let id = Id(scheme: String(entry[..<first]), id: String(entry[entry.index(after: first)..<last]))
                return ACL(permissions: permissions, id: id)
            }
        }
    }
}

struct FourLetterWordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "4lw", abstract: "Ask the first server of --server a four-letter word and print its answer.")

    enum Word: String, ExpressibleByArgument, CaseIterable {
        case srvr, mntr, cons, ruok
    }

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON: srvr and mntr as an object of their fields, cons as {connections: [...]}, ruok as {ok}.") var json = false
    @Argument(help: "srvr, mntr, cons or ruok.") var word: Word

    func run() async throws {
        let connectString: ConnectString
        do { connectString = try ConnectString(connection.connectString) } catch { throw CommandFailure("\(error)") }
        guard let server = connectString.hosts.first else { throw CommandFailure("no server in \(connection.connectString)") }
        let answer: String
        do {
            answer = try FourLetterWord.send(word.rawValue, host: server.host, port: server.port, timeout: .milliseconds(connection.timeout))
        } catch {
            throw CommandFailure("\(error)")
        }
        guard json else {
            print(answer, terminator: answer.hasSuffix("\n") || answer.isEmpty ? "" : "\n")
            return
        }
        emit(Self.json(word, answer).rendered)
    }

    static func json(_ word: Word, _ answer: String) -> JSON {
        let lines = answer.split(separator: "\n").map { String($0) }
        func number(_ text: String) -> JSON { Int64(text).map(JSON.int) ?? .string(text) }
        switch word {
        case .ruok:
            return .object([("ok", .bool(answer == "imok"))])
        case .cons:
            return .object([("connections", .array(lines.map { .string($0.trimmingCharacters(in: " ")) }.filter { if case .string("") = $0 { false } else { true } }))])
        case .mntr:
            return .object(lines.compactMap { line in
                let parts = line.split(separator: "\t", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), number(String(parts[1]))) : nil
            })
        case .srvr:
            return .object(lines.compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                let value = line[line.index(after: colon)...].trimmingCharacters(in: " ")
                return (String(line[..<colon]), number(value))
            })
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(self.drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String { String(self).trimmingCharacters(in: set) }
}
