import ArgumentParser
import ZooKeeper

#if canImport(Glibc)
import Glibc
#endif

/// `zk`: look at and change a ZooKeeper tree from the shell, on the Swift API.
@main
struct ZK: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zk",
        abstract: "A ZooKeeper command line.",
        discussion: """
            Every command takes --server HOSTS (default $ZK_SERVER, else 127.0.0.1:2181) and \
            --timeout MS; reading commands take --json. A failure prints one line naming the node \
            and the ZooKeeper code, and exits with status 1.
            """,
        subcommands: [Ls.self, Get.self, SetData.self, Create.self, Rm.self, StatCommand.self, Watch.self,
                      Tree.self, Acl.self, FourLetterWordCommand.self]
    )

    static func main() async {
        do {
            // Global options may come before the command name, as in `zk --server H ls /`.
            var command = try parseAsRoot(hoistingConnectionOptions(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            warn("zk: \(failure)")
            Glibc.exit(1)
        } catch {
            exit(withError: error)
        }
    }

    /// Moves `--server X` / `--timeout X` given before the command name to after it, where the
    /// command's own option group parses them.
    static func hoistingConnectionOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first, first == "--server" || first == "--timeout"
            || first.hasPrefix("--server=") || first.hasPrefix("--timeout=") {
            leading.append(rest.removeFirst())
            if !first.contains("="), let value = rest.first {
                leading.append(value)
                rest.removeFirst()
            }
        }
        guard !leading.isEmpty, let command = rest.first else { return arguments }
        // `acl get`: keep the nested command name together before the options.
        var names = [command]
        rest.removeFirst()
        if command == "acl", let sub = rest.first, !sub.hasPrefix("-") {
            names.append(sub)
            rest.removeFirst()
        }
        return names + leading + rest
    }
}
