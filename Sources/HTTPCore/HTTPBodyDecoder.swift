import IOCore

/// Frames a message body: by length, by chunked coding (RFC 9112 §7.1), or until the connection
/// closes. Body bytes are never copied or buffered here; only an incomplete trailer section is.
struct HTTPBodyDecoder: Sendable {
    /// Where the decoder is within the body.
    enum State: Sendable {
        /// `remaining` bytes of a Content-Length body are still to come; 0 means the body is complete.
        case length(remaining: Int)
        /// Inside a chunk size line.
        case chunkLine(ChunkLine)
        /// `remaining` bytes of chunk data are still to come.
        case chunkData(remaining: Int)
        /// After chunk data, expecting CRLF (or LF).
        case chunkDataEnd(sawCarriageReturn: Bool)
        /// Inside the trailer section after the last chunk.
        case trailers(HTTPHeadScanner)
        /// Every byte is body until the connection closes (responses only).
        case untilClose
    }

    /// Progress through one chunk size line: `chunk-size [ chunk-ext ] CRLF`, byte by byte, so that
    /// nothing is buffered however the line is split.
    struct ChunkLine: Sendable {
        /// The grammar position within the line.
        enum Phase: UInt8, Sendable {
            case size, whitespaceBeforeSemicolon, extensionNameStart, extensionName, afterExtensionName
            case extensionValueStart, extensionToken, quotedString, quotedPair, afterQuotedString, lineFeed
        }

        var phase = Phase.size
        /// The chunk size so far; saturates at `Int.max`.
        var size = 0
        /// Hex digits seen.
        var digits = 0
        /// Bytes of the line seen, excluding its line ending.
        var length = 0
    }

    /// What ``decode(_:)`` found.
    enum Result: Sendable {
        /// `count` body bytes starting at `offset` in the input.
        case body(offset: Int, count: Int)
        /// The body is complete.
        case end
        /// Every input byte was consumed; more are needed.
        case needMore
    }

    var state: State
    /// Body bytes accepted so far, for the body limit.
    private(set) var received = 0
    /// The limits (body size, chunk line, trailers).
    let limits: HTTPParserLimits
    /// An incomplete trailer section, bounded by the trailer limits.
    private(set) var trailerBuffer: [UInt8] = []

    /// A decoder in `state`.
    init(state: State, limits: HTTPParserLimits) {
        self.state = state
        self.limits = limits
    }

    /// Whether the body has been fully read (only meaningful between `decode` calls).
    var isComplete: Bool {
        if case .length(remaining: 0) = self.state { return true }
        return false
    }

    /// Consumes bytes from the start of `input` until it has body bytes or the end to report.
    /// - Returns: what was found and how many bytes of `input` it consumed; `.needMore` always
    ///   consumes all of `input`.
    mutating func decode(_ input: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (Result, consumed: Int) {
        let count = input.count
        var position = 0
        while true {
            switch self.state {
            case .length(let remaining):
                if remaining == 0 { return (.end, position) }
                if position == count { return (.needMore, count) }
                let taken = min(remaining, count &- position)
                self.state = .length(remaining: remaining &- taken)
                return (.body(offset: position, count: taken), position &+ taken)

            case .chunkData(let remaining):
                if position == count { return (.needMore, count) }
                let taken = min(remaining, count &- position)
                self.state =
                    taken == remaining
                    ? .chunkDataEnd(sawCarriageReturn: false) : .chunkData(remaining: remaining &- taken)
                return (.body(offset: position, count: taken), position &+ taken)

            case .chunkDataEnd(let sawCarriageReturn):
                if position == count { return (.needMore, count) }
                let byte = input[position]
                position &+= 1
                if byte == HTTPBytes.lineFeed {
                    self.state = .chunkLine(ChunkLine())
                } else if byte == HTTPBytes.carriageReturn && !sawCarriageReturn {
                    self.state = .chunkDataEnd(sawCarriageReturn: true)
                } else {
                    throw sawCarriageReturn ? .bareCarriageReturn : .invalidChunkTerminator
                }

            case .chunkLine(var line):
                var complete = false
                while position < count && !complete {
                    complete = try self.advance(&line, input[position])
                    position &+= 1
                }
                guard complete else {
                    self.state = .chunkLine(line)
                    return (.needMore, count)
                }
                if line.size == 0 {
                    self.state = .trailers(.trailers(self.limits))
                } else {
                    guard line.size <= self.limits.maximumBodySize &- self.received else { throw .bodyTooLarge }
                    self.received &+= line.size
                    self.state = .chunkData(remaining: line.size)
                }

            case .trailers(var scanner):
                let rest = UnsafeBufferPointer(rebasing: input[position...])
                guard let end = try scanner.scan(rest) else {
                    self.state = .trailers(scanner)
                    self.trailerBuffer.append(contentsOf: rest)
                    return (.needMore, count)
                }
                // Trailer fields are validated like header fields and then dropped: nothing in this
                // server needs them, and keeping them would cost memory per message.
                var fields: [HTTPHeaders.Field] = []
                var framing = HTTPFramingFields()
                if self.trailerBuffer.isEmpty {
                    if end > 0 {
                        try HTTPHeadParsing.parseFields(
                            UnsafeBufferPointer(rebasing: rest[..<end]),
                            fields: &fields,
                            framing: &framing,
                            collect: false
                        )
                    }
                } else {
                    self.trailerBuffer.append(contentsOf: rest[..<end])
                    let buffer = self.trailerBuffer
                    self.trailerBuffer = []
                    try buffer.withUnsafeBufferPointer { (section) throws(HTTPParseError) in
                        try HTTPHeadParsing.parseFields(section, fields: &fields, framing: &framing, collect: false)
                    }
                }
                self.state = .length(remaining: 0)
                return (.end, position &+ end)

            case .untilClose:
                if position == count { return (.needMore, count) }
                let allowed = self.limits.maximumBodySize &- self.received
                // Hand out what fits before failing, so the outcome does not depend on how the
                // input was split.
                guard allowed > 0 else { throw .bodyTooLarge }
                let taken = min(allowed, count &- position)
                self.received &+= taken
                return (.body(offset: position, count: taken), position &+ taken)
            }
        }
    }

    /// A buffer holding a copy of `count` bytes of `input` from `offset`: one allocation per body event.
    static func copy(_ input: UnsafeBufferPointer<UInt8>, offset: Int, count: Int) -> ByteBuffer {
        var buffer = ByteBuffer(capacity: count)
        buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[offset..<(offset &+ count)])))
        return buffer
    }

    /// Feeds one byte of a chunk size line. Returns true when the byte ended the line.
    @inline(__always)
    private func advance(_ line: inout ChunkLine, _ byte: UInt8) throws(HTTPParseError) -> Bool {
        let canEnd: Bool
        switch line.phase {
        case .size: canEnd = line.digits > 0
        case .extensionName, .extensionToken, .afterQuotedString, .lineFeed: canEnd = true
        default: canEnd = false
        }
        if byte == HTTPBytes.lineFeed {
            guard canEnd else { throw line.phase == .size ? .invalidChunkSize : .invalidChunkExtension }
            return true
        }
        if line.phase == .lineFeed { throw .bareCarriageReturn }
        if byte == HTTPBytes.carriageReturn {
            guard canEnd else { throw line.phase == .size ? .invalidChunkSize : .invalidChunkExtension }
            line.phase = .lineFeed
            return false
        }
        line.length &+= 1
        guard line.length <= self.limits.maximumChunkLineLength else { throw .chunkLineTooLong }
        let isWhitespace = HTTPBytes.isWhitespace(byte)
        switch line.phase {
        case .size:
            if let digit = HTTPBytes.hexValue(byte) {
                line.size = line.size > (Int.max >> 4) ? Int.max : (line.size << 4) | digit
                line.digits &+= 1
            } else if line.digits > 0 && byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if line.digits > 0 && isWhitespace {
                line.phase = .whitespaceBeforeSemicolon
            } else {
                throw .invalidChunkSize
            }
        case .whitespaceBeforeSemicolon:
            // BWS is allowed only before ";" (chunk-ext = *( BWS ";" BWS ext-name ... )).
            if byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if !isWhitespace {
                throw .invalidChunkExtension
            }
        case .extensionNameStart:
            if HTTPBytes.isTokenCharacter(byte) {
                line.phase = .extensionName
            } else if !isWhitespace {
                throw .invalidChunkExtension
            }
        case .extensionName:
            if byte == HTTPBytes.equals {
                line.phase = .extensionValueStart
            } else if byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if isWhitespace {
                line.phase = .afterExtensionName
            } else if !HTTPBytes.isTokenCharacter(byte) {
                throw .invalidChunkExtension
            }
        case .afterExtensionName:
            if byte == HTTPBytes.equals {
                line.phase = .extensionValueStart
            } else if byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if !isWhitespace {
                throw .invalidChunkExtension
            }
        case .extensionValueStart:
            if byte == HTTPBytes.quote {
                line.phase = .quotedString
            } else if HTTPBytes.isTokenCharacter(byte) {
                line.phase = .extensionToken
            } else if !isWhitespace {
                throw .invalidChunkExtension
            }
        case .extensionToken:
            if byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if isWhitespace {
                line.phase = .whitespaceBeforeSemicolon
            } else if !HTTPBytes.isTokenCharacter(byte) {
                throw .invalidChunkExtension
            }
        case .quotedString:
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            if byte == HTTPBytes.quote {
                line.phase = .afterQuotedString
            } else if byte == HTTPBytes.backslash {
                line.phase = .quotedPair
            } else if !HTTPBytes.isFieldValueCharacter(byte) {
                throw .invalidChunkExtension
            }
        case .quotedPair:
            guard HTTPBytes.isFieldValueCharacter(byte) else { throw .invalidChunkExtension }
            line.phase = .quotedString
        case .afterQuotedString:
            if byte == HTTPBytes.semicolon {
                line.phase = .extensionNameStart
            } else if isWhitespace {
                line.phase = .whitespaceBeforeSemicolon
            } else {
                throw .invalidChunkExtension
            }
        case .lineFeed:
            throw .bareCarriageReturn
        }
        return false
    }
}
