public import IOCore

/// What ``HTTPResponseParser`` found in the bytes it was given.
public enum HTTPResponseEvent: Sendable, Hashable {
    /// A complete response head. Body events (if any) and then ``end`` follow; a 1xx response is
    /// followed by ``end`` at once, and then by the next response to the same request.
    case head(HTTPResponseHead)
    /// The next piece of the body, as it arrived (chunked framing removed).
    case body(ByteBuffer)
    /// The response is complete.
    case end
}

/// An incremental, resumable HTTP/1.1 response parser (RFC 9112) for a client.
///
/// Used like ``HTTPRequestParser``: call ``next(_:)`` until it returns no event, also after an
/// event when no bytes are left. Before each response, tell it the request's method with
/// ``expectResponse(toRequestMethod:)`` (HEAD and CONNECT change the framing), and at end of file
/// call ``finish()``, which ends a body that runs until the connection closes and reports a
/// truncated one.
///
/// A body is framed by Transfer-Encoding chunked, else Content-Length, else by the connection
/// closing (RFC 9112 §6.3). 1xx, 204 and 304 responses, responses to HEAD and 2xx responses to
/// CONNECT have no body. Messages with both Content-Length and Transfer-Encoding, or with
/// conflicting Content-Lengths, are rejected. After a 101 or a 2xx to CONNECT, stop feeding the
/// parser: the bytes that follow belong to the new protocol.
public struct HTTPResponseParser: Sendable {
    /// The limits this parser enforces.
    public let limits: HTTPParserLimits
    /// Finds, buffers and frames each response; this parser adds how a head becomes a response.
    private var framer: HTTPMessageFramer
    /// The method of the request the next response answers.
    private var requestMethod = HTTPMethod.get
    /// Whether the response being parsed is a final one (not 1xx), so `.end` moves to the next request.
    private var isFinalResponse = true

    /// A parser enforcing `limits` (by default a 64 MiB body limit).
    public init(limits: HTTPParserLimits = .responseDefaults) {
        self.limits = limits
        self.framer = HTTPMessageFramer(limits: limits, startLineTooLong: .statusLineTooLong)
    }

    /// Tells the parser the method of the request whose response comes next. Call it before each
    /// response; without a call, GET is assumed.
    public mutating func expectResponse(toRequestMethod method: HTTPMethod) {
        self.requestMethod = method
    }

    /// Bytes held for an incomplete head or trailer section: what this parser costs a connection
    /// beyond its fixed size. Bounded by the start line, header and trailer limits.
    public var bufferedByteCount: Int { self.framer.bufferedByteCount }

    /// Parses from the start of `bytes` up to the next event.
    /// - Parameter bytes: the bytes not yet consumed; may be empty.
    /// - Returns: the event, or nil when more bytes are needed, and how many bytes of `bytes` were
    ///   consumed. With a nil event, `consumed` is always `bytes.count`.
    /// - Throws: ``HTTPParseError`` for a malformed response or one past the limits.
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (event: HTTPResponseEvent?, consumed: Int) {
        let (limits, method) = (self.limits, self.requestMethod)
        let (event, consumed) = try self.framer.step(bytes.assumingMemoryBound(to: UInt8.self)) {
            (head, fieldCount) throws(HTTPParseError) in
            try Self.parseHead(head, fieldCount: fieldCount, limits: limits, requestMethod: method)
        }
        switch event {
        case .head(let head):
            self.isFinalResponse = head.statusCode >= 200
            return (.head(head), consumed)
        case .body(let body):
            return (.body(body), consumed)
        case .end:
            self.endResponse()
            return (.end, consumed)
        case nil:
            return (nil, consumed)
        }
    }

    /// Reports that the connection reached end of file.
    /// - Returns: `.end` when this completes a body that runs until close (or an `.end` was still
    ///   due), nil when the parser was between responses.
    /// - Throws: ``HTTPParseError/truncatedMessage`` when the connection closed inside a head or a
    ///   body with a known length.
    public mutating func finish() throws(HTTPParseError) -> HTTPResponseEvent? {
        switch self.framer.phase {
        case .failed(let error):
            throw error
        case .idle:
            return nil
        case .endPending:
            self.endResponse()
            return .end
        case .head:
            self.framer.fail(.truncatedMessage)
            throw .truncatedMessage
        case .body:
            if case .untilClose = self.framer.body.state {
                self.endResponse()
                return .end
            }
            if self.framer.body.isComplete {
                self.endResponse()
                return .end
            }
            self.framer.fail(.truncatedMessage)
            throw .truncatedMessage
        }
    }

    /// Returns to idle after a response; a final response moves on to the next request.
    private mutating func endResponse() {
        self.framer.endMessage()
        if self.isFinalResponse { self.requestMethod = .get }
    }

    /// Parses a complete head: status line, fields, and the body framing they imply (RFC 9112 §6.3).
    private static func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>, fieldCount: Int, limits: HTTPParserLimits, requestMethod: HTTPMethod
    ) throws(HTTPParseError) -> (HTTPResponseHead, HTTPBodyDecoder.State?) {
        let base = bytes.baseAddress!
        let (lineEnd, fieldsStart) = HTTPHeadParsing.line(base, from: 0, count: bytes.count)
        let (version, statusCode, reasonPhrase) = try HTTPResponseParser.parseStatusLine(base, count: lineEnd)

        let section = UnsafeBufferPointer(rebasing: bytes[fieldsStart...])
        var fields: [HTTPHeaders.Field] = []
        fields.reserveCapacity(fieldCount)
        var framing = HTTPFramingFields()
        try HTTPHeadParsing.parseFields(section, fields: &fields, framing: &framing, collect: true)

        if framing.hasTransferEncoding {
            guard framing.contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard version.minor >= 1 else { throw .transferEncodingInHTTP10 }
            guard !framing.hasMalformedCoding && framing.chunkedCount <= 1 else { throw .invalidTransferEncoding }
        }
        let hasNoBody =
            requestMethod == .head || statusCode < 200 || statusCode == 204 || statusCode == 304
            || (requestMethod == .connect && statusCode < 300)
        let bodyState: HTTPBodyDecoder.State?
        if hasNoBody {
            bodyState = nil
        } else if framing.hasTransferEncoding {
            // Another coding after chunked leaves the length to the connection close (§6.3 item 4);
            // codings before chunked (e.g. gzip) pass through to the caller undecoded.
            bodyState = framing.isChunkedFinal ? .chunkLine(HTTPBodyDecoder.ChunkLine()) : .untilClose
        } else if let length = framing.contentLength {
            guard length <= limits.maximumBodySize else { throw .bodyTooLarge }
            bodyState = length > 0 ? .length(remaining: length) : nil
        } else {
            bodyState = .untilClose
        }
        let headers = HTTPHeaders(storage: Array(section), fields: fields)
        return (
            HTTPResponseHead(version: version, statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers),
            bodyState
        )
    }

    /// Parses `HTTP-version SP 3DIGIT SP reason-phrase` (RFC 9112 §4); a missing reason phrase with
    /// or without its space is accepted, as deployed servers send both.
    private static func parseStatusLine(
        _ base: UnsafePointer<UInt8>,
        count: Int
    ) throws(HTTPParseError) -> (HTTPVersion, Int, String) {
        guard count >= 12, base[8] == HTTPBytes.space else {
            if count >= 9 { throw HTTPHeadParsing.unexpected(base[8], otherwise: .invalidStatusLine) }
            throw .invalidStatusLine
        }
        let version = try HTTPHeadParsing.parseVersion(base, count: 8)
        var statusCode = 0
        for index in 9..<12 {
            let digit = base[index] &- 0x30
            guard digit < 10 else { throw .invalidStatusLine }
            statusCode = statusCode * 10 + Int(digit)
        }
        guard (100...599).contains(statusCode) else { throw .invalidStatusLine }
        guard count > 12 else { return (version, statusCode, "") }
        guard base[12] == HTTPBytes.space else {
            throw HTTPHeadParsing.unexpected(base[12], otherwise: .invalidStatusLine)
        }
        var index = 13
        while index < count {
            let byte = base[index]
            guard HTTPBytes.isFieldValueCharacter(byte) else {
                throw HTTPHeadParsing.unexpected(byte, otherwise: .invalidStatusLine)
            }
            index &+= 1
        }
        let reason = String(decoding: UnsafeBufferPointer(start: base + 13, count: count &- 13), as: UTF8.self)
        return (version, statusCode, reason)
    }
}
