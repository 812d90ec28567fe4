import Testing
@testable import WebSocketCore

@Suite struct WebSocketHandshakeTests {
    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "a49b2446a02c645bf419f995b67091253a04a259"
        ),
    ])
    func sha1_forFIPSVectors_matches(input: String, expected: String) {
        #expect(self.hex(SHA1.hash(Array(input.utf8))) == expected)
    }

    @Test func sha1_forAMillionAs_matchesTheFIPSVector() {
        var hasher = SHA1()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        #expect(self.hex(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test(arguments: [
        (55, "ddf57317ef34bfee3b6df83d359098930eb278bc"),
        (56, "a0d492bb0fc889d0eca3bc137066ab6f4f74f369"),
        (63, "c55856749bef509bdfe6bfebfc7bf4e793e82132"),
        (64, "bede92be29c3874e1b54ddc77988d606fc857a8e"),
        (65, "b05a80522b053d6dc7e0a517d0e70212c7dad11f"),
        (119, "504e27376a6e0f0dba8295b85cb25dc4dfa17d23"),
        (120, "82134b02fb3f702491be9bed581eeab59334acb2"),
        (1000, "4231a8a50a10fa9758db8ec71fdef855b751048a"),
    ])
    func sha1_whenLengthIsNearABlockBoundary_matchesAndIsIndependentOfSplits(length: Int, expected: String) {
        // Expected values from Python's hashlib for bytes (i * 7 + 3) & 255.
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        #expect(self.hex(SHA1.hash(bytes)) == expected)
        for split in [0, 1, 31, 63, 64, 65, length / 2, length] where split <= length {
            var hasher = SHA1()
            bytes.withUnsafeBytes { raw in
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[..<split]))
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[split...]))
            }
            #expect(self.hex(hasher.finalize()) == expected, "split at \(split)")
        }
    }

    @Test func acceptValue_forTheRFCSampleKey_matchesTheRFC() {
        // RFC 6455 sections 1.3 and 4.2.2; also what Python's hashlib and base64 give.
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func acceptValue_forAnotherKey_matchesAnIndependentComputation() {
        // Python: base64(sha1(key + GUID)) for key "x3JJHMbDL1EzLkh9GBhXDw==".
        #expect(WebSocketHandshake.acceptValue(forKey: "x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
    }

    @Test func isValidKey_whenKeyDecodesToSixteenBytes_returnsTrue() {
        #expect(WebSocketHandshake.isValidKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(WebSocketHandshake.isValidKey("AAAAAAAAAAAAAAAAAAAAAA=="))
        #expect(WebSocketHandshake.isValidKey("/////////////////////w=="))
    }

    @Test(arguments: [
        "",  // empty
        "dGhlIHNhbXBsZSBub25jZQ",  // padding missing
        "dGhlIHNhbXBsZSBub25jZQ=",  // padding short
        "dGhlIHNhbXBsZSBub25jZR==",  // non-zero unused bits
        "dGhlIHNhbXBsZSBub25j",  // 15 bytes
        "dGhlIHNhbXBsZSBub25jZQAA",  // 18 bytes
        "dGhlIHNhbXBsZSBub25jZXM=",  // 17 bytes
        "dGhlIHNhbXBsZSBub25jZQ== ",  // trailing space
        " dGhlIHNhbXBsZSBub25jZQ==",  // leading space
        "dGhlIHNhbXBsZSBub25j-Q==",  // URL-safe alphabet
        "dGhlIHNhbXBsZSBub25jZQ=A",  // padding then data
    ])
    func isValidKey_whenKeyIsMalformed_returnsFalse(key: String) {
        #expect(!WebSocketHandshake.isValidKey(key))
    }
}
