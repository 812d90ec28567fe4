/// SHA-1 (FIPS 180-4), only for the WebSocket handshake's `Sec-WebSocket-Accept` value.
///
/// SHA-1 is broken for collision resistance, but RFC 6455 uses it only to prove that the server read
/// the handshake; nothing here relies on it for security. Feed bytes with ``update(_:)``, then call
/// ``finalize()`` once.
struct SHA1 {
    /// The five chaining words h0-h4.
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0
    )
    /// Bytes of the current 64-byte block not yet compressed.
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// How many bytes of `block` are filled.
    private var blockCount = 0
    /// Total message length in bytes.
    private var totalLength: UInt64 = 0

    /// A hasher with nothing fed yet.
    init() {}

    /// The 20-byte digest of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA1()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The 20-byte digest of `bytes`.
    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Array(bytes).withUnsafeBytes { self.hash($0) }
    }

    /// Feeds the next bytes of the message.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var source = bytes.baseAddress else {
            return
        }
        var count = bytes.count
        self.totalLength &+= UInt64(count)
        var block = self.block
        var state = self.state
        withUnsafeMutableBytes(of: &block) { blockBytes in
            let blockBase = blockBytes.baseAddress.unsafelyUnwrapped
            while count > 0 {
                if self.blockCount == 0 && count >= 64 {
                    Self.compress(&state, source)
                    source += 64
                    count &-= 64
                    continue
                }
                let take = min(64 &- self.blockCount, count)
                (blockBase + self.blockCount).copyMemory(from: source, byteCount: take)
                self.blockCount &+= take
                source += take
                count &-= take
                if self.blockCount == 64 {
                    Self.compress(&state, UnsafeRawPointer(blockBase))
                    self.blockCount = 0
                }
            }
        }
        self.block = block
        self.state = state
    }

    /// Pads the message, compresses the last blocks and returns the 20-byte digest.
    mutating func finalize() -> [UInt8] {
        let bitLength = self.totalLength &* 8
        // Padding: one 1 bit, zeros up to 56 bytes mod 64, then the length as a 64-bit big-endian number.
        var padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        let zeroCount = (self.blockCount < 56 ? 55 : 119) &- self.blockCount
        let totalLength = self.totalLength
        withUnsafeMutableBytes(of: &padding) { raw in
            raw[0] = 0x80
            raw.storeBytes(of: bitLength.bigEndian, toByteOffset: 1 &+ zeroCount, as: UInt64.self)
            self.update(UnsafeRawBufferPointer(rebasing: raw[0..<(9 &+ zeroCount)]))
        }
        self.totalLength = totalLength
        var digest = [UInt8]()
        digest.reserveCapacity(20)
        for word in [self.state.0, self.state.1, self.state.2, self.state.3, self.state.4] {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return digest
    }

    /// Runs the compression function over one 64-byte block.
    private static func compress(
        _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32),
        _ block: UnsafeRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { schedule in
            for index in 0..<16 {
                schedule[index] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self))
            }
            for index in 16..<80 {
                let mixed = schedule[index &- 3] ^ schedule[index &- 8] ^ schedule[index &- 14] ^ schedule[index &- 16]
                schedule[index] = (mixed << 1) | (mixed >> 31)
            }
            var a = state.0
            var b = state.1
            var c = state.2
            var d = state.3
            var e = state.4
            for index in 0..<80 {
                let function: UInt32
                let constant: UInt32
                switch index {
                case 0..<20:
                    function = (b & c) | (~b & d)
                    constant = 0x5A82_7999
                case 20..<40:
                    function = b ^ c ^ d
                    constant = 0x6ED9_EBA1
                case 40..<60:
                    function = (b & c) | (b & d) | (c & d)
                    constant = 0x8F1B_BCDC
                default:
                    function = b ^ c ^ d
                    constant = 0xCA62_C1D6
                }
                let temporary = ((a << 5) | (a >> 27)) &+ function &+ e &+ constant &+ schedule[index]
                e = d
                d = c
                c = (b << 30) | (b >> 2)
                b = a
                a = temporary
            }
            state.0 &+= a
            state.1 &+= b
            state.2 &+= c
            state.3 &+= d
            state.4 &+= e
        }
    }
}
