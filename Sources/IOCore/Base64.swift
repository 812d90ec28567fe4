/// Base64 with the standard alphabet and `=` padding (RFC 4648 section 4), table driven.
///
/// Decoding is strict, as befits input from the network: no whitespace or line breaks, no missing or
/// extra padding, no `=` before the end, and the unused bits of the last character must be zero, so
/// that every byte string has exactly one accepted encoding.
public enum Base64 {
    /// The 64 characters, indexed by 6-bit value.
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The value of each byte as a base64 character, or `invalid`.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: Base64.invalid, count: 256)
        for (index, character) in Base64.alphabet.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        return table
    }()

    /// Marks a byte that is not in the alphabet. Its top bits are set, so OR-ing the values of a group
    /// and testing those bits checks four characters with one branch.
    private static let invalid: UInt8 = 0xFF

    /// How many characters `count` bytes encode to, padding included.
    @inlinable
    public static func encodedLength(of count: Int) -> Int {
        ((count &+ 2) / 3) &* 4
    }

    /// Encodes `bytes` as base64 text.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let length = self.encodedLength(of: bytes.count)
        return String(unsafeUninitializedCapacity: length) { destination in
            self.encode(bytes, into: UnsafeMutableRawBufferPointer(destination))
            return length
        }
    }

    /// Encodes `bytes` as base64 text.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let result = bytes.withContiguousStorageIfAvailable({ self.encode(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { self.encode($0) }
    }

    /// Appends the base64 encoding of `bytes` to `buffer`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let length = self.encodedLength(of: bytes.count)
        guard length > 0 else {
            return
        }
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { destination in
            self.encode(bytes, into: destination)
            return length
        }
    }

    /// Decodes strict base64 text.
    ///
    /// - Returns: The bytes, or nil if `text` is not canonical base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { self.decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes strict base64 from the bytes of its text.
    ///
    /// - Returns: The bytes, or nil if `encoded` is not canonical base64.
    public static func decode(_ encoded: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let length = self.decodedLength(of: encoded) else {
            return nil
        }
        var valid = true
        let result = [UInt8](unsafeUninitializedCapacity: length) { destination, initialized in
            valid = self.decode(encoded, into: UnsafeMutableRawBufferPointer(destination), length: length)
            initialized = length
        }
        return valid ? result : nil
    }

    /// Appends the bytes that strict base64 `encoded` stands for to `buffer`.
    ///
    /// - Returns: Whether `encoded` was canonical base64; when it was not, `buffer` is unchanged.
    public static func decode(_ encoded: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) -> Bool {
        guard let length = self.decodedLength(of: encoded) else {
            return false
        }
        guard length > 0 else {
            return true
        }
        var valid = true
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { destination in
            valid = self.decode(encoded, into: destination, length: length)
            return valid ? length : 0
        }
        return valid
    }

    /// The decoded length implied by the text's length and padding, or nil when the length is not a
    /// multiple of four. The characters themselves are checked while decoding.
    private static func decodedLength(of encoded: UnsafeRawBufferPointer) -> Int? {
        let count = encoded.count
        guard count & 3 == 0 else {
            return nil
        }
        guard count > 0 else {
            return 0
        }
        var padding = 0
        if encoded[count &- 1] == UInt8(ascii: "=") {
            padding = encoded[count &- 2] == UInt8(ascii: "=") ? 2 : 1
        }
        return (count / 4) &* 3 &- padding
    }

    /// Encodes into exactly ``encodedLength(of:)`` bytes at `destination`.
    private static func encode(_ bytes: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        let count = bytes.count
        guard count > 0 else {
            return
        }
        let source = bytes.baseAddress.unsafelyUnwrapped
        let target = destination.baseAddress.unsafelyUnwrapped
        self.alphabet.withUnsafeBufferPointer { alphabet in
            var input = 0
            var output = 0
            while input &+ 3 <= count {
                let group =
                    UInt32(source.load(fromByteOffset: input, as: UInt8.self)) << 16
                    | UInt32(source.load(fromByteOffset: input &+ 1, as: UInt8.self)) << 8
                    | UInt32(source.load(fromByteOffset: input &+ 2, as: UInt8.self))
                target.storeBytes(of: alphabet[Int(group >> 18)], toByteOffset: output, as: UInt8.self)
                target.storeBytes(of: alphabet[Int((group >> 12) & 63)], toByteOffset: output &+ 1, as: UInt8.self)
                target.storeBytes(of: alphabet[Int((group >> 6) & 63)], toByteOffset: output &+ 2, as: UInt8.self)
                target.storeBytes(of: alphabet[Int(group & 63)], toByteOffset: output &+ 3, as: UInt8.self)
                input &+= 3
                output &+= 4
            }
            let rest = count &- input
            guard rest > 0 else {
                return
            }
            var group = UInt32(source.load(fromByteOffset: input, as: UInt8.self)) << 16
            if rest == 2 {
                group |= UInt32(source.load(fromByteOffset: input &+ 1, as: UInt8.self)) << 8
            }
            target.storeBytes(of: alphabet[Int(group >> 18)], toByteOffset: output, as: UInt8.self)
            target.storeBytes(of: alphabet[Int((group >> 12) & 63)], toByteOffset: output &+ 1, as: UInt8.self)
            let third = rest == 2 ? alphabet[Int((group >> 6) & 63)] : UInt8(ascii: "=")
            target.storeBytes(of: third, toByteOffset: output &+ 2, as: UInt8.self)
            target.storeBytes(of: UInt8(ascii: "="), toByteOffset: output &+ 3, as: UInt8.self)
        }
    }

    /// Decodes `encoded` (a non-empty multiple of four characters) into exactly `length` bytes.
    ///
    /// - Returns: Whether every character was valid, padding appeared only at the end, and the unused
    ///   bits of the last character were zero. On false, `destination` holds garbage.
    private static func decode(
        _ encoded: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer,
        length: Int
    ) -> Bool {
        let count = encoded.count
        guard count > 0 else {
            return true
        }
        let source = encoded.baseAddress.unsafelyUnwrapped
        let target = destination.baseAddress.unsafelyUnwrapped
        return self.values.withUnsafeBufferPointer { values in
            // Every group but the last has no padding; `=` maps to `invalid` there like any stray byte.
            var errors: UInt8 = 0
            var input = 0
            var output = 0
            let lastGroup = count &- 4
            while input < lastGroup {
                let a = values[Int(source.load(fromByteOffset: input, as: UInt8.self))]
                let b = values[Int(source.load(fromByteOffset: input &+ 1, as: UInt8.self))]
                let c = values[Int(source.load(fromByteOffset: input &+ 2, as: UInt8.self))]
                let d = values[Int(source.load(fromByteOffset: input &+ 3, as: UInt8.self))]
                errors |= a | b | c | d
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                target.storeBytes(of: UInt8(truncatingIfNeeded: group >> 16), toByteOffset: output, as: UInt8.self)
                target.storeBytes(of: UInt8(truncatingIfNeeded: group >> 8), toByteOffset: output &+ 1, as: UInt8.self)
                target.storeBytes(of: UInt8(truncatingIfNeeded: group), toByteOffset: output &+ 2, as: UInt8.self)
                input &+= 4
                output &+= 3
            }
            if errors & 0xC0 != 0 {
                return false
            }
            // The last group: 1, 2 or 3 bytes, by its padding (already counted into `length`).
            let bytesLeft = length &- output
            let a = values[Int(source.load(fromByteOffset: input, as: UInt8.self))]
            let b = values[Int(source.load(fromByteOffset: input &+ 1, as: UInt8.self))]
            let third = source.load(fromByteOffset: input &+ 2, as: UInt8.self)
            let fourth = source.load(fromByteOffset: input &+ 3, as: UInt8.self)
            let c = bytesLeft >= 2 ? values[Int(third)] : (third == UInt8(ascii: "=") ? 0 : Self.invalid)
            let d = bytesLeft == 3 ? values[Int(fourth)] : 0
            if (a | b | c | d) & 0xC0 != 0 {
                return false
            }
            let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            // Canonical form: the bits below the last byte written must be zero.
            switch bytesLeft {
            case 1:
                guard group & 0xFFFF == 0 else { return false }
            case 2:
                guard group & 0xFF == 0 else { return false }
            default:
                break
            }
            target.storeBytes(of: UInt8(truncatingIfNeeded: group >> 16), toByteOffset: output, as: UInt8.self)
            if bytesLeft >= 2 {
                target.storeBytes(of: UInt8(truncatingIfNeeded: group >> 8), toByteOffset: output &+ 1, as: UInt8.self)
            }
            if bytesLeft == 3 {
                target.storeBytes(of: UInt8(truncatingIfNeeded: group), toByteOffset: output &+ 2, as: UInt8.self)
            }
            return true
        }
    }
}
