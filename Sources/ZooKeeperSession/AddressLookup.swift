#if canImport(Glibc)
import Glibc
#endif

/// One address of a server, as getaddrinfo gives it.
public struct ResolvedAddress: @unchecked Sendable {
    public var storage = sockaddr_storage()
    public var length: socklen_t = 0
    public var family: Int32 { Int32(storage.ss_family) }

    public init() {}
}

extension HostAddress {
    /// Every address of the host (numeric or a name), in getaddrinfo's order; empty when it
    /// does not resolve. For the transports (the state machine does no I/O): a name such as
    /// `localhost` may give ::1 first while the server listens on 127.0.0.1 only, so a
    /// transport tries each in turn. This blocks while a name is looked up.
    public func resolvedAddresses() -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [ResolvedAddress] = []
        var entry = result
        while let info = entry {
            entry = info.pointee.ai_next
            guard let source = info.pointee.ai_addr,
                  Int(info.pointee.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size else { continue }
            var address = ResolvedAddress()
            address.length = info.pointee.ai_addrlen
            withUnsafeMutableBytes(of: &address.storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(start: source, count: Int(info.pointee.ai_addrlen)))
            }
            addresses.append(address)
        }
        return addresses
    }
}
