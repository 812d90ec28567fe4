/// The message framing both HTTP/1.1 parsers share: skipping empty lines between messages, finding and
/// buffering a head, handing the body decoder its framing, and the `.end` that follows a head without
/// a body. The parsers add what differs: how a head is parsed into a request or a response.
struct HTTPMessageFramer: Sendable {
    /// Where the framer is between and within messages.
    enum Phase: Sendable {
        /// Between messages, skipping empty lines.
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

    /// What one step found.
    enum Event<Head> {
        case head(Head)
        case body(ByteBuffer)
        case end
    }

    /// Parses a complete head given its bytes and the number of fields the scanner counted; returns the
    /// head and its body framing (nil: no body).
    typealias HeadParser<Head> = (UnsafeBufferPointer<UInt8>, Int) throws(HTTPParseError) -> (Head, HTTPBodyDecoder.State?)

    let limits: HTTPParserLimits
    /// The error for a start line over its limit (request line or status line).
    private let startLineTooLong: HTTPParseError
    private(set) var phase = Phase.idle
    /// Whether the previous byte, while idle, was a CR (which must be followed by LF).
    private(set) var idleSawCarriageReturn = false
    /// Empty lines skipped before the current start line.
    private var emptyLineCount = 0
    /// Finds the end of the head.
    private var scanner: HTTPHeadScanner
    /// An incomplete head, when it arrived in more than one piece; empty otherwise.
    private var headBuffer: [UInt8] = []
    /// Frames the body of the current message.
    private(set) var body: HTTPBodyDecoder

    init(limits: HTTPParserLimits, startLineTooLong: HTTPParseError) {
        self.limits = limits
        self.startLineTooLong = startLineTooLong
        self.scanner = .head(limits, startLineTooLong: startLineTooLong)
        self.body = HTTPBodyDecoder(state: .length(remaining: 0), limits: limits)
    }

    /// Bytes held for an incomplete head or trailer section.
    var bufferedByteCount: Int { self.headBuffer.count + self.body.trailerBuffer.count }

    /// Stays failed with `error` and drops what was buffered.
    mutating func fail(_ error: HTTPParseError) {
        self.phase = .failed(error)
        self.headBuffer = []
    }

    /// Back to idle, between messages.
    mutating func endMessage() {
        self.phase = .idle
    }

    /// Parses from the start of `input` up to the next event; nil when every byte went into the state.
    /// An error leaves the framer failed (see ``fail(_:)``), so every later step throws it again.
    mutating func step<Head>(
        _ input: UnsafeBufferPointer<UInt8>, parseHead: HeadParser<Head>
    ) throws(HTTPParseError) -> (event: Event<Head>?, consumed: Int) {
        do throws(HTTPParseError) {
            return try self.advance(input, parseHead: parseHead)
        } catch {
            self.fail(error)
            throw error
        }
    }

    private mutating func advance<Head>(
        _ input: UnsafeBufferPointer<UInt8>, parseHead: HeadParser<Head>
    ) throws(HTTPParseError) -> (event: Event<Head>?, consumed: Int) {
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
            return try self.readHead(input, parseHead: parseHead)
        case .idle:
            let skipped = try self.skipEmptyLines(input)
            if skipped == input.count { return (nil, skipped) }
            self.phase = .head
            self.emptyLineCount = 0
            self.scanner = .head(self.limits, startLineTooLong: self.startLineTooLong)
            let (event, consumed) = try self.readHead(UnsafeBufferPointer(rebasing: input[skipped...]), parseHead: parseHead)
            return (event, skipped &+ consumed)
        }
    }

    /// Skips the empty lines a peer may send between messages (RFC 9112 §2.2).
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
    private mutating func readHead<Head>(
        _ input: UnsafeBufferPointer<UInt8>, parseHead: HeadParser<Head>
    ) throws(HTTPParseError) -> (event: Event<Head>?, consumed: Int) {
        guard let end = try self.scanner.scan(input) else {
            self.headBuffer.append(contentsOf: input)
            return (nil, input.count)
        }
        let fieldCount = self.scanner.fieldCount
        let head: Head
        let framing: HTTPBodyDecoder.State?
        if self.headBuffer.isEmpty {
            // The common case: the whole head arrived at once and is parsed where it lies.
            (head, framing) = try parseHead(UnsafeBufferPointer(rebasing: input[..<end]), fieldCount)
        } else {
            self.headBuffer.append(contentsOf: input[..<end])
            let buffer = self.headBuffer
            self.headBuffer = []
            (head, framing) = try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                try parseHead(bytes, fieldCount)
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
}

import IOCore
