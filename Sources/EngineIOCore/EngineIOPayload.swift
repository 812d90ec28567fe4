public import IOCore

/// The HTTP long-polling payload of Engine.IO v4: packets joined by the record separator 0x1E, each a
/// type digit and its text, or `b` and the base64 of a binary message. Used in both directions.
///
/// Decoding follows the reference server: the body is split on every separator and each piece is
/// decoded on its own, so an empty piece (empty body, leading, trailing or doubled separator) is an
/// invalid packet, as is a piece that starts with anything but `0`-`6` or `b`. The reference handles
/// the packets before the first invalid one and then closes the session ("parse error");
/// ``decodeUntilError(_:maxPackets:)`` gives exactly that, ``decode(_:maxPackets:)`` all or nothing.
public enum EngineIOPayload {
    /// The byte between two packets (ASCII record separator).
    public static let separator: UInt8 = 0x1E

    /// The packets before the first invalid one, and the error that stopped decoding if any.
    public struct PartialDecoding: Hashable, Sendable {
        /// The packets decoded, in order.
        public var packets: [EngineIOPacket]
        /// Why decoding stopped early; nil when every packet was valid.
        public var error: EngineIODecodeError?

        /// A result with `packets` and `error`.
        public init(packets: [EngineIOPacket], error: EngineIODecodeError?) {
            self.packets = packets
            self.error = error
        }
    }

    /// Decodes a whole payload, all or nothing.
    ///
    /// - Parameters:
    ///   - bytes: the POST body (or GET response body).
    ///   - maxPackets: the most packets accepted. The body size limit (`maxHttpBufferSize`) already
    ///     bounds this, but one-byte packets would make each body byte cost a packet value; note that
    ///     clients legitimately batch every queued packet into one POST.
    /// - Throws: ``EngineIODecodeError`` for the first invalid packet, or
    ///   ``EngineIODecodeError/tooManyPackets`` before decoding anything.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        maxPackets: Int
    ) throws(EngineIODecodeError) -> [EngineIOPacket] {
        let count = self.packetCount(bytes)
        guard count <= maxPackets else {
            throw .tooManyPackets
        }
        var packets: [EngineIOPacket] = []
        packets.reserveCapacity(count)
        var iterator = Iterator(bytes)
        while let packet = try iterator.next() {
            packets.append(packet)
        }
        return packets
    }

    /// Decodes a whole payload held in a buffer, all or nothing; see
    /// ``decode(_:maxPackets:)-(UnsafeRawBufferPointer,_)``.
    public static func decode(_ buffer: ByteBuffer, maxPackets: Int) throws(EngineIODecodeError) -> [EngineIOPacket] {
        try buffer.withUnsafeReadableBytes { bytes throws(EngineIODecodeError) in
            try self.decode(bytes, maxPackets: maxPackets)
        }
    }

    /// Decodes packets up to the first invalid one, as the reference server handles a POST body.
    ///
    /// - Parameters:
    ///   - maxPackets: the most packets decoded; a further packet stops decoding with
    ///     ``EngineIODecodeError/tooManyPackets``.
    public static func decodeUntilError(_ bytes: UnsafeRawBufferPointer, maxPackets: Int) -> PartialDecoding {
        var packets: [EngineIOPacket] = []
        var iterator = Iterator(bytes)
        do throws(EngineIODecodeError) {
            while let packet = try iterator.next() {
                guard packets.count < maxPackets else {
                    throw .tooManyPackets
                }
                packets.append(packet)
            }
            return PartialDecoding(packets: packets, error: nil)
        } catch {
            return PartialDecoding(packets: packets, error: error)
        }
    }

    /// Decodes packets of a buffered payload up to the first invalid one; see
    /// ``decodeUntilError(_:maxPackets:)-(UnsafeRawBufferPointer,_)``.
    public static func decodeUntilError(_ buffer: ByteBuffer, maxPackets: Int) -> PartialDecoding {
        buffer.withUnsafeReadableBytes { self.decodeUntilError($0, maxPackets: maxPackets) }
    }

    /// How many packets a payload splits into: one more than its separators (an empty payload is one
    /// empty, invalid packet).
    public static func packetCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = 1
        for byte in bytes where byte == self.separator {
            count &+= 1
        }
        return count
    }

    /// Appends `packets` as one payload (a GET response body): separators between them, binary
    /// messages as `b<base64>`. Nothing is written for an empty collection.
    @inlinable
    public static func encode(packets: some Sequence<EngineIOPacket>, into buffer: inout ByteBuffer) {
        var first = true
        for packet in packets {
            if !first {
                buffer.writeByte(self.separator)
            }
            first = false
            packet.encodeForPolling(into: &buffer)
        }
    }

    /// Walks a payload one packet at a time, copying each packet's data out of the payload.
    ///
    /// The pointer must stay valid while the iterator is used.
    public struct Iterator {
        /// The payload.
        @usableFromInline let bytes: UnsafeRawBufferPointer
        /// Where the next packet starts; past the end once the last packet was returned.
        @usableFromInline var offset: Int

        /// An iterator at the first packet of `bytes`.
        @inlinable
        public init(_ bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
            self.offset = 0
        }

        /// The next packet, or nil after the last one.
        ///
        /// - Throws: ``EngineIODecodeError`` for an invalid packet; iteration then ends.
        public mutating func next() throws(EngineIODecodeError) -> EngineIOPacket? {
            let count = self.bytes.count
            guard self.offset <= count else {
                return nil
            }
            let start = self.offset
            var end = start
            while end < count && self.bytes[end] != EngineIOPayload.separator {
                end &+= 1
            }
            // Past the separator; past the end (count + 1) after the last packet.
            self.offset = end &+ 1
            do throws(EngineIODecodeError) {
                return try EngineIOPacket.decode(text: UnsafeRawBufferPointer(rebasing: self.bytes[start..<end]))
            } catch {
                self.offset = count &+ 1
                throw error
            }
        }
    }
}

@available(*, unavailable)
extension EngineIOPayload.Iterator: Sendable {}
