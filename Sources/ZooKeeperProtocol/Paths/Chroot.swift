/// A client-side root: every path the application uses is below it on the server.
/// Outgoing paths get the prefix; paths coming back (created paths, events, ephemerals, multi
/// results) lose it.
public struct Chroot: Hashable, Sendable {
    /// The server path of the client's "/", without a trailing slash; empty for no chroot.
    public let prefix: String

    /// No chroot.
    public static let none = Chroot(uncheckedPrefix: "")

    /// A chroot at `path` ("/" or "" mean none). The path must be a valid absolute path.
    public init(_ path: String) throws(InvalidPathError) {
        if path.isEmpty || path == "/" {
            self.init(uncheckedPrefix: "")
            return
        }
        try PathValidation.validate(path)
        self.init(uncheckedPrefix: path)
    }

    private init(uncheckedPrefix: String) { prefix = uncheckedPrefix }

    public var isNone: Bool { prefix.isEmpty }

    /// The server path for a client path.
    public func serverPath(_ clientPath: String) -> String {
        if prefix.isEmpty { return clientPath }
        return clientPath == "/" ? prefix : prefix + clientPath
    }

    /// The client path for a server path; a path outside the chroot is returned unchanged, since
    /// it cannot be expressed relative to it.
    public func clientPath(_ serverPath: String) -> String {
        if prefix.isEmpty { return serverPath }
        if serverPath == prefix { return "/" }
        let rest = serverPath.utf8.dropFirst(prefix.utf8.count)
        if serverPath.utf8.starts(with: prefix.utf8), rest.first == UInt8(ascii: "/") {
            return String(decoding: rest, as: UTF8.self)
        }
        return serverPath
    }
}
