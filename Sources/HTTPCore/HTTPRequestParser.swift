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
    /// Where the parser is between and within messages.
    enum Phase: Sendable {
        /// Between requests, skipping empty lines.
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
    /// Whether the previous byte, while idle, was a CR (which must be followed by LF).
    private var idleSawCarriageReturn = false
    /// Empty lines skipped before the current request line.
    private var emptyLineCount = 0
    /// Finds the end of the head.
    private var scanner: HTTPHeadScanner
    /// An incomplete head, when it arrived in more than one piece; empty otherwise.
    private var headBuffer: [UInt8] = []
    /// Frames the body of the current request.
    private var body: HTTPBodyDecoder

    /// A parser enforcing `limits`.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
        self.scanner = .head(limits, startLineTooLong: .requestLineTooLong)
        self.body = HTTPBodyDecoder(state: .length(remaining: 0), limits: limits)
    }

    /// Whether the parser is between requests with nothing pending: a connection may be closed here
    /// without cutting a request short.
    public var isAtMessageBoundary: Bool {
        guard case .idle = self.phase else { return false }
        return !self.idleSawCarriageReturn
    }

    /// Bytes held for an incomplete head or trailer section: what this parser costs a connection
    /// beyond its fixed size. Bounded by the start line, header and trailer limits.
    public var bufferedByteCount: Int { self.headBuffer.count + self.body.trailerBuffer.count }

    /// Parses from the start of `bytes` up to the next event.
    /// - Parameter bytes: the bytes not yet consumed; may be empty.
    /// - Returns: the event, or nil when more bytes are needed, and how many bytes of `bytes` were
    ///   consumed. With a nil event, `consumed` is always `bytes.count`.
    /// - Throws: ``HTTPParseError`` for a malformed request or one past the limits.
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (event: HTTPRequestEvent?, consumed: Int) {
        do throws(HTTPParseError) {
            return try self.step(bytes.assumingMemoryBound(to: UInt8.self))
        } catch {
            self.phase = .failed(error)
            self.headBuffer = []
            throw error
        }
    }

    private mutating func step(
        _ input: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (event: HTTPRequestEvent?, consumed: Int) {
        switch self.phase {
        case .failed(let error):
            throw error
        case .endPending:
            self.phase = .idle
            return (.end, 0)
        case .body:
            let (result, consumed) = try self.body.decode(input)
            switch result {
            case .body(let offset, let count):
                return (.body(HTTPBodyDecoder.copy(input, offset: offset, count: count)), consumed)
            case .end:
                self.phase = .idle
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
            self.scanner = .head(self.limits, startLineTooLong: .requestLineTooLong)
            let (event, consumed) = try self.readHead(UnsafeBufferPointer(rebasing: input[skipped...]))
            return (event, skipped &+ consumed)
        }
    }

    /// Skips the empty lines a client may send between requests (RFC 9112 §2.2).
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
    ) throws(HTTPParseError) -> (event: HTTPRequestEvent?, consumed: Int) {
        guard let end = try self.scanner.scan(input) else {
            self.headBuffer.append(contentsOf: input)
            return (nil, input.count)
        }
        let head: HTTPRequestHead
        let framing: HTTPBodyDecoder.State?
        if self.headBuffer.isEmpty {
            // The common case: the whole head arrived at once and is parsed where it lies.
            (head, framing) = try self.parseHead(UnsafeBufferPointer(rebasing: input[..<end]))
        } else {
            self.headBuffer.append(contentsOf: input[..<end])
            let buffer = self.headBuffer
            self.headBuffer = []
            (head, framing) = try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                try self.parseHead(bytes)
            }
        }
        if let framing {
            self.body = HTTPBodyDecoder(state: framing, limits: self.limits)
            self.phase = .body
        } else {
            self.phase = .endPending
        }
        return (.head(head), end)
    }

    /// Parses a complete head: request line, fields, and the body framing they imply.
    private func parseHead(
        _ bytes: UnsafeBufferPointer<UInt8>
    ) throws(HTTPParseError) -> (HTTPRequestHead, HTTPBodyDecoder.State?) {
        let base = bytes.baseAddress!
        let (lineEnd, fieldsStart) = HTTPHeadParsing.line(base, from: 0, count: bytes.count)
        let line = try HTTPRequestParser.parseRequestLine(base, count: lineEnd)

        let section = UnsafeBufferPointer(rebasing: bytes[fieldsStart...])
        var fields: [HTTPHeaders.Field] = []
        fields.reserveCapacity(self.scanner.fieldCount)
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
            guard length <= self.limits.maximumBodySize else { throw .bodyTooLarge }
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
