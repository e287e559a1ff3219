/// Why the server would refuse a path, found before anything is sent.
public struct InvalidPathError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "invalid path \"\(path)\": \(reason)" }
}

/// ZooKeeper's path rules (those of the server's PathUtils.validatePath).
public enum PathValidation {
    /// Validates `path`. A sequential create may end in "/" because the server appends the
    /// sequence number, so `sequential` relaxes that one rule.
    public static func validate(_ path: String, sequential: Bool = false) throws(InvalidPathError) {
        if isPlainValid(path.utf8, sequential: sequential) { return }
        func fail(_ reason: String) -> InvalidPathError { InvalidPathError(path: path, reason: reason) }
        let scalars = Array(path.unicodeScalars)
        guard let first = scalars.first else { throw fail("path length must be > 0") }
        guard first == "/" else { throw fail("path must start with / character") }
        if scalars.count == 1 { return }
        if scalars.last == "/" && !sequential { throw fail("path must not end with / character") }

        var segmentStart = 1
        for (i, c) in scalars.enumerated() where i > 0 {
            if c == "\0" { throw fail("null character not allowed @\(i)") }
            if isRefused(c) { throw fail("invalid character @\(i)") }
            if c == "/" {
                try checkSegment(scalars[segmentStart..<i], at: segmentStart, fail)
                segmentStart = i + 1
            }
        }
        // The tail of a sequential path is completed by the server's counter.
        if segmentStart < scalars.count || !sequential {
            try checkSegment(scalars[segmentStart..<scalars.count], at: segmentStart, fail)
        }
    }

    /// The common case without allocating: printable ASCII that obeys every rule. False means
    /// "not shown valid here"; the full check then decides and names the fault.
    private static func isPlainValid(_ bytes: String.UTF8View, sequential: Bool) -> Bool {
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count == 1 { return true }
        var segmentLength = 0, dots = 0
        for byte in bytes.dropFirst() {
            guard byte >= 0x20, byte < 0x7F else { return false }
            if byte == UInt8(ascii: "/") {
                guard segmentLength > 0, !(dots == segmentLength && dots <= 2) else { return false }
                segmentLength = 0
                dots = 0
            } else {
                segmentLength += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        // A sequential path may end in "/": the server appends the counter.
        if segmentLength == 0 { return sequential }
        return !(dots == segmentLength && dots <= 2)
    }

    /// Whether `path` is valid (see `validate`).
    public static func isValid(_ path: String, sequential: Bool = false) -> Bool {
        (try? validate(path, sequential: sequential)) != nil
    }

    private static func checkSegment(
        _ segment: ArraySlice<Unicode.Scalar>, at index: Int, _ fail: (String) -> InvalidPathError
    ) throws(InvalidPathError) {
        if segment.isEmpty { throw fail("empty node name specified @\(index)") }
        if segment.elementsEqual(["."]) || segment.elementsEqual([".", "."]) {
            throw fail("relative paths not allowed @\(index)")
        }
    }

    /// Characters the server refuses: controls, and (since Java checks UTF-16 units) surrogates,
    /// the private use area, the specials block and everything outside the BMP.
    private static func isRefused(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x01...0x1F, 0x7F...0x9F, 0xD800...0xF8FF, 0xFFF0...0xFFFF, 0x10000...: true
        default: false
        }
    }
}
