import Foundation
import Logging
import NIOConcurrencyHelpers

/// Keeps a client's log lines (debug and up) with their times, so that a test that fails can
/// show what the client did meanwhile.
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    private let began = ContinuousClock.now

    var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }

    /// A logger at debug level writing here.
    var logger: Logger {
        var logger = Logger(label: "zookeeper") { _ in Handler(capture: self) }
        logger.logLevel = .debug
        return logger
    }

    fileprivate func append(_ message: String) {
        let elapsed = ContinuousClock.now - began
        lines.withLockedValue { $0.append("+\(elapsed) \(message)") }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
