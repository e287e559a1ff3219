import ZooKeeperProtocol
import ZooKeeperSession

/// Module-level functions (no client): digest ids, ACL entries, the error codes by name.
enum ModuleHelpers {
    static func call(_ name: String, _ values: [LuaValue]) -> LuaClient.Outcome {
        let args = LuaArguments(method: name, values: values, firstNumber: 1)
        do {
            switch name {
            case "digest_id":
                return .done([.string(DigestAuth.digestId(user: try args.string(0), password: try args.string(1)))])
            case "digest_acl":
                let id = DigestAuth.digestId(user: try args.string(0), password: try args.string(1))
                let perms = try args.integer(2, default: Int64(Permissions.all.rawValue), range: 0...31)
                return .done([.record(["perms": .int(perms), "scheme": .string("digest"), "id": .string(id)])])
            case "error_codes":
                return .done([LuaFormat.errorCodes])
            default:
                return .raise("resty.zookeeper: no function '\(name)'")
            }
        } catch {
            return .raise(error.message)
        }
    }
}
