public import IOCore

/// What ``HTTPRequestParser`` found in the bytes it was given.
public enum HTTPRequestEvent: Sendable, Hashable {
    /// A complete request head. Body events (if any) and then ``end`` follow.
    case head(HTTPRequestHead)
    /// The next piece of the body, as it arrived (chunked framing removed).
    case body(ByteBuffer)
    /// The request is complete; the parser is ready for the next (pipelined) request.
    case end
}

/// An incremental, resumable HTTP/1.1 request parser (RFC 9112) for a server.
///
/// Feed it the bytes read from a connection and call ``next(_:)`` until it returns no event:
///
/// ```swift
/// var rest = bytesRead[...]
/// while true {
///     let (event, consumed) = try parser.next(UnsafeRawBufferPointer(rebasing: rest))
///     rest = rest[(rest.startIndex + consumed)...]
///     guard let event else { break }  // every byte was consumed; wait for more
///     handle(event)
/// }
/// ```
///
/// Call it again after every event, even with no bytes left: the end of a request often needs no
/// more bytes (a GET's `.end` follows its `.head`). A nil event means every given byte went into the
/// parser's state, so the caller never keeps leftovers. Input may be split anywhere, down to one byte
/// per call, with the same events as a result (body bytes may come in more, smaller pieces).
///
/// The parser buffers at most one incomplete head or trailer section, bounded by the
/// ``HTTPParserLimits``; body bytes are handed out as they come. It rejects everything RFC 9112 lets
/// a server reject that could make two parsers disagree on where a message ends: bare CR,
/// whitespace before a colon, obs-fold, Content-Length with Transfer-Encoding, differing
/// Content-Lengths, a Transfer-Encoding that does not end in chunked, Transfer-Encoding in HTTP/1.0.
/// It accepts a bare LF as a line ending (RFC 9112 §2.2).
///
/// After an error the parser stays failed and throws the same error again; answer with
/// ``HTTPParseError/status`` and close the connection. After a request that upgrades the connection
/// (or a CONNECT), stop feeding it: the bytes that follow belong to the new protocol.
public struct HTTPRequestParser: Sendable {
    /// The limits this parser enforces.
    public let limits: HTTPParserLimits
    /// Finds, buffers and frames each request; this parser adds how a head becomes a request.
    private var framer: HTTPMessageFramer

    /// A parser enforcing `limits`.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
        self.framer = HTTPMessageFramer(limits: limits, startLineTooLong: .requestLineTooLong)
    }

    /// Whether the parser is between requests with nothing pending: a connection may be closed here
    /// without cutting a request short.
    public var isAtMessageBoundary: Bool {
        guard case .idle = self.framer.phase else { return false }
        return !self.framer.idleSawCarriageReturn
    }

    /// Bytes held for an incomplete head or trailer section: what this parser costs a connection
    /// beyond its fixed size. Bounded by the start line, header and trailer limits.
    public var bufferedByteCount: Int { self.framer.bufferedByteCount }

    /// Parses from the start of `bytes` up to the next event.
    /// - Parameter bytes: the bytes not yet consumed; may be empty.
    /// - Returns: the event, or nil when more bytes are needed, and how many bytes of `bytes` were
    ///   consumed. With a nil event, `consumed` is always `bytes.count`.
    /// - Throws: ``HTTPParseError`` for a malformed request or one past the limits.
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (event: HTTPRequestEvent?, consumed: Int) {
        let limits = self.limits
        let (event, consumed) = try self.framer.step(bytes.assumingMemoryBound(to: UInt8.self)) {
            (head, fieldCount) throws(HTTPParseError) in try Self.parseHead(head, fieldCount: fieldCount, limits: limits)
        }
        switch event {
        case .head(let head): return (.head(head), consumed)
        case .body(let body): return (.body(body), consumed)
        case .end: return (.end, consumed)
        case nil: return (nil, consumed)
        }
    }

    /// Parses a complete head: request line, fields, and the body framing they imply.
    private static func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>, fieldCount: Int, limits: HTTPParserLimits
    ) throws(HTTPParseError) -> (HTTPRequestHead, HTTPBodyDecoder.State?) {
        let base = bytes.baseAddress!
        let (lineEnd, fieldsStart) = HTTPHeadParsing.line(base, from: 0, count: bytes.count)
        let line = try HTTPRequestParser.parseRequestLine(base, count: lineEnd)

        let section = UnsafeBufferPointer(rebasing: bytes[fieldsStart...])
        var fields: [HTTPHeaders.Field] = []
        fields.reserveCapacity(fieldCount)
        var framing = HTTPFramingFields()
        try HTTPHeadParsing.parseFields(section, fields: &fields, framing: &framing, collect: true)

        // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, or with more than one.
        if line.version.minor >= 1 && framing.hostCount == 0 { throw .missingHost }
        guard framing.hostCount <= 1 else { throw .multipleHost }
        guard !framing.hasInvalidHost else { throw .invalidHost }

        let bodyState: HTTPBodyDecoder.State?
        if framing.hasTransferEncoding {
            // RFC 9112 §6.1-6.3: a request whose length cannot be determined reliably is a 400.
            guard framing.contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard line.version.minor >= 1 else { throw .transferEncodingInHTTP10 }
            guard framing.isChunkedFinal else { throw .invalidTransferEncoding }
            guard !framing.hasOtherCoding else { throw .unsupportedTransferCoding }
            bodyState = .chunkLine(HTTPBodyDecoder.ChunkLine())
        } else if let length = framing.contentLength, length > 0 {
            guard length <= limits.maximumBodySize else { throw .bodyTooLarge }
            bodyState = .length(remaining: length)
        } else {
            bodyState = nil
        }

        let headers = HTTPHeaders(storage: Array(section), fields: fields)
        let head = HTTPRequestHead(
            method: line.method,
            target: String(
                decoding: UnsafeBufferPointer(start: base + line.targetStart, count: line.targetCount),
                as: UTF8.self
            ),
            path: line.path,
            query: line.query,
            version: line.version,
            headers: headers
        )
        return (head, bodyState)
    }

    /// The parts of a request line.
    private struct RequestLine {
        var method: HTTPMethod
        var targetStart: Int
        var targetCount: Int
        var path: String
        var query: String?
        var version: HTTPVersion
    }

    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3), exactly one space apart.
    private static func parseRequestLine(_ base: UnsafePointer<UInt8>, count: Int) throws(HTTPParseError) -> RequestLine
    {
        var index = 0
        while index < count && HTTPBytes.isTokenCharacter(base[index]) { index &+= 1 }
        guard index > 0, index < count, base[index] == HTTPBytes.space else {
            throw HTTPHeadParsing.unexpected(index < count ? base[index] : 0, otherwise: .invalidRequestLine)
        }
        let method = HTTPMethod.parse(base, count: index)
        let targetStart = index &+ 1
        index = HTTPBytes.firstNonVisibleASCII(base, from: targetStart, to: count)
        guard index == count || base[index] == HTTPBytes.space else {
            throw HTTPHeadParsing.unexpected(base[index], otherwise: .invalidRequestTarget)
        }
        guard index > targetStart, index < count else { throw .invalidRequestLine }
        let targetCount = index &- targetStart
        let version = try HTTPHeadParsing.parseVersion(base + index + 1, count: count &- index &- 1)

        let target = base + targetStart
        let isConnect = method == .connect
        guard let parts = HTTPRequestTarget.split(target, count: targetCount, isConnect: isConnect) else {
            throw .invalidRequestTarget
        }
        // asterisk-form is only for OPTIONS (RFC 9112 §3.2.4).
        if targetCount == 1 && target[0] == 0x2A && method != .options { throw .invalidRequestTarget }
        let path: String
        if parts.isAbsoluteWithoutPath {
            path = "/"
        } else {
            let raw = UnsafeBufferPointer(start: target + parts.pathStart, count: parts.pathEnd &- parts.pathStart)
            guard let decoded = PercentEncoding.decode(raw, plusAsSpace: false) else { throw .invalidRequestTarget }
            path = decoded
        }
        let query = parts.queryStart.map {
            String(decoding: UnsafeBufferPointer(start: target + $0, count: targetCount &- $0), as: UTF8.self)
        }
        return RequestLine(
            method: method,
            targetStart: targetStart,
            targetCount: targetCount,
            path: path,
            query: query,
            version: version
        )
    }
}
