/// Byte constants and character classes of the HTTP grammar (RFC 9110 §5.6, RFC 9112, RFC 3986).
///
/// Classes are 128-bit masks tested with a shift, so a check is a few instructions with no table
/// load and no lazy global initialisation on the per-byte path.
enum HTTPBytes {
    static let carriageReturn: UInt8 = 0x0D
    static let lineFeed: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let horizontalTab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let percent: UInt8 = 0x25
    static let plus: UInt8 = 0x2B
    static let slash: UInt8 = 0x2F
    static let questionMark: UInt8 = 0x3F

    /// Whether `byte` is in the ASCII set given by the two halves of a 128-bit mask.
    @inline(__always)
    static func isMember(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        if byte < 64 { return (low >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (high >> UInt64(byte &- 64)) & 1 == 1 }
        return false
    }

    /// `tchar`: the bytes of a token (method, field name, transfer coding, chunk extension).
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        self.isMember(byte, low: 0x03ff_6cfa_0000_0000, high: 0x57ff_ffff_c7ff_fffe)
    }

    /// The bytes of a Host value: unreserved, sub-delims, `%`, `:` and the IP-literal brackets.
    @inline(__always)
    static func isHostCharacter(_ byte: UInt8) -> Bool {
        self.isMember(byte, low: 0x2fff_7ff2_0000_0000, high: 0x47ff_fffe_afff_fffe)
    }

    /// RFC 3986 `unreserved`: the bytes percent-encoding leaves as they are.
    @inline(__always)
    static func isUnreservedCharacter(_ byte: UInt8) -> Bool {
        self.isMember(byte, low: 0x03ff_6000_0000_0000, high: 0x47ff_fffe_87ff_fffe)
    }

    /// `field-vchar / SP / HTAB`: a byte allowed inside a field value (obs-text included).
    @inline(__always)
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == 0x09
    }

    /// `VCHAR`: a visible ASCII byte, the bytes a request target may contain.
    @inline(__always)
    static func isVisibleASCII(_ byte: UInt8) -> Bool {
        byte &- 0x21 < 0x5E
    }

    /// The index of the first byte in `start..<end` that is not a field value character, or `end`.
    ///
    /// Checks eight bytes per step (a value is most of a head's bytes): a word with no byte below
    /// 0x20 and no 0x7F is all valid; any other word is checked byte by byte, since HTAB is valid.
    @inline(__always)
    static func firstInvalidFieldValueByte(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        while end &- index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if self.hasByteBelow0x20(word) || self.hasByte0x7F(word) { break }
            index &+= 8
        }
        while index < end && self.isFieldValueCharacter(base[index]) { index &+= 1 }
        return index
    }

    /// The index of the first byte in `start..<end` that is not visible ASCII (0x21...0x7E), or `end`;
    /// eight bytes per step, as ``firstInvalidFieldValueByte(_:from:to:)``.
    @inline(__always)
    static func firstNonVisibleASCII(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        while end &- index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // Bytes below 0x21: subtracting 0x21 borrows into the high bit of a byte that was ASCII.
            let below = (word &- 0x2121_2121_2121_2121) & ~word & 0x8080_8080_8080_8080
            if below != 0 || word & 0x8080_8080_8080_8080 != 0 || self.hasByte0x7F(word) { break }
            index &+= 8
        }
        while index < end && self.isVisibleASCII(base[index]) { index &+= 1 }
        return index
    }

    /// Whether some byte of `word` is below 0x20 (bytes 0x80 and up never count).
    @inline(__always)
    static func hasByteBelow0x20(_ word: UInt64) -> Bool {
        (word &- 0x2020_2020_2020_2020) & ~word & 0x8080_8080_8080_8080 != 0
    }

    /// Whether some byte of `word` is 0x7F (DEL).
    @inline(__always)
    static func hasByte0x7F(_ word: UInt64) -> Bool {
        let flipped = word ^ 0x7F7F_7F7F_7F7F_7F7F
        return (flipped &- 0x0101_0101_0101_0101) & ~flipped & 0x8080_8080_8080_8080 != 0
    }

    /// SP or HTAB.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }

    /// The ASCII lowercase of `byte`; other bytes unchanged.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte &- 0x30)
        case 0x41...0x46: Int(byte &- 0x37)
        case 0x61...0x66: Int(byte &- 0x57)
        default: nil
        }
    }

    /// The lowercase hexadecimal digit for a value in 0..<16.
    @inline(__always)
    static func hexDigit(_ value: Int) -> UInt8 {
        value < 10 ? UInt8(truncatingIfNeeded: value) &+ 0x30 : UInt8(truncatingIfNeeded: value) &+ 0x57
    }

    /// The uppercase hexadecimal digit for a value in 0..<16 (RFC 3986 §2.1 prefers uppercase escapes).
    @inline(__always)
    static func uppercaseHexDigit(_ value: Int) -> UInt8 {
        value < 10 ? UInt8(truncatingIfNeeded: value) &+ 0x30 : UInt8(truncatingIfNeeded: value) &+ 0x37
    }

    /// Whether `count` bytes at `pointer` equal `literal` ignoring ASCII case; `literal` is lowercase.
    static func equalsCaseInsensitive(
        _ pointer: UnsafePointer<UInt8>,
        _ count: Int,
        lowercase literal: StaticString
    )
        -> Bool
    {
        guard count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        var index = 0
        while index < count {
            if self.lowercased(pointer[index]) != expected[index] { return false }
            index &+= 1
        }
        return true
    }

    /// Whether two byte ranges are equal ignoring ASCII case.
    static func equalsCaseInsensitive(
        _ left: UnsafePointer<UInt8>,
        _ leftCount: Int,
        _ right: UnsafePointer<UInt8>,
        _ rightCount: Int
    ) -> Bool {
        guard leftCount == rightCount else { return false }
        var index = 0
        while index < leftCount {
            if self.lowercased(left[index]) != self.lowercased(right[index]) { return false }
            index &+= 1
        }
        return true
    }

    /// Whether `count` bytes at `pointer` equal `literal` exactly.
    static func equals(_ pointer: UnsafePointer<UInt8>, _ count: Int, _ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        var index = 0
        while index < count {
            if pointer[index] != expected[index] { return false }
            index &+= 1
        }
        return true
    }
}
