import IOCore
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func encodeAndDecode_forRFC4648Vectors_match(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
        var buffer = ByteBuffer(string: "prefix:")
        Array(plain.utf8).withUnsafeBytes { Base64.encode($0, into: &buffer) }
        #expect(buffer.readableBytesArray == Array("prefix:\(encoded)".utf8))
        #expect(Base64.encodedLength(of: plain.utf8.count) == encoded.utf8.count)
    }

    @Test func encode_whenInputHasEveryByteValue_usesTheWholeAlphabetAndRoundTrips() {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64.encode(bytes)
        #expect(encoded.hasPrefix("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7"))
        #expect(encoded.hasSuffix("8PHy8/T19vf4+fr7/P3+/w=="))
        #expect(Base64.decode(encoded) == bytes)
    }

    /// A slow bit-by-bit encoder, independent of the table-driven one under test.
    func referenceEncode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var bits: [Bool] = bytes.flatMap { byte in (0..<8).map { byte & (0x80 >> $0) != 0 } }
        while bits.count % 6 != 0 { bits.append(false) }
        var result = ""
        for start in stride(from: 0, to: bits.count, by: 6) {
            let value = bits[start..<start + 6].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
            result.append(alphabet[value])
        }
        while result.count % 4 != 0 { result.append("=") }
        return result
    }

    @Test func encodeThenDecode_forEveryLengthUpTo300_roundTrips() {
        for length in 0...300 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ length) }
            let encoded = Base64.encode(bytes)
            #expect(encoded == self.referenceEncode(bytes), "length \(length)")
            #expect(encoded.utf8.count == Base64.encodedLength(of: length))
            #expect(Base64.decode(encoded) == bytes, "length \(length)")
            var buffer = ByteBuffer()
            let valid = Array(encoded.utf8).withUnsafeBytes { Base64.decode($0, into: &buffer) }
            #expect(valid)
            #expect(buffer.readableBytesArray == bytes)
        }
    }

    @Test(arguments: [
        "Z",  // length not a multiple of four
        "Zg",
        "Zg=",
        "Zm9vY",
        "Zm9v\n",  // line break
        "Zm9v Zg==",  // space
        "Zg==Zg==",  // padding in the middle
        "Z===",  // too much padding
        "====",
        "=Zg=",
        "Zg=a",  // data after padding
        "Zh==",  // non-zero unused bits, one byte
        "Zm9=",  // non-zero unused bits, two bytes
        "Zm-v",  // URL-safe alphabet
        "Zm_v",
        "Zm9v\u{00E9}A==",  // non-ASCII
        "Zm9v\0AAA",  // NUL
    ])
    func decode_whenTextIsNotCanonicalBase64_returnsNilAndLeavesTheBufferAlone(text: String) {
        #expect(Base64.decode(text) == nil)
        var buffer = ByteBuffer(string: "kept")
        let valid = Array(text.utf8).withUnsafeBytes { Base64.decode($0, into: &buffer) }
        #expect(!valid)
        #expect(buffer.readableBytesArray == Array("kept".utf8))
    }

    @Test func decode_forEveryByteAsASingleCharacter_acceptsOnlyTheAlphabet() {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for byte in 0...255 {
            // "AAA?" decodes to three bytes only when '?' is in the alphabet.
            let text: [UInt8] = [0x41, 0x41, 0x41, UInt8(byte)]
            let decoded = text.withUnsafeBytes { Base64.decode($0) }
            let expected = alphabet.contains(UInt8(byte)) || byte == UInt8(ascii: "=")
            #expect((decoded != nil) == expected, "byte \(byte)")
        }
    }
}
