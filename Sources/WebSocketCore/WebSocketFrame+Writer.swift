public import IOCore

extension WebSocketFrame {
    /// The largest close reason that fits in a control frame: 125 bytes less the two-byte code.
    public static let maxCloseReasonLength = 123

    /// How many header bytes a frame with `payloadLength` bytes needs: 2, 4 or 10, plus 4 when masked.
    @inlinable
    public static func headerLength(payloadLength: Int, masked: Bool) -> Int {
        let base = payloadLength <= 125 ? 2 : (payloadLength <= 0xFFFF ? 4 : 10)
        return masked ? base &+ 4 : base
    }

    /// Appends one frame to `buffer`.
    ///
    /// A server writes frames unmasked (`maskingKey` nil); a client must mask every frame with a fresh
    /// key. The payload length uses the shortest encoding.
    ///
    /// - Parameters:
    ///   - opcode: The frame's opcode. Control frames must have `fin` set and at most 125 payload bytes;
    ///     breaking that is a bug in the caller and traps.
    ///   - fin: Whether this is the last fragment of its message.
    ///   - payload: The application data, unmasked.
    ///   - maskingKey: The key to mask the payload with, or nil for an unmasked frame.
    ///   - buffer: Where to append the frame.
    public static func write(
        opcode: WebSocketOpcode,
        fin: Bool = true,
        payload: UnsafeRawBufferPointer,
        maskingKey: WebSocketMaskingKey? = nil,
        into buffer: inout ByteBuffer
    ) {
        self.write(
            firstByte: (fin ? 0x80 : 0) | opcode.rawValue,
            payload: payload,
            maskingKey: maskingKey,
            into: &buffer
        )
    }

    /// Appends one frame to `buffer`, taking the payload from a buffer; see the pointer overload.
    public static func write(
        opcode: WebSocketOpcode,
        fin: Bool = true,
        payload: ByteBuffer,
        maskingKey: WebSocketMaskingKey? = nil,
        into buffer: inout ByteBuffer
    ) {
        payload.withUnsafeReadableBytes { raw in
            self.write(opcode: opcode, fin: fin, payload: raw, maskingKey: maskingKey, into: &buffer)
        }
    }

    /// Appends this frame, reserved bits included, to `buffer`.
    ///
    /// - Parameters:
    ///   - maskingKey: The key to mask the payload with, or nil for an unmasked frame.
    ///   - buffer: Where to append the frame.
    public func write(maskingKey: WebSocketMaskingKey? = nil, into buffer: inout ByteBuffer) {
        var first = self.opcode.rawValue
        if self.fin { first |= 0x80 }
        if self.rsv1 { first |= 0x40 }
        if self.rsv2 { first |= 0x20 }
        if self.rsv3 { first |= 0x10 }
        self.payload.withUnsafeReadableBytes { raw in
            Self.write(firstByte: first, payload: raw, maskingKey: maskingKey, into: &buffer)
        }
    }

    /// Appends a close frame to `buffer`.
    ///
    /// - Parameters:
    ///   - code: The status code, or nil for a close frame without a body. A code that may not be sent
    ///     (see ``WebSocketCloseCode/isValidOnWire``), such as 1005 or 1006, is also written as an
    ///     empty body, which is how RFC 6455 says "no code".
    ///   - reason: Why, for people reading logs. It is cut to ``maxCloseReasonLength`` bytes at a
    ///     character boundary, and dropped when there is no code.
    ///   - maskingKey: The key to mask the payload with (clients), or nil (servers).
    ///   - buffer: Where to append the frame.
    public static func writeClose(
        code: WebSocketCloseCode?,
        reason: String = "",
        maskingKey: WebSocketMaskingKey? = nil,
        into buffer: inout ByteBuffer
    ) {
        guard let code, code.isValidOnWire else {
            self.write(
                opcode: .close,
                payload: UnsafeRawBufferPointer(start: nil, count: 0),
                maskingKey: maskingKey,
                into: &buffer
            )
            return
        }
        var reason = reason
        reason.withUTF8 { utf8 in
            var length = min(utf8.count, Self.maxCloseReasonLength)
            // Back up over continuation bytes (10xxxxxx) so that no code point is cut in half.
            while length < utf8.count && length > 0 && utf8[length] & 0xC0 == 0x80 {
                length &-= 1
            }
            withUnsafeTemporaryAllocation(byteCount: 2 &+ length, alignment: 1) { body in
                body[0] = UInt8(truncatingIfNeeded: code.rawValue >> 8)
                body[1] = UInt8(truncatingIfNeeded: code.rawValue)
                if length > 0 {
                    (body.baseAddress.unsafelyUnwrapped + 2).copyMemory(
                        from: UnsafeRawPointer(utf8.baseAddress.unsafelyUnwrapped),
                        byteCount: length
                    )
                }
                self.write(opcode: .close, payload: UnsafeRawBufferPointer(body), maskingKey: maskingKey, into: &buffer)
            }
        }
    }

    /// Appends only the header of an unmasked (server) frame whose `payloadLength` payload bytes the caller
    /// appends next, possibly in several pieces: a prefix byte and a shared, pre-encoded body, for example,
    /// without first copying them together.
    public static func writeHeader(
        opcode: WebSocketOpcode,
        fin: Bool = true,
        payloadLength: Int,
        into buffer: inout ByteBuffer
    ) {
        self.writeHeader(firstByte: (fin ? 0x80 : 0) | opcode.rawValue, count: payloadLength, maskingKey: nil, into: &buffer)
    }

    /// Appends a header with `firstByte` (FIN, RSV bits, opcode), then the payload, masked if asked.
    private static func write(
        firstByte: UInt8,
        payload: UnsafeRawBufferPointer,
        maskingKey: WebSocketMaskingKey?,
        into buffer: inout ByteBuffer
    ) {
        let count = payload.count
        self.writeHeader(firstByte: firstByte, count: count, maskingKey: maskingKey, into: &buffer)
        guard count > 0 else {
            return
        }
        if let maskingKey {
            let source = payload.baseAddress.unsafelyUnwrapped
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
                webSocketApplyMask(
                    key: maskingKey.rawValue,
                    phase: 0,
                    source: source,
                    destination: destination.baseAddress.unsafelyUnwrapped,
                    count: count
                )
                return count
            }
        } else {
            buffer.writeBytes(payload)
        }
    }

    /// Appends a frame header (at most 14 bytes) for `count` payload bytes.
    private static func writeHeader(
        firstByte: UInt8,
        count: Int,
        maskingKey: WebSocketMaskingKey?,
        into buffer: inout ByteBuffer
    ) {
        precondition(
            firstByte & 0x08 == 0 || (count <= 125 && firstByte & 0x80 != 0),
            "control frames must be final and carry at most 125 bytes"
        )
        // Build the header (at most 14 bytes) on the stack and append it in one call.
        var header: (UInt64, UInt64) = (0, 0)
        let headerLength = withUnsafeMutableBytes(of: &header) { raw in
            raw[0] = firstByte
            let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
            var length: Int
            if count <= 125 {
                raw[1] = maskBit | UInt8(truncatingIfNeeded: count)
                length = 2
            } else if count <= 0xFFFF {
                raw[1] = maskBit | 126
                raw.storeBytes(of: UInt16(truncatingIfNeeded: count).bigEndian, toByteOffset: 2, as: UInt16.self)
                length = 4
            } else {
                raw[1] = maskBit | 127
                raw.storeBytes(of: UInt64(truncatingIfNeeded: count).bigEndian, toByteOffset: 2, as: UInt64.self)
                length = 10
            }
            if let maskingKey {
                raw.storeBytes(of: maskingKey.rawValue.bigEndian, toByteOffset: length, as: UInt32.self)
                length &+= 4
            }
            return length
        }
        withUnsafeBytes(of: &header) { raw in
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<headerLength]))
        }
    }
}
