/// Extracts the value of one top-level string member (such as `"suggestion"`) from a JSON object that is
/// still being written, so that a streamed answer can be shown before it is complete.
///
/// A language model streams `{"kind":"objection","headline":"…","suggestion":"Acknowledge the bud` in
/// arbitrary pieces; ``value`` is then `Acknowledge the bud`, the member's decoded text so far. Escapes are
/// decoded (`\n`, `\"`, `\u00e9`, surrogate pairs), and a piece that ends inside an escape, between the two
/// halves of a surrogate pair, or inside a multi-byte UTF-8 character holds that character back until it is
/// complete. So every ``value`` is a prefix (in UTF-8) of the string a full parse of the finished document
/// gives, as long as the document names the member once at the top level.
///
/// The scan is incremental: each call looks only at the bytes it has not seen, keeping a few fields of
/// state between calls (O(new bytes) per call, no allocation but the value's own growth). It is a
/// recogniser, not a validator: it tracks strings, escapes and nesting depth, and stops (``Phase/stopped``)
/// at input no JSON object could start with or at a raw control character inside a string. The final
/// answer is still parsed with ``JSONParser``; this type only feeds the optional early preview, so on
/// garbage it may stop or find nothing, but it never traps and never grows past ``maximumValueBytes``.
///
/// Feed it either the whole text accumulated so far (``update(accumulated:)``) or only the new bytes
/// (``feed(_:)``), not both.
public struct PartialJSON: Sendable {
    /// Where the extraction stands.
    public enum Phase: Sendable, Hashable {
        /// Looking for the member; ``value`` is empty.
        case searching
        /// Inside the member's string: ``value`` grows as bytes arrive.
        case reading
        /// The member's closing quote arrived: ``value`` is final. Later bytes are ignored.
        case complete
        /// The input cannot be a JSON object holding the member as a string (it does not start with `{`,
        /// the object closed without it, a string held a raw control character), or the value reached
        /// ``maximumValueBytes``. ``value`` keeps what was read; later bytes are ignored.
        case stopped
    }

    /// What the scanner is inside of, between two calls.
    private enum Mode: UInt8, Sendable {
        /// Before the root object's `{` (only whitespace may come first).
        case beforeRoot
        /// Between tokens: structure, numbers and literals.
        case structure
        /// Inside a string (a key or a value at any depth).
        case string
        /// Done: complete or stopped.
        case finished
    }

    /// Where the bytes of the current string go.
    private enum StringTarget: UInt8, Sendable {
        /// A key of the root object: compared with ``key``.
        case key
        /// The member's value: decoded into ``value``.
        case value
        /// Any other string: only its end matters.
        case skip
    }

    /// The escape being read inside a string, when a piece may end in the middle of it.
    private enum Escape: UInt8, Sendable {
        /// No escape under way.
        case none
        /// After `\`.
        case backslash
        /// Reading the four hex digits of `\uXXXX`.
        case unicode
        /// After a complete high-surrogate escape: a `\u` low surrogate may follow.
        case highSurrogate
        /// After a high surrogate and a `\`.
        case highSurrogateBackslash
        /// Reading the hex digits of the escape after a high surrogate.
        case lowUnicode
    }

    /// The member whose value is extracted.
    public let key: String
    /// The most bytes of decoded value kept; the scan stops there.
    public let maximumValueBytes: Int

    /// The key's UTF-8, compared byte by byte with each decoded root-object key.
    private let keyBytes: [UInt8]
    /// The decoded value's UTF-8 so far, possibly ending in an incomplete character.
    private var decoded: [UInt8] = []
    /// `decoded[..<completeCount]` ends on a character boundary: what ``value`` shows.
    private var completeCount = 0
    /// Unicode scalars in `decoded[..<completeCount]`.
    public private(set) var scalarCount = 0
    /// UTF-8 continuation bytes still expected for the raw character being copied.
    private var pendingContinuationBytes = 0

    /// How many input bytes have been consumed (``update(accumulated:)`` resumes from here).
    public private(set) var consumedBytes = 0
    /// Where the extraction stands.
    public private(set) var phase: Phase = .searching

    private var mode: Mode = .beforeRoot
    /// Nesting depth: 1 inside the root object.
    private var depth = 0
    /// At depth 1, whether the next string is a key (after `{` or `,`) rather than a value (after `:`).
    private var expectsKey = true
    /// Whether the latest root key was ``key`` and its value has not started yet.
    private var keyMatched = false
    private var target: StringTarget = .skip
    /// For a key being read: how many of its bytes matched so far, or -1 once it differs.
    private var keyMatchCount = 0
    private var escape: Escape = .none
    /// Hex digits of the escape under way read so far, and their value.
    private var hexDigits = 0
    private var hexValue: UInt32 = 0
    /// The high surrogate waiting for its low half.
    private var highSurrogate: UInt32 = 0

    /// An extractor for `key`.
    /// - Parameters:
    ///   - key: the top-level member to extract (matched after decoding, so `"sugg\u0065stion"` counts).
    ///   - maximumValueBytes: the most UTF-8 bytes of value kept; the default is four times the protocol's
    ///     1,000-character suggestion, enough for any character mix.
    public init(key: String, maximumValueBytes: Int = 4_096) {
        self.key = key
        self.keyBytes = Array(key.utf8)
        self.maximumValueBytes = max(0, maximumValueBytes)
    }

    /// The member's decoded text so far, up to the last complete character. Builds a `String` on each call.
    public var value: String {
        String(decoding: self.decoded[..<self.completeCount], as: UTF8.self)
    }

    /// UTF-8 bytes in ``value``: grows whenever ``value`` does.
    public var valueByteCount: Int { self.completeCount }

    /// Whether ``value`` ends with `.`, `!`, `?` or `…`: a natural moment to show it.
    public var valueEndsSentence: Bool {
        guard self.completeCount > 0 else { return false }
        switch self.decoded[self.completeCount - 1] {
        case UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "?"): return true
        case 0xA6:  // The last byte of "…" (E2 80 A6).
            return self.completeCount >= 3 && self.decoded[self.completeCount - 3] == 0xE2
                && self.decoded[self.completeCount - 2] == 0x80
        default: return false
        }
    }

    /// Whether the value's closing quote has arrived.
    public var isComplete: Bool { self.phase == .complete }

    /// Scans whatever `text` holds beyond what was already consumed: `text` is the whole answer so far,
    /// each call's text extending the previous one. A text shorter than what was consumed means a new
    /// answer: the extractor starts over.
    /// - Returns: whether ``value`` grew.
    @discardableResult
    public mutating func update(accumulated text: String) -> Bool {
        var text = text
        let total = text.utf8.count
        if total < self.consumedBytes {
            self = PartialJSON(key: self.key, maximumValueBytes: self.maximumValueBytes)
        }
        guard total > self.consumedBytes else { return false }
        let before = self.completeCount
        let start = self.consumedBytes
        // `withUTF8` is O(1) for a native string; it copies once only for a bridged or lazily built one.
        text.withUTF8 { bytes in
            self.feed(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start...])))
        }
        return self.completeCount > before
    }

    /// Scans the next bytes of the answer (only the new ones).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        self.consumedBytes += bytes.count
        guard self.mode != .finished, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let count = bytes.count
        var index = 0
        while index < count && self.mode != .finished {
            switch self.mode {
            case .beforeRoot:
                let byte = base[index]
                index += 1
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                case UInt8(ascii: "{"):
                    self.depth = 1
                    self.expectsKey = true
                    self.mode = .structure
                default:
                    self.stop()
                }
            case .structure:
                self.structureByte(base[index])
                index += 1
            case .string:
                index = self.scanString(base, from: index, count: count)
            case .finished:
                return
            }
        }
    }

    // MARK: Structure

    /// One byte between tokens.
    private mutating func structureByte(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""):
            if self.depth == 1 && self.expectsKey {
                self.target = .key
                self.keyMatchCount = 0
            } else if self.depth == 1 && self.keyMatched {
                self.target = .value
                self.phase = .reading
            } else {
                self.target = .skip
            }
            self.keyMatched = self.target == .key ? false : self.keyMatched
            self.escape = .none
            self.mode = .string
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            // A container as the member's value: not a string, so nothing to extract from it.
            if self.depth == 1 { self.keyMatched = false }
            self.depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            self.depth -= 1
            // The root closed without a string value for the member.
            if self.depth <= 0 { self.stop() }
        case UInt8(ascii: ":"):
            if self.depth == 1 { self.expectsKey = false }
        case UInt8(ascii: ","):
            if self.depth == 1 {
                self.expectsKey = true
                self.keyMatched = false
            }
        default:
            // Whitespace, numbers, literals: a scalar value for the member (`null`) means no string value.
            if self.depth == 1 && self.keyMatched && byte > 0x20 { self.keyMatched = false }
        }
    }

    // MARK: Strings

    /// Scans string bytes from `index`; returns the index after what it consumed.
    private mutating func scanString(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var index = start
        while index < count {
            let byte = base[index]
            if self.escape != .none {
                index += 1
                self.escapeByte(byte)
                if self.mode != .string { return index }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                self.endString()
                return index + 1
            case UInt8(ascii: "\\"):
                self.escape = .backslash
            case 0..<0x20:
                // Raw control characters are not allowed in JSON strings: this is not an answer to preview.
                self.stop()
                return index + 1
            default:
                self.rawByte(byte)
                if self.mode != .string { return index + 1 }
            }
            index += 1
        }
        return index
    }

    /// One byte of an escape sequence under way.
    private mutating func escapeByte(_ byte: UInt8) {
        switch self.escape {
        case .none:
            break
        case .backslash:
            self.escape = .none
            self.simpleEscape(byte)
        case .unicode, .lowUnicode:
            guard let digit = Self.hexDigit(byte) else {
                self.stop()
                return
            }
            self.hexValue = self.hexValue << 4 | digit
            self.hexDigits += 1
            guard self.hexDigits == 4 else { return }
            if self.escape == .lowUnicode {
                self.escape = .none
                if (0xDC00...0xDFFF).contains(self.hexValue) {
                    self.scalar(0x10000 + ((self.highSurrogate - 0xD800) << 10) + (self.hexValue - 0xDC00))
                } else {
                    // As JSONParser does: the lone high surrogate becomes U+FFFD and this escape stands alone.
                    self.scalar(0xFFFD)
                    guard self.mode != .finished else { return }  // the U+FFFD hit the size limit
                    self.unicodeUnit(self.hexValue)
                }
            } else {
                self.escape = .none
                self.unicodeUnit(self.hexValue)
            }
        case .highSurrogate:
            if byte == UInt8(ascii: "\\") {
                self.escape = .highSurrogateBackslash
            } else {
                self.escape = .none
                self.scalar(0xFFFD)
                guard self.mode != .finished else { return }
                self.reconsume(byte)
            }
        case .highSurrogateBackslash:
            if byte == UInt8(ascii: "u") {
                self.escape = .lowUnicode
                self.hexDigits = 0
                self.hexValue = 0
            } else {
                self.escape = .none
                self.scalar(0xFFFD)
                guard self.mode != .finished else { return }
                self.simpleEscape(byte)
            }
        }
    }

    /// The byte after a single `\`.
    private mutating func simpleEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): self.scalar(UInt32(byte))
        case UInt8(ascii: "b"): self.scalar(0x08)
        case UInt8(ascii: "f"): self.scalar(0x0C)
        case UInt8(ascii: "n"): self.scalar(0x0A)
        case UInt8(ascii: "r"): self.scalar(0x0D)
        case UInt8(ascii: "t"): self.scalar(0x09)
        case UInt8(ascii: "u"):
            self.escape = .unicode
            self.hexDigits = 0
            self.hexValue = 0
        default: self.stop()
        }
    }

    /// A complete `\uXXXX` code unit that is not the low half of a pending pair.
    private mutating func unicodeUnit(_ unit: UInt32) {
        switch unit {
        case 0xD800...0xDBFF:
            self.highSurrogate = unit
            self.escape = .highSurrogate
        case 0xDC00...0xDFFF:
            self.scalar(0xFFFD)
        default:
            self.scalar(unit)
        }
    }

    /// A byte that followed a lone high surrogate: handled as if no escape were under way.
    private mutating func reconsume(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): self.endString()
        case UInt8(ascii: "\\"): self.escape = .backslash
        case 0..<0x20: self.stop()
        default: self.rawByte(byte)
        }
    }

    /// The closing quote of a string.
    private mutating func endString() {
        switch self.target {
        case .key:
            self.keyMatched = self.keyMatchCount == self.keyBytes.count
            self.mode = .structure
        case .value:
            self.closePendingCharacter()
            self.phase = .complete
            self.mode = .finished
        case .skip:
            self.mode = .structure
        }
    }

    // MARK: Output

    /// A raw (unescaped) byte of a string.
    @inline(__always)
    private mutating func rawByte(_ byte: UInt8) {
        switch self.target {
        case .skip: return
        case .key: self.matchKeyByte(byte)
        case .value: self.appendValueByte(byte)
        }
    }

    /// A decoded scalar of a string.
    private mutating func scalar(_ scalar: UInt32) {
        switch self.target {
        case .skip: return
        case .key: Self.forEachUTF8Byte(of: scalar) { self.matchKeyByte($0) }
        case .value:
            self.closePendingCharacter()
            guard self.decoded.count + Self.utf8Length(of: scalar) <= self.maximumValueBytes else {
                self.stop()
                return
            }
            Self.forEachUTF8Byte(of: scalar) { self.decoded.append($0) }
            self.completeCount = self.decoded.count
            self.scalarCount += 1
        }
    }

    @inline(__always)
    private mutating func matchKeyByte(_ byte: UInt8) {
        guard self.keyMatchCount >= 0 else { return }
        if self.keyMatchCount < self.keyBytes.count && self.keyBytes[self.keyMatchCount] == byte {
            self.keyMatchCount += 1
        } else {
            self.keyMatchCount = -1
        }
    }

    /// Appends a raw byte of the value, tracking where the last complete UTF-8 character ends.
    private mutating func appendValueByte(_ byte: UInt8) {
        guard self.decoded.count < self.maximumValueBytes else {
            self.stop()
            return
        }
        if self.pendingContinuationBytes > 0 && byte & 0xC0 == 0x80 {
            self.decoded.append(byte)
            self.pendingContinuationBytes -= 1
            if self.pendingContinuationBytes == 0 {
                self.completeCount = self.decoded.count
                self.scalarCount += 1
            }
            return
        }
        self.closePendingCharacter()
        self.decoded.append(byte)
        switch byte {
        case 0xC2...0xDF: self.pendingContinuationBytes = 1
        case 0xE0...0xEF: self.pendingContinuationBytes = 2
        case 0xF0...0xF4: self.pendingContinuationBytes = 3
        default:
            // ASCII, or a byte no valid UTF-8 starts with (shown as U+FFFD): complete on its own.
            self.completeCount = self.decoded.count
            self.scalarCount += 1
        }
    }

    /// Ends an interrupted multi-byte character (invalid UTF-8, shown as U+FFFD) so that what follows counts.
    private mutating func closePendingCharacter() {
        guard self.pendingContinuationBytes > 0 else { return }
        self.pendingContinuationBytes = 0
        self.completeCount = self.decoded.count
        self.scalarCount += 1
    }

    /// Stops the scan for good; ``value`` keeps what was read.
    private mutating func stop() {
        self.phase = .stopped
        self.mode = .finished
    }

    // MARK: Helpers

    @inline(__always)
    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    @inline(__always)
    private static func utf8Length(of scalar: UInt32) -> Int {
        switch scalar {
        case 0..<0x80: 1
        case 0x80..<0x800: 2
        case 0x800..<0x10000: 3
        default: 4
        }
    }

    /// Calls `body` with each UTF-8 byte of `scalar` (never a surrogate: those became U+FFFD).
    @inline(__always)
    private static func forEachUTF8Byte(of scalar: UInt32, _ body: (UInt8) -> Void) {
        switch scalar {
        case 0..<0x80:
            body(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            body(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
            body(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        case 0x800..<0x10000:
            body(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
            body(0x80 | UInt8(truncatingIfNeeded: scalar >> 6) & 0x3F)
            body(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        default:
            body(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
            body(0x80 | UInt8(truncatingIfNeeded: scalar >> 12) & 0x3F)
            body(0x80 | UInt8(truncatingIfNeeded: scalar >> 6) & 0x3F)
            body(0x80 | UInt8(truncatingIfNeeded: scalar) & 0x3F)
        }
    }
}
