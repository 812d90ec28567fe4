/// Word-at-a-time (SWAR) tests over eight bytes, for the string scanners of the parser and writer.
///
/// Strings are most of a Socket.IO payload, and most of their bytes need no attention; testing eight
/// bytes per step is several times faster than a byte loop. Each test is exact about whether such a
/// byte is present (the classic `(x - 0x01..) & ~x & 0x80..` trick: a borrow can only start at a
/// byte that matches), so a word that passes can be skipped whole.
enum ByteScanning {
    /// 0x01 in every byte.
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    /// 0x80 in every byte.
    @usableFromInline static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether `word` holds a byte equal to `byte`.
    @inline(__always)
    static func contains(_ word: UInt64, byte: UInt8) -> Bool {
        let difference = word ^ (ByteScanning.ones &* UInt64(byte))
        return (difference &- ByteScanning.ones) & ~difference & ByteScanning.highBits != 0
    }

    /// Whether `word` holds a byte below `bound` (which must be at most 128).
    @inline(__always)
    static func containsByteBelow(_ word: UInt64, bound: UInt8) -> Bool {
        (word &- ByteScanning.ones &* UInt64(bound)) & ~word & ByteScanning.highBits != 0
    }

    /// Whether `word` holds a byte that ends a plain run inside a JSON string: `"`, `\` or a control
    /// character (below 0x20). The same set needs escaping on output.
    @inline(__always)
    static func containsStringSpecial(_ word: UInt64) -> Bool {
        let quote = word ^ (ByteScanning.ones &* 0x22)
        let backslash = word ^ (ByteScanning.ones &* 0x5C)
        let special =
            ((quote &- ByteScanning.ones) & ~quote)
            | ((backslash &- ByteScanning.ones) & ~backslash)
            | ((word &- ByteScanning.ones &* 0x20) & ~word)
        return special & ByteScanning.highBits != 0
    }

    /// Whether `byte` ends a plain run inside a JSON string (see ``containsStringSpecial(_:)``).
    @inline(__always)
    static func isStringSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C
    }

    /// The index of the first byte at or after `start` that is a string special, or `count`.
    @inline(__always)
    static func firstStringSpecial(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var index = start
        while true {
            while index &+ 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if ByteScanning.containsStringSpecial(word) { break }
                index &+= 8
            }
            // Fewer than eight bytes left, or a special byte within the next eight.
            let stop = min(index &+ 8, count)
            while index < stop {
                if ByteScanning.isStringSpecial(base[index]) { return index }
                index &+= 1
            }
            if index >= count { return count }
        }
    }

    /// Like ``firstStringSpecial(_:from:count:)``, and also says whether any byte on the way was
    /// non-ASCII (0x80 or above), so that the parser validates UTF-8 only for strings that need it.
    @inline(__always)
    static func scanString(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> (stop: Int, nonASCII: Bool) {
        var index = start
        var highBits: UInt64 = 0
        while true {
            while index &+ 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if ByteScanning.containsStringSpecial(word) { break }
                highBits |= word
                index &+= 8
            }
            let stop = min(index &+ 8, count)
            while index < stop {
                let byte = base[index]
                if ByteScanning.isStringSpecial(byte) {
                    return (index, highBits & ByteScanning.highBits != 0)
                }
                highBits |= UInt64(byte)
                index &+= 1
            }
            if index >= count { return (count, highBits & ByteScanning.highBits != 0) }
        }
    }

    /// The offset of the first byte that starts an ill-formed UTF-8 sequence (RFC 3629: no overlong
    /// forms, no surrogates, nothing above U+10FFFF, no truncated sequence), or nil when all is valid.
    /// Runs only over strings that hold non-ASCII bytes. (The standard library's
    /// `String(validating:as:)` is generic and unspecialized: it cost more than the rest of parsing a
    /// small Socket.IO event, mostly in metadata lookups.)
    static func firstInvalidUTF8(_ base: UnsafePointer<UInt8>, count: Int) -> Int? {
        @inline(__always) func isContinuation(_ index: Int) -> Bool {
            index < count && base[index] & 0xC0 == 0x80
        }
        @inline(__always) func inRange(_ index: Int, _ low: UInt8, _ high: UInt8) -> Bool {
            index < count && base[index] >= low && base[index] <= high
        }
        var index = 0
        while index < count {
            // Runs of ASCII go eight bytes at a time.
            while index &+ 8 <= count
                && UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & ByteScanning.highBits == 0
            {
                index &+= 8
            }
            guard index < count else { break }
            let lead = base[index]
            switch lead {
            case 0x00...0x7F:
                index += 1
            case 0xC2...0xDF:
                guard isContinuation(index + 1) else { return index }
                index += 2
            case 0xE0...0xEF:
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard inRange(index + 1, low, high), isContinuation(index + 2) else { return index }
                index += 3
            case 0xF0...0xF4:
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard inRange(index + 1, low, high), isContinuation(index + 2), isContinuation(index + 3) else {
                    return index
                }
                index += 4
            default:
                return index
            }
        }
        return nil
    }
}
