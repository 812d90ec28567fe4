/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field, `message` when the event had none.
    public var type: String
    /// The `data:` fields joined with `\n`.
    public var data: String
    /// The last `id:` seen so far in the stream, if any.
    public var lastEventID: String?

    /// An event.
    public init(type: String = "message", data: String, lastEventID: String? = nil) {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// Why an event stream was rejected.
public struct SSEParseError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable { case lineTooLong, eventTooLarge }
    let code: Code

    /// A line was longer than ``SSEParser/Limits/maximumLineLength``.
    public static let lineTooLong = SSEParseError(code: .lineTooLong)
    /// An event's data was larger than ``SSEParser/Limits/maximumEventSize``.
    public static let eventTooLarge = SSEParseError(code: .eventTooLarge)

    /// A fixed description; never contains stream content.
    public var description: String {
        switch self.code {
        case .lineTooLong: "event stream line longer than the limit"
        case .eventTooLarge: "event stream event larger than the limit"
        }
    }
}

/// An incremental parser for `text/event-stream` (the WHATWG HTML "server-sent events" syntax).
///
/// Feed it the body as it arrives, split anywhere (inside a line ending, inside a UTF-8 sequence):
/// lines end with CRLF, LF or CR; `:` starts a comment; `data:` fields accumulate, joined with `\n`;
/// an empty line dispatches the event (one without data is dropped, as the standard says); a field
/// without a colon has an empty value; one space after the colon is removed; `id` and `event` are kept;
/// `retry` and unknown fields are ignored; a leading byte order mark is skipped. An unfinished event at
/// the end of the stream is discarded, as the standard says.
///
/// Bounded: at most ``Limits/maximumLineLength`` bytes of an incomplete line and
/// ``Limits/maximumEventSize`` bytes of event data are held; beyond that it throws, and stays failed.
/// Lines that arrive whole inside one chunk are read in place, without copying.
public struct SSEParser: Sendable {
    /// The parser's memory bounds.
    public struct Limits: Sendable, Hashable {
        /// The longest line, without its terminator.
        public var maximumLineLength: Int
        /// The most data bytes one event may hold.
        public var maximumEventSize: Int

        /// Limits; 1 MiB lines and 4 MiB events by default (a chat chunk is well under 1 KiB).
        public init(maximumLineLength: Int = 1 << 20, maximumEventSize: Int = 4 << 20) {
            self.maximumLineLength = max(1, maximumLineLength)
            self.maximumEventSize = max(1, maximumEventSize)
        }
    }

    /// The limits this parser enforces.
    public let limits: Limits
    /// An incomplete line carried over from the previous chunk.
    private var partialLine: [UInt8] = []
    /// The data of the event being assembled (each field followed by `\n`).
    private var data: [UInt8] = []
    /// The `event:` field of the event being assembled.
    private var eventType: String?
    /// The last `id:` seen.
    private var lastEventID: String?
    /// Whether the previous chunk ended with CR, so a LF starting this one belongs to that line ending.
    private var skipLeadingLineFeed = false
    /// Whether no line has been completed yet (the place for a byte order mark).
    private var atStreamStart = true
    /// The error thrown, if any; thrown again by every later call.
    private var failure: SSEParseError?

    /// A parser enforcing `limits`.
    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.partialLine.reserveCapacity(256)
        self.data.reserveCapacity(256)
    }

    /// Parses `bytes`, calling `onEvent` for every event they complete.
    /// - Throws: ``SSEParseError`` when a limit is exceeded; the parser then stays failed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) throws(SSEParseError) {
        if let failure = self.failure { throw failure }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let start = base.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        var index = 0
        if self.skipLeadingLineFeed {
            self.skipLeadingLineFeed = false
            if start[0] == 0x0A { index = 1 }
        }
        while index < count {
            // Find the next CR or LF.
            var end = index
            while end < count && start[end] != 0x0A && start[end] != 0x0D { end += 1 }
            if end == count {
                let length = self.partialLine.count + (count - index)
                guard length <= self.limits.maximumLineLength else { throw self.fail(.lineTooLong) }
                self.partialLine.append(contentsOf: UnsafeBufferPointer(start: start + index, count: count - index))
                return
            }
            if self.partialLine.isEmpty {
                guard end - index <= self.limits.maximumLineLength else { throw self.fail(.lineTooLong) }
                try self.processLine(UnsafeRawBufferPointer(start: start + index, count: end - index), onEvent: onEvent)
            } else {
                let length = self.partialLine.count + (end - index)
                guard length <= self.limits.maximumLineLength else { throw self.fail(.lineTooLong) }
                self.partialLine.append(contentsOf: UnsafeBufferPointer(start: start + index, count: end - index))
                var line = self.partialLine
                self.partialLine = []
                // Array's withUnsafeBytes is untyped `rethrows`: the typed error travels out in a Result.
                let result: Result<Void, SSEParseError> = line.withUnsafeBytes { raw in
                    do throws(SSEParseError) {
                        try self.processLine(raw, onEvent: onEvent)
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
                try result.get()
                // Reuse the allocation for the next partial line.
                line.removeAll(keepingCapacity: true)
                self.partialLine = line
            }
            // Consume the terminator: CRLF counts once, even when split between chunks.
            if start[end] == 0x0D {
                if end + 1 < count {
                    index = start[end + 1] == 0x0A ? end + 2 : end + 1
                } else {
                    self.skipLeadingLineFeed = true
                    index = end + 1
                }
            } else {
                index = end + 1
            }
        }
    }

    /// Parses `bytes` like ``feed(_:onEvent:)``, returning the events (for tests and simple callers).
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(SSEParseError) -> [SSEEvent] {
        var events: [SSEEvent] = []
        let array = Array(bytes)
        let result: Result<Void, SSEParseError> = array.withUnsafeBytes { raw in
            do throws(SSEParseError) {
                try self.feed(raw) { events.append($0) }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return events
    }

    private mutating func fail(_ error: SSEParseError) -> SSEParseError {
        self.failure = error
        self.partialLine = []
        self.data = []
        return error
    }

    private mutating func processLine(_ rawLine: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) throws(SSEParseError) {
        var line = rawLine
        if self.atStreamStart {
            self.atStreamStart = false
            if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
                line = UnsafeRawBufferPointer(rebasing: line[3...])
            }
        }
        if line.isEmpty {
            self.dispatch(onEvent)
            return
        }
        if line[0] == UInt8(ascii: ":") { return }  // a comment, e.g. a keep-alive ": ping"
        var colon = 0
        while colon < line.count && line[colon] != UInt8(ascii: ":") { colon += 1 }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count && line[valueStart] == 0x20 { valueStart += 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        if Self.equals(name, "data") {
            guard self.data.count + value.count + 1 <= self.limits.maximumEventSize else { throw self.fail(.eventTooLarge) }
            self.data.append(contentsOf: value)
            self.data.append(0x0A)
        } else if Self.equals(name, "event") {
            self.eventType = String(decoding: value, as: UTF8.self)
        } else if Self.equals(name, "id") {
            // An id containing NUL is ignored, as the standard says.
            if !value.contains(0) { self.lastEventID = String(decoding: value, as: UTF8.self) }
        }
    }

    private mutating func dispatch(_ onEvent: (SSEEvent) -> Void) {
        defer { self.eventType = nil }
        guard !self.data.isEmpty else { return }
        self.data.removeLast()  // the `\n` after the last data field
        let data = String(decoding: self.data, as: UTF8.self)
        self.data.removeAll(keepingCapacity: true)
        onEvent(SSEEvent(type: self.eventType ?? "message", data: data, lastEventID: self.lastEventID))
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let literalBytes = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        return bytes.elementsEqual(literalBytes)
    }
}
