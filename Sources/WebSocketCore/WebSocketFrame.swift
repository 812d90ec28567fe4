public import IOCore

/// One WebSocket frame (RFC 6455 section 5.2) with its payload already unmasked.
///
/// The parser produces frames with the reserved bits clear, because this server negotiates no
/// extensions; the fields exist so that writers and tests can express any frame.
public struct WebSocketFrame: Sendable, Hashable {
    /// Whether this is the final fragment of its message (always true for control frames).
    public var fin: Bool
    /// The first reserved bit (used by permessage-deflate, which is not negotiated).
    public var rsv1: Bool
    /// The second reserved bit.
    public var rsv2: Bool
    /// The third reserved bit.
    public var rsv3: Bool
    /// What the frame carries.
    public var opcode: WebSocketOpcode
    /// The application data, unmasked.
    public var payload: ByteBuffer

    /// A frame with the given fields; the reserved bits default to clear.
    @inlinable
    public init(
        fin: Bool = true,
        rsv1: Bool = false,
        rsv2: Bool = false,
        rsv3: Bool = false,
        opcode: WebSocketOpcode,
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.payload = payload
    }
}

/// The 4-byte key a client XORs over every payload byte it sends (RFC 6455 section 5.3).
///
/// Servers never mask; clients must mask every frame with a fresh, unpredictable key so that a
/// script cannot make the bytes on the wire look like another protocol to a proxy.
public struct WebSocketMaskingKey: RawRepresentable, Sendable, Hashable {
    /// The four key bytes read in wire order as a big-endian number: the first key byte is the most
    /// significant.
    public var rawValue: UInt32

    /// Wraps four key bytes read in wire order as a big-endian number.
    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The key whose bytes on the wire are `byte0`, `byte1`, `byte2`, `byte3`.
    @inlinable
    public init(_ byte0: UInt8, _ byte1: UInt8, _ byte2: UInt8, _ byte3: UInt8) {
        self.rawValue = UInt32(byte0) << 24 | UInt32(byte1) << 16 | UInt32(byte2) << 8 | UInt32(byte3)
    }

    /// The key made of exactly four bytes, or nil for any other count.
    @inlinable
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes {
            value = value << 8 | UInt32(byte)
        }
        self.rawValue = value
    }

    /// A key drawn from `generator`.
    @inlinable
    public static func random(using generator: inout some RandomNumberGenerator) -> WebSocketMaskingKey {
        WebSocketMaskingKey(rawValue: UInt32.random(in: .min ... .max, using: &generator))
    }

    /// A key drawn from the system's cryptographically secure generator, as RFC 6455 asks of clients.
    @inlinable
    public static func random() -> WebSocketMaskingKey {
        var generator = SystemRandomNumberGenerator()
        return self.random(using: &generator)
    }

    /// The key byte that masks payload byte `index`.
    @inlinable
    public func byte(at index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: self.rawValue >> (24 &- 8 &* UInt32(truncatingIfNeeded: index & 3)))
    }
}

/// XORs the masking key over `count` bytes (RFC 6455 section 5.3), eight bytes at a time.
///
/// - Parameters:
///   - key: The masking key, in ``WebSocketMaskingKey/rawValue`` form.
///   - phase: The index within the payload of the first byte, modulo 4, so that a payload unmasked in
///     pieces uses the right key byte for each piece.
///   - source: The bytes to mask or unmask.
///   - destination: Where to write the result; may be `source` itself.
///   - count: How many bytes to process.
@inline(__always)
func webSocketApplyMask(
    key: UInt32,
    phase: Int,
    source: UnsafeRawPointer,
    destination: UnsafeMutableRawPointer,
    count: Int
) {
    // Rotate the key so that the byte for `phase` comes first, then lay it out in memory order
    // twice: XOR with this word masks eight payload bytes at once on any byte order.
    let shift = UInt32(truncatingIfNeeded: phase & 3) &* 8
    let rotated = shift == 0 ? key : (key << shift) | (key >> (32 &- shift))
    let half = UInt64(rotated.bigEndian)
    let pattern = half | (half << 32)
    var index = 0
    while index &+ 16 <= count {
        let first = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        let second = source.loadUnaligned(fromByteOffset: index &+ 8, as: UInt64.self)
        destination.storeBytes(of: first ^ pattern, toByteOffset: index, as: UInt64.self)
        destination.storeBytes(of: second ^ pattern, toByteOffset: index &+ 8, as: UInt64.self)
        index &+= 16
    }
    if index &+ 8 <= count {
        let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        destination.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
        index &+= 8
    }
    // `index` is a multiple of 8 here, so the tail starts on the rotated key's first byte again.
    var keyIndex = 0
    while index < count {
        let keyByte = UInt8(truncatingIfNeeded: rotated >> (24 &- 8 &* UInt32(truncatingIfNeeded: keyIndex & 3)))
        let byte = source.load(fromByteOffset: index, as: UInt8.self)
        destination.storeBytes(of: byte ^ keyByte, toByteOffset: index, as: UInt8.self)
        index &+= 1
        keyIndex &+= 1
    }
}
