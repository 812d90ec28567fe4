import Glibc

/// Finds the empty line that ends a head (start line plus header section) or a trailer section, in
/// bytes that may arrive in any number of pieces.
///
/// It counts while it scans, and throws as soon as a line passes its limit, so a parser never
/// buffers more than the limits allow. It only finds line boundaries; the bytes are validated once
/// the whole section is there.
struct HTTPHeadScanner: Sendable {
    /// The longest start line, excluding its line ending.
    let maximumStartLineLength: Int
    /// The most bytes of field lines, excluding their line endings.
    let maximumFieldBytes: Int
    /// The most field lines.
    let maximumFieldCount: Int
    /// Thrown when the start line is too long.
    let startLineTooLong: HTTPParseError
    /// Thrown when the field lines pass `maximumFieldBytes`.
    let fieldsTooLarge: HTTPParseError

    /// Whether the next line is the start line (false for a trailer section).
    private(set) var inStartLine: Bool
    /// Bytes of the current, unfinished line seen so far, including a trailing CR.
    private var lineLength = 0
    /// The last byte of the current line seen so far, to tell whether its LF follows a CR.
    private var lastByte: UInt8 = 0
    /// Bytes of finished field lines, excluding line endings.
    private var fieldBytes = 0
    /// Finished field lines; once the section has ended, how many fields it has.
    private(set) var fieldCount = 0

    /// A scanner for a head whose start line is limited by `limits.maximumStartLineLength`.
    static func head(_ limits: HTTPParserLimits, startLineTooLong: HTTPParseError) -> HTTPHeadScanner {
        HTTPHeadScanner(
            maximumStartLineLength: limits.maximumStartLineLength,
            maximumFieldBytes: limits.maximumHeaderBytes,
            maximumFieldCount: limits.maximumHeaderCount,
            startLineTooLong: startLineTooLong,
            fieldsTooLarge: .headersTooLarge,
            inStartLine: true
        )
    }

    /// A scanner for a trailer section, which has no start line.
    static func trailers(_ limits: HTTPParserLimits) -> HTTPHeadScanner {
        HTTPHeadScanner(
            maximumStartLineLength: 0,
            maximumFieldBytes: limits.maximumTrailerBytes,
            maximumFieldCount: limits.maximumHeaderCount,
            startLineTooLong: .invalidRequestLine,
            fieldsTooLarge: .trailersTooLarge,
            inStartLine: false
        )
    }

    private init(
        maximumStartLineLength: Int,
        maximumFieldBytes: Int,
        maximumFieldCount: Int,
        startLineTooLong: HTTPParseError,
        fieldsTooLarge: HTTPParseError,
        inStartLine: Bool
    ) {
        self.maximumStartLineLength = maximumStartLineLength
        self.maximumFieldBytes = maximumFieldBytes
        self.maximumFieldCount = maximumFieldCount
        self.startLineTooLong = startLineTooLong
        self.fieldsTooLarge = fieldsTooLarge
        self.inStartLine = inStartLine
    }

    /// Whether any byte of the section has been seen.
    var hasStarted: Bool { self.lineLength > 0 || self.fieldCount > 0 || !self.inStartLine }

    /// Scans the next bytes of the section.
    /// - Returns: the number of bytes up to and including the LF of the empty line that ends the
    ///   section, or nil when the section continues past `input` (every byte was scanned).
    mutating func scan(_ input: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int? {
        guard let base = input.baseAddress else { return nil }
        let count = input.count
        var position = 0
        while position < count {
            guard let found = memchr(base + position, Int32(HTTPBytes.lineFeed), count - position) else {
                self.lineLength += count - position
                self.lastByte = base[count - 1]
                try self.checkUnfinishedLine()
                return nil
            }
            let lineFeed = found.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: base)
            if lineFeed > position { self.lastByte = base[lineFeed - 1] }
            let total = self.lineLength + (lineFeed - position)
            let content = total > 0 && self.lastByte == HTTPBytes.carriageReturn ? total - 1 : total
            self.lineLength = 0
            self.lastByte = 0
            position = lineFeed + 1
            if self.inStartLine {
                guard content <= self.maximumStartLineLength else { throw self.startLineTooLong }
                self.inStartLine = false
            } else {
                if content == 0 { return position }
                // Bytes before count, in the same order as `checkUnfinishedLine`, so that the error
                // does not depend on how the input was split.
                self.fieldBytes += content
                guard self.fieldBytes <= self.maximumFieldBytes else { throw self.fieldsTooLarge }
                self.fieldCount += 1
                guard self.fieldCount <= self.maximumFieldCount else { throw .tooManyHeaders }
            }
        }
        return nil
    }

    /// Throws once an unfinished line is certainly too long: one byte of slack for a final CR.
    private func checkUnfinishedLine() throws(HTTPParseError) {
        if self.inStartLine {
            guard self.lineLength <= self.maximumStartLineLength + 1 else { throw self.startLineTooLong }
        } else {
            guard self.fieldBytes + self.lineLength <= self.maximumFieldBytes + 1 else { throw self.fieldsTooLarge }
        }
    }
}
