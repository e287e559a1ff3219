#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ZooKeeperSession

/// A host's addresses for the NIO driver, looked up off the event loop: getaddrinfo can wait
/// seconds for a slow DNS server, and one loop serves every client of the process.
enum HostResolver {
    /// Answers every address of `host` through `done`, in getaddrinfo's order (a name such as
    /// `localhost` may give ::1 first while the server listens on 127.0.0.1 only): at once for
    /// a numeric address, from a thread of its own for a name. Empty when nothing resolves.
    static func resolve(_ host: HostAddress, _ done: @escaping @Sendable ([SocketAddress]) -> Void) {
        if let numeric = try? SocketAddress(ipAddress: host.host, port: host.port) { return done([numeric]) }
        // A thread per lookup rather than NIO's or Dispatch's pools, which do not survive a
        // fork(); lookups happen once per connect attempt to a named host.
        if !detach({ done(lookUp(host)) }) { done(lookUp(host)) }
    }

    /// getaddrinfo, on the calling thread, as NIO's addresses.
    static func lookUp(_ host: HostAddress) -> [SocketAddress] {
        host.resolvedAddresses().compactMap { resolved in
            var storage = resolved.storage
            return withUnsafeBytes(of: &storage) { raw -> SocketAddress? in
                switch resolved.family {
                case AF_INET: SocketAddress(raw.load(as: sockaddr_in.self), host: host.host)
                case AF_INET6: SocketAddress(raw.load(as: sockaddr_in6.self), host: host.host)
                default: nil
                }
            }
        }
    }

    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread; false when no thread could be made.
    private static func detach(_ body: @escaping @Sendable () -> Void) -> Bool {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Work>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, work)
        guard rc == 0 else {
            Unmanaged<Work>.fromOpaque(work).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
