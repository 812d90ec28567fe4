public import IOCore

/// A strict RFC 8259 JSON parser that keeps key order and number text.
///
/// It accepts exactly one value with optional whitespace around it, and rejects everything
/// `JSON.parse` rejects: trailing commas, comments, single quotes, leading zeros, `NaN`,
/// `Infinity`, unescaped control characters, bad escapes, invalid UTF-8. One difference is forced
/// by Swift's `String`, which holds only Unicode scalars: a lone surrogate escape (`"\uD800"`),
/// which `JSON.parse` keeps, becomes U+FFFD.
///
/// Every limit in ``JSONLimits`` is checked, and every failure is a ``JSONError`` with the byte
/// offset; malformed input never traps.
///
/// Speed: the input is scanned through a raw pointer, strings eight bytes at a time; a string
/// without escapes becomes a `String` in one step (small ones, up to 15 bytes, without allocating).
public enum JSONParser {
    /// Parses one JSON document.
    /// - Parameters:
    ///   - bytes: the UTF-8 document.
    ///   - limits: bounds on depth, string, number and container sizes.
    /// - Returns: the value; never ``JSONValue/binary(_:)``.
    /// - Throws: ``JSONError`` with the offset of the first offending byte.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = JSONLimits()) throws(JSONError)
        -> JSONValue
    {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONError(.unexpectedEndOfInput, offset: 0)
        }
        var state = JSONParserState(
            base: base.assumingMemoryBound(to: UInt8.self),
            count: bytes.count,
            limits: limits
        )
        return try state.parseDocument()
    }

    /// Parses one JSON document held in a string (see ``parse(_:limits:)-(UnsafeRawBufferPointer,_)``).
    public static func parse(_ string: String, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        var string = string
        let result = string.withUTF8 { utf8 in
            Result { () throws(JSONError) -> JSONValue in
                try JSONParser.parse(UnsafeRawBufferPointer(utf8), limits: limits)
            }
        }
        return try result.get()
    }

    /// Parses the readable bytes of `buffer` as one JSON document (see
    /// ``parse(_:limits:)-(UnsafeRawBufferPointer,_)``); the buffer is not consumed.
    public static func parse(_ buffer: ByteBuffer, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        try buffer.withUnsafeReadableBytes { (raw) throws(JSONError) -> JSONValue in
            try JSONParser.parse(raw, limits: limits)
        }
    }
}

/// The cursor of one parse: the input, the position, the nesting depth, and a scratch buffer for
/// strings with escapes. Lives on the stack for the duration of ``JSONParser/parse(_:limits:)``.
struct JSONParserState {
    /// The input; valid for the life of this state.
    let base: UnsafePointer<UInt8>
    /// The input's length in bytes.
    let count: Int
    /// The limits in force.
    let limits: JSONLimits
    /// The offset of the next byte to read.
    var position: Int = 0
    /// How many arrays and objects enclose the current position.
    var depth: Int = 0
    /// Decoded bytes of the current string with escapes; reused so that only the first escaped
    /// string of a document allocates it.
    var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, count: Int, limits: JSONLimits) {
        self.base = base
        self.count = count
        self.limits = limits
    }

    /// The whole input: whitespace, one value, whitespace, end.
    mutating func parseDocument() throws(JSONError) -> JSONValue {
        self.skipWhitespace()
        let value = try self.parseValue()
        self.skipWhitespace()
        if self.position != self.count {
            throw JSONError(.trailingCharacters, offset: self.position)
        }
        return value
    }

    /// Skips JSON whitespace: space, tab, line feed, carriage return (nothing else, not even a BOM).
    @inline(__always)
    mutating func skipWhitespace() {
        while self.position < self.count {
            let byte = self.base[self.position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            self.position &+= 1
        }
    }

    /// The value starting at `position` (whitespace already skipped).
    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard self.position < self.count else {
            throw JSONError(.unexpectedEndOfInput, offset: self.position)
        }
        switch self.base[self.position] {
        case UInt8(ascii: "\""):
            return .string(try self.parseString())
        case UInt8(ascii: "{"):
            return .object(try self.parseObject())
        case UInt8(ascii: "["):
            return .array(try self.parseArray())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try self.parseNumber())
        case UInt8(ascii: "t"):
            try self.parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try self.parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try self.parseLiteral("null")
            return .null
        default:
            throw JSONError(.unexpectedCharacter, offset: self.position)
        }
    }

    /// Consumes `literal` (`true`, `false` or `null`), which starts at `position`.
    @inline(__always)
    mutating func parseLiteral(_ literal: StaticString) throws(JSONError) {
        let length = literal.utf8CodeUnitCount
        let expected = literal.utf8Start
        for index in 0..<length {
            let offset = self.position &+ index
            guard offset < self.count else {
                throw JSONError(.unexpectedEndOfInput, offset: offset)
            }
            guard self.base[offset] == expected[index] else {
                throw JSONError(.invalidLiteral, offset: self.position)
            }
        }
        self.position &+= length
    }

    /// The number starting at `position`, checked against the RFC 8259 grammar.
    mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = self.position
        let length = JSONNumber.grammarLength(UnsafeRawBufferPointer(start: self.base, count: self.count), from: start)
        guard length > 0 else {
            throw JSONError(.invalidNumber, offset: start)
        }
        guard length <= self.limits.maxNumberLength else {
            throw JSONError(.numberTooLong, offset: start)
        }
        self.position = start &+ length
        let text = String(decoding: UnsafeBufferPointer(start: self.base + start, count: length), as: UTF8.self)
        return JSONNumber(uncheckedText: text)
    }

    /// The array starting at `position` (at its `[`).
    mutating func parseArray() throws(JSONError) -> [JSONValue] {
        try self.enterContainer()
        self.position &+= 1
        self.skipWhitespace()
        if self.position < self.count && self.base[self.position] == UInt8(ascii: "]") {
            self.position &+= 1
            self.depth &-= 1
            return []
        }
        var elements: [JSONValue] = []
        // Most arrays in Socket.IO payloads are short (event name plus a few arguments): one
        // allocation of four elements avoids the 1 -> 2 -> 4 regrowth.
        elements.reserveCapacity(4)
        while true {
            let element = try self.parseValue()
            guard elements.count < self.limits.maxElementsPerContainer else {
                throw JSONError(.tooManyElements, offset: self.position)
            }
            elements.append(element)
            if try self.endOfMember(closing: UInt8(ascii: "]")) { return elements }
        }
    }

    /// The object starting at `position` (at its `{`).
    mutating func parseObject() throws(JSONError) -> JSONObject {
        try self.enterContainer()
        self.position &+= 1
        self.skipWhitespace()
        if self.position < self.count && self.base[self.position] == UInt8(ascii: "}") {
            self.position &+= 1
            self.depth &-= 1
            return JSONObject()
        }
        var object = JSONObject(minimumCapacity: 4)
        while true {
            try self.expect(UInt8(ascii: "\""))
            let key = try self.parseString()
            self.skipWhitespace()
            try self.expect(UInt8(ascii: ":"))
            self.position &+= 1
            self.skipWhitespace()
            let value = try self.parseValue()
            // A repeated key replaces the value in place and does not add a member.
            if object.storage.set(value, for: key) == nil && object.storage.entries.count > self.limits.maxElementsPerContainer {
                throw JSONError(.tooManyElements, offset: self.position)
            }
            if try self.endOfMember(closing: UInt8(ascii: "}")) { return object }
        }
    }

    /// Checks that the byte at `position` is `byte`, without consuming it.
    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard self.position < self.count else {
            throw JSONError(.unexpectedEndOfInput, offset: self.position)
        }
        guard self.base[self.position] == byte else {
            throw JSONError(.unexpectedCharacter, offset: self.position)
        }
    }

    /// After an element or member: consumes whitespace and then either `,` (more follow: false) or
    /// `closing`, which leaves the container (true).
    @inline(__always)
    mutating func endOfMember(closing: UInt8) throws(JSONError) -> Bool {
        self.skipWhitespace()
        guard self.position < self.count else {
            throw JSONError(.unexpectedEndOfInput, offset: self.position)
        }
        let byte = self.base[self.position]
        self.position &+= 1
        if byte == UInt8(ascii: ",") {
            self.skipWhitespace()
            return false
        }
        guard byte == closing else {
            throw JSONError(.unexpectedCharacter, offset: self.position &- 1)
        }
        self.depth &-= 1
        return true
    }

    /// Counts one more level of nesting, refusing to go past the limit.
    @inline(__always)
    mutating func enterContainer() throws(JSONError) {
        guard self.depth < self.limits.maxDepth else {
            throw JSONError(.depthLimitExceeded, offset: self.position)
        }
        self.depth &+= 1
    }

    /// The string starting at `position` (at its opening quote); leaves `position` after the closing quote.
    mutating func parseString() throws(JSONError) -> String {
        let start = self.position &+ 1
        let (stop, nonASCII) = ByteScanning.scanString(self.base, from: start, count: self.count)
        guard stop < self.count else {
            throw JSONError(.unexpectedEndOfInput, offset: self.count)
        }
        guard self.base[stop] == UInt8(ascii: "\"") else {
            return try self.parseEscapedString(start: start, stop: stop)
        }
        // Fast path: no escapes, so the bytes between the quotes are the string.
        let length = stop &- start
        guard length <= self.limits.maxStringLength else {
            throw JSONError(.stringTooLong, offset: start &- 1)
        }
        if nonASCII, let bad = ByteScanning.firstInvalidUTF8(self.base + start, count: length) {
            throw JSONError(.invalidUTF8, offset: start &+ bad)
        }
        self.position = stop &+ 1
        // Valid UTF-8 now, so `decoding` repairs nothing; unlike `String(validating:)` it is specialized.
        return String(decoding: UnsafeBufferPointer(start: self.base + start, count: length), as: UTF8.self)
    }

    /// The slow path of ``parseString()``: `stop` is the first byte after `start` that is a backslash
    /// or a control character. Decodes into `scratch`, copying the plain runs in between whole.
    mutating func parseEscapedString(start: Int, stop: Int) throws(JSONError) -> String {
        self.scratch.removeAll(keepingCapacity: true)
        self.scratch.append(contentsOf: UnsafeBufferPointer(start: self.base + start, count: stop &- start))
        var index = stop
        while true {
            // Here `index` is at a special byte, or at the end.
            guard index < self.count else {
                throw JSONError(.unexpectedEndOfInput, offset: self.count)
            }
            let byte = self.base[index]
            if byte == UInt8(ascii: "\"") {
                break
            }
            if byte < 0x20 {
                throw JSONError(.controlCharacterInString, offset: index)
            }
            // A backslash.
            guard index &+ 1 < self.count else {
                throw JSONError(.unexpectedEndOfInput, offset: self.count)
            }
            switch self.base[index &+ 1] {
            case UInt8(ascii: "\""): self.scratch.append(0x22)
            case UInt8(ascii: "\\"): self.scratch.append(0x5C)
            case UInt8(ascii: "/"): self.scratch.append(0x2F)
            case UInt8(ascii: "b"): self.scratch.append(0x08)
            case UInt8(ascii: "f"): self.scratch.append(0x0C)
            case UInt8(ascii: "n"): self.scratch.append(0x0A)
            case UInt8(ascii: "r"): self.scratch.append(0x0D)
            case UInt8(ascii: "t"): self.scratch.append(0x09)
            case UInt8(ascii: "u"):
                index = try self.decodeUnicodeEscape(at: index)
                index = self.copyPlainRun(from: index)
                continue
            default:
                throw JSONError(.invalidEscape, offset: index)
            }
            index = self.copyPlainRun(from: index &+ 2)
        }
        let length = index &- start
        guard length <= self.limits.maxStringLength else {
            throw JSONError(.stringTooLong, offset: start &- 1)
        }
        // Escapes decode to whole UTF-8 sequences, so the decoded bytes are invalid exactly when the
        // raw ones are; checking the raw input also locates the bad byte.
        if let bad = ByteScanning.firstInvalidUTF8(self.base + start, count: length) {
            throw JSONError(.invalidUTF8, offset: start &+ bad)
        }
        self.position = index &+ 1
        return String(decoding: self.scratch, as: UTF8.self)
    }

    /// Appends the plain bytes from `index` up to the next special byte to `scratch`; returns that byte's offset.
    @inline(__always)
    mutating func copyPlainRun(from index: Int) -> Int {
        let next = ByteScanning.firstStringSpecial(self.base, from: index, count: self.count)
        if next > index {
            self.scratch.append(contentsOf: UnsafeBufferPointer(start: self.base + index, count: next &- index))
        }
        return next
    }

    /// Decodes the `\uXXXX` escape at `index` (at its backslash), and a following low-surrogate escape
    /// when it is a high surrogate, into `scratch` as UTF-8. Returns the offset after what it consumed.
    /// A surrogate without its partner becomes U+FFFD (see ``JSONParser``).
    mutating func decodeUnicodeEscape(at index: Int) throws(JSONError) -> Int {
        let unit = try self.hexQuad(at: index &+ 2)
        var scalar: UInt32
        var next = index &+ 6
        switch unit {
        case 0xD800...0xDBFF:
            scalar = 0xFFFD
            if next &+ 1 < self.count && self.base[next] == UInt8(ascii: "\\") && self.base[next &+ 1] == UInt8(ascii: "u") {
                let low = try self.hexQuad(at: next &+ 2)
                if low >= 0xDC00 && low <= 0xDFFF {
                    scalar = 0x10000 &+ ((unit &- 0xD800) << 10) &+ (low &- 0xDC00)
                    next &+= 6
                }
                // Otherwise the second escape is decoded on its own by the caller's next step.
            }
        case 0xDC00...0xDFFF:
            scalar = 0xFFFD
        default:
            scalar = unit
        }
        self.appendUTF8(scalar)
        return next
    }

    /// The value of the four hexadecimal digits at `index`.
    @inline(__always)
    func hexQuad(at index: Int) throws(JSONError) -> UInt32 {
        guard index &+ 4 <= self.count else {
            throw JSONError(.unexpectedEndOfInput, offset: self.count)
        }
        var value: UInt32 = 0
        for offset in index..<(index &+ 4) {
            let byte = self.base[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw JSONError(.invalidUnicodeEscape, offset: index &- 2)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends `scalar` (a Unicode scalar value, never a surrogate) to `scratch` as UTF-8.
    @inline(__always)
    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            self.scratch.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            self.scratch.append(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        case 0x800..<0x10000:
            self.scratch.append(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar >> 6) & 0x3F)
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        default:
            self.scratch.append(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar >> 12) & 0x3F)
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar >> 6) & 0x3F)
            self.scratch.append(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        }
    }
}
