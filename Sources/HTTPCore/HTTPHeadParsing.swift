import Glibc

/// What the framing-relevant fields of a header section said, gathered while parsing it.
struct HTTPFramingFields: Sendable {
    /// The Content-Length value (every occurrence agreed), `Int.max` when too large to represent,
    /// or nil when absent.
    var contentLength: Int?
    /// How many Transfer-Encoding field lines there were.
    var transferEncodingLines = 0
    /// How many transfer codings they listed in total.
    var codingCount = 0
    /// How many of those codings were `chunked` (without parameters).
    var chunkedCount = 0
    /// Whether the last coding listed was `chunked`.
    var lastCodingIsChunked = false
    /// Whether some coding other than plain `chunked` was listed.
    var hasOtherCoding = false
    /// Whether some element of Transfer-Encoding was not a token (with optional parameters).
    var hasMalformedCoding = false
    /// How many Host field lines there were.
    var hostCount = 0
    /// Whether a Host value had a byte that cannot appear in an authority.
    var hasInvalidHost = false

    /// Whether the message carries Transfer-Encoding.
    var hasTransferEncoding: Bool { self.transferEncodingLines > 0 }

    /// Whether Transfer-Encoding is well formed and ends with exactly one `chunked`.
    var isChunkedFinal: Bool {
        !self.hasMalformedCoding && self.codingCount > 0 && self.chunkedCount == 1 && self.lastCodingIsChunked
    }
}

/// Parsing of complete start lines and field sections; the scanner has already bounded them.
enum HTTPHeadParsing {
    /// The end of the line that starts at `start` (its LF must exist before `count`): the index of
    /// the line's last content byte plus one, and the index after its LF.
    @inline(__always)
    static func line(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> (end: Int, next: Int) {
        let found = memchr(base + start, Int32(HTTPBytes.lineFeed), count - start)!
        let lineFeed = found.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: base)
        let end = lineFeed > start && base[lineFeed - 1] == HTTPBytes.carriageReturn ? lineFeed - 1 : lineFeed
        return (end, lineFeed + 1)
    }

    /// Parses `HTTP/DIGIT.DIGIT` in exactly `count` bytes.
    static func parseVersion(_ base: UnsafePointer<UInt8>, count: Int) throws(HTTPParseError) -> HTTPVersion {
        guard count == 8, HTTPBytes.equals(base, 5, "HTTP/"), base[6] == 0x2E,
            base[5] &- 0x30 < 10, base[7] &- 0x30 < 10
        else { throw .invalidVersion }
        let version = HTTPVersion(major: Int(base[5] &- 0x30), minor: Int(base[7] &- 0x30))
        guard version.major == 1 else { throw .unsupportedVersion }
        return version
    }

    /// The error for an unexpected byte: a CR gets its own error because it is a smuggling vector.
    @inline(__always)
    static func unexpected(_ byte: UInt8, otherwise error: HTTPParseError) -> HTTPParseError {
        byte == HTTPBytes.carriageReturn ? .bareCarriageReturn : error
    }

    /// Parses the field lines of `section`, which runs from the first field line through the LF of
    /// the empty line that ends it.
    /// - Parameters:
    ///   - section: the field lines; never empty.
    ///   - fields: when non-nil, receives the name and value ranges (relative to `section`).
    ///   - framing: when non-nil, receives what the framing-relevant fields said.
    static func parseFields(
        _ section: UnsafeBufferPointer<UInt8>,
        fields: inout [HTTPHeaders.Field],
        framing: inout HTTPFramingFields,
        collect: Bool
    ) throws(HTTPParseError) {
        let base = section.baseAddress!
        let count = section.count
        var lineStart = 0
        while lineStart < count {
            let (lineEnd, next) = self.line(base, from: lineStart, count: count)
            if lineEnd == lineStart { return }
            try self.parseFieldLine(
                base,
                from: lineStart,
                to: lineEnd,
                fields: &fields,
                framing: &framing,
                collect: collect
            )
            lineStart = next
        }
    }

    /// Parses one `field-name ":" OWS field-value OWS` line (RFC 9112 §5).
    @inline(__always)
    private static func parseFieldLine(
        _ base: UnsafePointer<UInt8>,
        from start: Int,
        to end: Int,
        fields: inout [HTTPHeaders.Field],
        framing: inout HTTPFramingFields,
        collect: Bool
    ) throws(HTTPParseError) {
        // A line that starts with whitespace is obs-fold, or whitespace between the start line and
        // the first field; both are rejected (RFC 9112 §2.2, §5.2).
        guard !HTTPBytes.isWhitespace(base[start]) else { throw .obsoleteLineFolding }
        var index = start
        while index < end && HTTPBytes.isTokenCharacter(base[index]) { index &+= 1 }
        guard index < end else { throw .invalidHeaderName }
        let stop = base[index]
        guard stop == HTTPBytes.colon else {
            if HTTPBytes.isWhitespace(stop) { throw .whitespaceBeforeColon }
            throw self.unexpected(stop, otherwise: .invalidHeaderName)
        }
        guard index > start else { throw .invalidHeaderName }
        let nameEnd = index
        var valueStart = index &+ 1
        while valueStart < end && HTTPBytes.isWhitespace(base[valueStart]) { valueStart &+= 1 }
        var valueEnd = end
        while valueEnd > valueStart && HTTPBytes.isWhitespace(base[valueEnd &- 1]) { valueEnd &-= 1 }
        index = HTTPBytes.firstInvalidFieldValueByte(base, from: valueStart, to: valueEnd)
        guard index == valueEnd else { throw self.unexpected(base[index], otherwise: .invalidHeaderValue) }
        guard collect else { return }
        fields.append(HTTPHeaders.Field(nameStart: start, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd))
        let name = base + start
        switch nameEnd &- start {
        case 4 where HTTPBytes.equalsCaseInsensitive(name, 4, lowercase: "host"):
            framing.hostCount += 1
            index = valueStart
            while index < valueEnd {
                if !HTTPBytes.isHostCharacter(base[index]) { framing.hasInvalidHost = true }
                index &+= 1
            }
        case 14 where HTTPBytes.equalsCaseInsensitive(name, 14, lowercase: "content-length"):
            try self.parseContentLength(base, from: valueStart, to: valueEnd, framing: &framing)
        case 17 where HTTPBytes.equalsCaseInsensitive(name, 17, lowercase: "transfer-encoding"):
            self.parseTransferEncoding(base, from: valueStart, to: valueEnd, framing: &framing)
        default:
            break
        }
    }

    /// Parses `Content-Length: 1*DIGIT *( OWS "," OWS 1*DIGIT )`; every value must agree with the
    /// others and with earlier Content-Length lines (RFC 9110 §8.6).
    private static func parseContentLength(
        _ base: UnsafePointer<UInt8>,
        from start: Int,
        to end: Int,
        framing: inout HTTPFramingFields
    ) throws(HTTPParseError) {
        var index = start
        while true {
            var value = 0
            var digits = 0
            while index < end, base[index] &- 0x30 < 10 {
                let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = shifted.addingReportingOverflow(Int(base[index] &- 0x30))
                value = overflowA || overflowB ? Int.max : sum
                digits &+= 1
                index &+= 1
            }
            guard digits > 0 else { throw .invalidContentLength }
            if let existing = framing.contentLength, existing != value { throw .conflictingContentLength }
            framing.contentLength = value
            while index < end && HTTPBytes.isWhitespace(base[index]) { index &+= 1 }
            if index == end { return }
            guard base[index] == HTTPBytes.comma else { throw .invalidContentLength }
            index &+= 1
            while index < end && HTTPBytes.isWhitespace(base[index]) { index &+= 1 }
        }
    }

    /// Records the codings of `Transfer-Encoding: #transfer-coding` (RFC 9112 §6.1). Empty list
    /// elements are skipped (RFC 9110 §5.6.1); a coding with parameters counts as a non-chunked one.
    private static func parseTransferEncoding(
        _ base: UnsafePointer<UInt8>,
        from start: Int,
        to end: Int,
        framing: inout HTTPFramingFields
    ) {
        framing.transferEncodingLines += 1
        var index = start
        while index <= end {
            var elementEnd = index
            while elementEnd < end && base[elementEnd] != HTTPBytes.comma { elementEnd &+= 1 }
            var tokenStart = index
            while tokenStart < elementEnd && HTTPBytes.isWhitespace(base[tokenStart]) { tokenStart &+= 1 }
            if tokenStart < elementEnd {
                var tokenEnd = tokenStart
                while tokenEnd < elementEnd && HTTPBytes.isTokenCharacter(base[tokenEnd]) { tokenEnd &+= 1 }
                var rest = tokenEnd
                while rest < elementEnd && HTTPBytes.isWhitespace(base[rest]) { rest &+= 1 }
                let hasParameters = rest < elementEnd
                if tokenEnd == tokenStart || (hasParameters && base[rest] != HTTPBytes.semicolon) {
                    framing.hasMalformedCoding = true
                }
                let isChunked =
                    !hasParameters
                    && HTTPBytes.equalsCaseInsensitive(base + tokenStart, tokenEnd &- tokenStart, lowercase: "chunked")
                framing.codingCount &+= 1
                if isChunked { framing.chunkedCount &+= 1 } else { framing.hasOtherCoding = true }
                framing.lastCodingIsChunked = isChunked
            }
            index = elementEnd &+ 1
        }
    }
}
