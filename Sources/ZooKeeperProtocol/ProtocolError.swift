/// Why bytes could not be decoded. Every decoder in this library returns a value or throws one of
/// these; none traps, and none allocates from a length field it has not checked against the input.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes short while reading `field`.
    case truncated(field: String, needed: Int, remaining: Int)
    /// A length or count field held a negative value other than -1 (null).
    case negativeLength(field: String, value: Int32)
    /// A length or count field promised more than the input holds.
    case lengthExceedsInput(field: String, length: Int, remaining: Int)
    /// A field held a value this protocol does not define at that place.
    case invalidValue(field: String, value: Int64)
    /// A frame's length prefix was negative or above the configured limit.
    case invalidFrameLength(length: Int32, limit: Int)

    public var description: String {
        switch self {
        case let .truncated(field, needed, remaining):
            return "truncated input reading \(field): needed \(needed) bytes, \(remaining) left"
        case let .negativeLength(field, value):
            return "negative length \(value) in \(field)"
        case let .lengthExceedsInput(field, length, remaining):
            return "\(field) claims \(length) bytes but only \(remaining) remain"
        case let .invalidValue(field, value):
            return "invalid value \(value) in \(field)"
        case let .invalidFrameLength(length, limit):
            return "invalid frame length \(length) (limit \(limit))"
        }
    }
}
