/// Checks that bytes are well-formed UTF-8 (Unicode section 3.9, table 3-7), fed in any number of pieces.
///
/// A code point may be split between pieces; a byte that cannot continue any valid sequence fails at
/// once, so overlong forms, surrogates (U+D800-U+DFFF) and values above U+10FFFF are caught at their
/// first impossible byte, as RFC 6455 section 8.1 asks of an endpoint reading a text message.
/// ASCII is checked eight bytes at a time.
public struct UTF8Validator: Sendable, Hashable {
    /// Continuation bytes still expected by the sequence in progress (0-3).
    private var remaining: UInt8 = 0
    /// The smallest byte allowed next; narrower than 0x80 only right after certain lead bytes.
    private var lower: UInt8 = 0x80
    /// The largest byte allowed next.
    private var upper: UInt8 = 0xBF
    /// Whether an invalid byte was seen; the validator then stays failed.
    private var failed = false

    /// A validator at the start of a text.
    public init() {}

    /// Whether everything fed so far is valid and ends on a code point boundary, so the text may end here.
    public var isComplete: Bool { !self.failed && self.remaining == 0 }

    /// Whether everything fed so far is valid, although it may end inside a code point.
    public var isValidSoFar: Bool { !self.failed }

    /// Starts over, for a new text.
    public mutating func reset() {
        self = UTF8Validator()
    }

    /// Checks the next piece of the text.
    ///
    /// - Parameter bytes: The bytes that follow those already fed.
    /// - Returns: `false` if these or earlier bytes cannot be UTF-8; the validator stays failed.
    @discardableResult
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if self.failed {
            return false
        }
        guard let base = bytes.baseAddress else {
            return true
        }
        let count = bytes.count
        var index = 0
        var remaining = self.remaining
        var lower = self.lower
        var upper = self.upper
        while index < count {
            if remaining == 0 {
                // Between code points: skip ASCII a word at a time. The low bytes of the little-endian
                // value are the first in memory, so trailing zero bits count the leading ASCII bytes.
                while index &+ 8 <= count {
                    let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    let high = word & 0x8080_8080_8080_8080
                    if high != 0 {
                        index &+= high.trailingZeroBitCount >> 3
                        break
                    }
                    index &+= 8
                }
                if index == count {
                    break
                }
                let lead = base.load(fromByteOffset: index, as: UInt8.self)
                index &+= 1
                switch lead {
                case 0x00...0x7F:
                    continue
                case 0xC2...0xDF:
                    remaining = 1
                case 0xE0:
                    // Below A0 would be an overlong encoding of a code point under U+0800.
                    remaining = 2
                    lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF:
                    remaining = 2
                case 0xED:
                    // A0 and above would encode a UTF-16 surrogate (U+D800-U+DFFF).
                    remaining = 2
                    upper = 0x9F
                case 0xF0:
                    // Below 90 would be an overlong encoding of a code point under U+10000.
                    remaining = 3
                    lower = 0x90
                case 0xF1...0xF3:
                    remaining = 3
                case 0xF4:
                    // 90 and above would encode a code point above U+10FFFF.
                    remaining = 3
                    upper = 0x8F
                default:
                    // 80-BF cannot start a sequence, C0-C1 only start overlong ones, F5-FF are unused.
                    self.failed = true
                    return false
                }
                // Common case: the whole sequence is in this piece, so check it here without going
                // around the loop once per byte.
                if index &+ Int(remaining) <= count {
                    let second = base.load(fromByteOffset: index, as: UInt8.self)
                    guard second >= lower && second <= upper else {
                        self.failed = true
                        return false
                    }
                    var continuation = 1
                    while continuation < Int(remaining) {
                        guard base.load(fromByteOffset: index &+ continuation, as: UInt8.self) & 0xC0 == 0x80 else {
                            self.failed = true
                            return false
                        }
                        continuation &+= 1
                    }
                    index &+= Int(remaining)
                    remaining = 0
                    lower = 0x80
                    upper = 0xBF
                }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                guard byte >= lower && byte <= upper else {
                    self.failed = true
                    return false
                }
                index &+= 1
                remaining &-= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        self.remaining = remaining
        self.lower = lower
        self.upper = upper
        return true
    }

    /// Whether `bytes` is a complete, valid UTF-8 text.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
