/// Hard limits that bound what a parser accepts and how much it buffers.
///
/// A parser buffers at most one incomplete head (start line plus header section) or one incomplete
/// trailer section; body bytes are never buffered, they are handed out as they arrive.
public struct HTTPParserLimits: Sendable, Hashable {
    /// The longest request line or status line, excluding its line ending. Longer: 414
    /// (``HTTPParseError/requestLineTooLong``) or ``HTTPParseError/statusLineTooLong``.
    public var maximumStartLineLength: Int
    /// The most bytes in the header section: the field lines excluding their line endings. Larger: 431.
    public var maximumHeaderBytes: Int
    /// The most header fields; also the most trailer fields. More: 431.
    public var maximumHeaderCount: Int
    /// The largest body: the Content-Length, or the sum of the chunk sizes, or the bytes of a
    /// close-delimited response. Larger: 413.
    public var maximumBodySize: Int
    /// The longest chunk size line, with its extensions, excluding its line ending. Longer: 400.
    public var maximumChunkLineLength: Int
    /// The most bytes in a trailer section: the field lines excluding their line endings. Larger: 431.
    public var maximumTrailerBytes: Int
    /// The most empty lines tolerated before a start line (RFC 9112 §2.2 robustness). More: 400.
    public var maximumLeadingEmptyLines: Int

    /// Limits for a server parsing requests; every argument has a production default.
    /// - Parameters:
    ///   - maximumStartLineLength: defaults to 8 KiB.
    ///   - maximumHeaderBytes: defaults to 16 KiB.
    ///   - maximumHeaderCount: defaults to 100.
    ///   - maximumBodySize: defaults to 1 MiB.
    ///   - maximumChunkLineLength: defaults to 1 KiB.
    ///   - maximumTrailerBytes: defaults to 4 KiB.
    ///   - maximumLeadingEmptyLines: defaults to 8.
    public init(
        maximumStartLineLength: Int = 8 * 1024,
        maximumHeaderBytes: Int = 16 * 1024,
        maximumHeaderCount: Int = 100,
        maximumBodySize: Int = 1024 * 1024,
        maximumChunkLineLength: Int = 1024,
        maximumTrailerBytes: Int = 4 * 1024,
        maximumLeadingEmptyLines: Int = 8
    ) {
        self.maximumStartLineLength = maximumStartLineLength
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumHeaderCount = maximumHeaderCount
        self.maximumBodySize = maximumBodySize
        self.maximumChunkLineLength = maximumChunkLineLength
        self.maximumTrailerBytes = maximumTrailerBytes
        self.maximumLeadingEmptyLines = maximumLeadingEmptyLines
    }

    /// Limits for a client parsing responses: like the request defaults, with a 64 MiB body limit.
    public static var responseDefaults: HTTPParserLimits { HTTPParserLimits(maximumBodySize: 64 * 1024 * 1024) }
}
