#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// Connect strings parsed once per process: a per-request client (inside nginx, one session per
/// request) would otherwise parse the same text on every connect, a visible share of its CPU.
enum ParsedConnectStrings {
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()
    nonisolated(unsafe) private static var parsed: [String: ConnectString] = [:]
    /// Bounds the memory a program that makes up connect strings could pin.
    private static let limit = 64

    static func parse(_ text: String) throws(ConnectStringError) -> ConnectString {
        pthread_mutex_lock(lock)
        let known = parsed[text]
        pthread_mutex_unlock(lock)
        if let known { return known }
        let connectString = try ConnectString(text)
        pthread_mutex_lock(lock)
        if parsed.count >= limit { parsed.removeAll() }
        parsed[text] = connectString
        pthread_mutex_unlock(lock)
        return connectString
    }
}
