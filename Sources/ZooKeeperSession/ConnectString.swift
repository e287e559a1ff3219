import ZooKeeperProtocol

/// One server of an ensemble.
public struct HostAddress: Hashable, Sendable, CustomStringConvertible {
    /// A name, an IPv4 address or an IPv6 address (without brackets).
    public var host: String
    /// The client port.
    public var port: Int

    /// A server address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with IPv6 addresses in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a connect string was refused.
public struct ConnectStringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text that was refused.
    public let connectString: String
    /// What is wrong with it.
    public let reason: String
    /// The refusal as a sentence.
    public var description: String { "invalid connect string \"\(connectString)\": \(reason)" }
}

/// `host:port[,host:port...][/chroot]`, with IPv4 addresses, host names and bracketed IPv6
/// addresses; a host without a port gets 2181.
public struct ConnectString: Hashable, Sendable {
    /// The port of a host given without one.
    public static let defaultPort = 2181

    /// The ensemble's servers, in the order given.
    public var hosts: [HostAddress]
    /// The client's root on the server.
    public var chroot: Chroot

    /// A connect string from its parts.
    public init(hosts: [HostAddress], chroot: Chroot = .none) {
        self.hosts = hosts
        self.chroot = chroot
    }

    /// Parses `host:port[,host:port...][/chroot]`.
    public init(_ text: String) throws(ConnectStringError) {
        func fail(_ reason: String) -> ConnectStringError { ConnectStringError(connectString: text, reason: reason) }
        let trimmed = text.trimmingWhitespace()
        var hostPart = Substring(trimmed)
        var chroot = Chroot.none
        if let slash = trimmed.firstIndex(of: "/") {
            hostPart = trimmed[..<slash]
            do {
                chroot = try Chroot(String(trimmed[slash...]))
            } catch {
                throw fail("chroot: \(error.reason)")
            }
        }
        var hosts: [HostAddress] = []
        for entry in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = String(entry).trimmingWhitespace()
            if entry.isEmpty { throw fail("empty host entry") }
            hosts.append(try Self.parseHost(entry, fail))
        }
        if hosts.isEmpty { throw fail("no hosts") }
        self.init(hosts: hosts, chroot: chroot)
    }

    private static func parseHost(_ entry: String, _ fail: (String) -> ConnectStringError) throws(ConnectStringError) -> HostAddress {
        var host: Substring
        var portText: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { throw fail("unclosed [ in \(entry)") }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let rest = entry[entry.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw fail("unexpected text after ] in \(entry)") }
                portText = rest.dropFirst()
            }
        } else if entry.filter({ $0 == ":" }).count > 1 {
            throw fail("IPv6 address \(entry) must be written in brackets: [addr]:port")
        } else if let colon = entry.firstIndex(of: ":") {
            host = entry[..<colon]
            portText = entry[entry.index(after: colon)...]
        } else {
            host = Substring(entry)
        }
        if host.isEmpty { throw fail("empty host name in \(entry)") }
        var port = defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw fail("invalid port in \(entry)") }
            port = p
        }
        return HostAddress(host: String(host), port: port)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
