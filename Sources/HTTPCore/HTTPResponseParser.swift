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
    /// Where the parser is between and within messages.
    enum Phase: Sendable {
        /// Between responses, skipping empty lines.
        case idle
        /// Inside a head.
        case head
        /// Inside a body.
        case body
        /// A head without a body was reported; `.end` is due.
        case endPending
        /// An error was thrown; it is thrown again.
        case failed(HTTPParseError)
    }

    /// The limits this parser enforces.
    public let limits: HTTPParserLimits
    private var phase = Phase.idle
    /// The method of the request the next response answers.
    private var requestMethod = HTTPMethod.get
    /// Whether the response being parsed is a final one (not 1xx), so `.end` moves to the next request.
    private var isFinalResponse = true
    /// Whether the previous byte, while idle, was a CR (which must be followed by LF).
    private var idleSawCarriageReturn = false
    /// Empty lines skipped before the current status line.
    private var emptyLineCount = 0
    /// Finds the end of the head.
    private var scanner: HTTPHeadScanner
    /// An incomplete head, when it arrived in more than one piece; empty otherwise.
    private var headBuffer: [UInt8] = []
    /// Frames the body of the current response.
    private var body: HTTPBodyDecoder

    /// A parser enforcing `limits` (by default a 64 MiB body limit).
    public init(limits: HTTPParserLimits = .responseDefaults) {
        self.limits = limits
        self.scanner = .head(limits, startLineTooLong: .statusLineTooLong)
        self.body = HTTPBodyDecoder(state: .length(remaining: 0), limits: limits)
    }

    /// Tells the parser the method of the request whose response comes next. Call it before each
    /// response; without a call, GET is assumed.
    public mutating func expectResponse(toRequestMethod method: HTTPMethod) {
        self.requestMethod = method
    }

    /// Bytes held for an incomplete head or trailer section: what this parser costs a connection
    /// beyond its fixed size. Bounded by the start line, header and trailer limits.
    public var bufferedByteCount: Int { self.headBuffer.count + self.body.trailerBuffer.count }

    /// Parses from the start of `bytes` up to the next event.
    /// - Parameter bytes: the bytes not yet consumed; may be empty.
    /// - Returns: the event, or nil when more bytes are needed, and how many bytes of `bytes` were
    ///   consumed. With a nil event, `consumed` is always `bytes.count`.
    /// - Throws: ``HTTPParseError`` for a malformed response or one past the limits.
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (event: HTTPResponseEvent?, consumed: Int) {
        do throws(HTTPParseError) {
            return try self.step(bytes.assumingMemoryBound(to: UInt8.self))
        } catch {
            self.fail(error)
            throw error
        }
    }

    /// Reports that the connection reached end of file.
    /// - Returns: `.end` when this completes a body that runs until close (or an `.end` was still
    ///   due), nil when the parser was between responses.
    /// - Throws: ``HTTPParseError/truncatedMessage`` when the connection closed inside a head or a
    ///   body with a known length.
    public mutating func finish() throws(HTTPParseError) -> HTTPResponseEvent? {
        switch self.phase {
        case .failed(let error):
            throw error
        case .idle:
            return nil
        case .endPending:
            self.endResponse()
            return .end
        case .head:
            self.fail(.truncatedMessage)
            throw .truncatedMessage
        case .body:
            if case .untilClose = self.body.state {
                self.endResponse()
                return .end
            }
            if self.body.isComplete {
                self.endResponse()
                return .end
            }
            self.fail(.truncatedMessage)
            throw .truncatedMessage
        }
    }

    private mutating func fail(_ error: HTTPParseError) {
        self.phase = .failed(error)
        self.headBuffer = []
    }

    /// Returns to idle after a response; a final response moves on to the next request.
    private mutating func endResponse() {
        self.phase = .idle
        if self.isFinalResponse { self.requestMethod = .get }
    }

    private mutating func step(
        _ input: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (event: HTTPResponseEvent?, consumed: Int) {
        switch self.phase {
        case .failed(let error):
            throw error
        case .endPending:
            self.endResponse()
            return (.end, 0)
        case .body:
            let (result, consumed) = try self.body.decode(input)
            switch result {
            case .body(let offset, let count):
                return (.body(HTTPBodyDecoder.copy(input, offset: offset, count: count)), consumed)
            case .end:
                self.endResponse()
                return (.end, consumed)
            case .needMore:
                return (nil, consumed)
            }
        case .head:
            return try self.readHead(input)
        case .idle:
            let skipped = try self.skipEmptyLines(input)
            if skipped == input.count { return (nil, skipped) }
            self.phase = .head
            self.emptyLineCount = 0
            self.scanner = .head(self.limits, startLineTooLong: .statusLineTooLong)
            let (event, consumed) = try self.readHead(UnsafeBufferPointer(rebasing: input[skipped...]))
            return (event, skipped &+ consumed)
        }
    }

    /// Skips empty lines before a status line, as the request parser does before a request line.
    /// - Returns: the number of bytes skipped.
    private mutating func skipEmptyLines(_ input: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var position = 0
        while position < input.count {
            let byte = input[position]
            if self.idleSawCarriageReturn {
                guard byte == HTTPBytes.lineFeed else { throw .bareCarriageReturn }
                self.idleSawCarriageReturn = false
            } else if byte == HTTPBytes.carriageReturn {
                self.idleSawCarriageReturn = true
                position &+= 1
                continue
            } else if byte != HTTPBytes.lineFeed {
                break
            }
            self.emptyLineCount &+= 1
            guard self.emptyLineCount <= self.limits.maximumLeadingEmptyLines else { throw .tooManyEmptyLines }
            position &+= 1
        }
        return position
    }

    /// Scans for the end of the head; parses it once complete, else buffers the input.
    private mutating func readHead(
        _ input: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (event: HTTPResponseEvent?, consumed: Int) {
        guard let end = try self.scanner.scan(input) else {
            self.headBuffer.append(contentsOf: input)
            return (nil, input.count)
        }
        let head: HTTPResponseHead
        let framing: HTTPBodyDecoder.State?
        if self.headBuffer.isEmpty {
            (head, framing) = try self.parseHead(UnsafeBufferPointer(rebasing: input[..<end]))
        } else {
            self.headBuffer.append(contentsOf: input[..<end])
            let buffer = self.headBuffer
            self.headBuffer = []
            (head, framing) = try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                try self.parseHead(bytes)
            }
        }
        self.isFinalResponse = head.statusCode >= 200
        if let framing {
            self.body = HTTPBodyDecoder(state: framing, limits: self.limits)
            self.phase = .body
        } else {
            self.phase = .endPending
        }
        return (.head(head), end)
    }

    /// Parses a complete head: status line, fields, and the body framing they imply (RFC 9112 §6.3).
    private func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (HTTPResponseHead, HTTPBodyDecoder.State?) {
        let base = bytes.baseAddress!
        let (lineEnd, fieldsStart) = HTTPHeadParsing.line(base, from: 0, count: bytes.count)
        let (version, statusCode, reasonPhrase) = try HTTPResponseParser.parseStatusLine(base, count: lineEnd)

        let section = UnsafeBufferPointer(rebasing: bytes[fieldsStart...])
        var fields: [HTTPHeaders.Field] = []
        fields.reserveCapacity(self.scanner.fieldCount)
        var framing = HTTPFramingFields()
        try HTTPHeadParsing.parseFields(section, fields: &fields, framing: &framing, collect: true)

        if framing.hasTransferEncoding {
            guard framing.contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard version.minor >= 1 else { throw .transferEncodingInHTTP10 }
            guard !framing.hasMalformedCoding && framing.chunkedCount <= 1 else { throw .invalidTransferEncoding }
        }
        let hasNoBody =
            self.requestMethod == .head || statusCode < 200 || statusCode == 204 || statusCode == 304
            || (self.requestMethod == .connect && statusCode < 300)
        let bodyState: HTTPBodyDecoder.State?
        if hasNoBody {
            bodyState = nil
        } else if framing.hasTransferEncoding {
            // Another coding after chunked leaves the length to the connection close (§6.3 item 4);
            // codings before chunked (e.g. gzip) pass through to the caller undecoded.
            bodyState = framing.isChunkedFinal ? .chunkLine(HTTPBodyDecoder.ChunkLine()) : .untilClose
        } else if let length = framing.contentLength {
            guard length <= self.limits.maximumBodySize else { throw .bodyTooLarge }
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
