#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ZooKeeper's four-letter words (`srvr`, `mntr`, `cons`, `ruok`, `conf`, ...): a word sent on a
/// fresh connection to the client port, answered as text, after which the server closes. Used by
/// the `zk 4lw` command and the test bed; the server must list the word in
/// `4lw.commands.whitelist`.
public enum FourLetterWord {
    /// Why a word got no answer.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Sends `word` to `host:port` and returns the whole answer. Blocking (a plain socket with
    /// send and receive timeouts): call it off latency-sensitive threads.
    public static func send(_ word: String, host: String, port: Int, timeout: Duration = .seconds(5)) throws(Failure) -> String {
        func failure(_ what: String, _ code: Int32) -> Failure {
            Failure(description: "\(word) to \(HostAddress(host: host, port: port)): \(what): \(String(cString: strerror(code)))")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = socketTypeStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }

        let micros = max(timeout.components.seconds * 1_000_000 + timeout.components.attoseconds / 1_000_000_000_000, 1_000)
        var lastError = ECONNREFUSED
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next?.pointee {
            next = ai.ai_next
            let fd = socket(ai.ai_family, ai.ai_socktype, ai.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            defer { close(fd) }
            var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: .init(micros % 1_000_000))
            // On Linux SO_SNDTIMEO also bounds connect().
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            guard connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 else { lastError = errno; continue }

            let request = Array(word.utf8)
            guard Glibc.send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                throw failure("send", errno)
            }
            var answer = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { answer += buffer[0..<n]; continue }
                if n == 0 { return String(decoding: answer, as: UTF8.self) }
                if errno == EINTR { continue }
                throw failure("recv", errno)
            }
        }
        throw failure("connect", lastError)
    }
}

#if canImport(Glibc)
private let socketTypeStream = Int32(SOCK_STREAM.rawValue)
#else
private let socketTypeStream = SOCK_STREAM
#endif
