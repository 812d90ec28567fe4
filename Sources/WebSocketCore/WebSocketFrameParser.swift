import IOCore

/// Cuts WebSocket frames (RFC 6455 section 5.2) out of a byte stream and unmasks their payloads.
///
/// Feed it whatever bytes have arrived; it returns a frame as soon as one is complete and says how many
/// bytes it took. Input may be split anywhere: a partial header (at most 14 bytes) and a partial payload
/// (at most `maxFrameSize` bytes) are kept inside the parser until the rest arrives. A frame that is
/// entirely present in the input is unmasked straight into its payload buffer: one allocation, one pass.
///
/// The parser checks everything that can be judged from a single frame header: reserved bits (no
/// extensions are negotiated), opcode, control frame rules, the masking rule for its side, and the
/// payload length. Message-level rules live in ``WebSocketMessageAssembler``.
///
/// After it throws, the parser stays failed and throws the same error again: the connection must be
/// closed with the error's ``WebSocketProtocolError/closeCode``.
public struct WebSocketFrameParser: Sendable {
    /// The largest payload accepted in one frame; a larger announced length fails with 1009 before any
    /// payload byte is buffered.
    public let maxFrameSize: Int
    /// Whether frames must be masked (a server reading a client) or must not be (a client reading a server).
    public let requireMaskedFrames: Bool

    /// Header bytes received so far while a header is split across inputs; up to 14 are used.
    private var headerStorage: (UInt64, UInt64) = (0, 0)
    /// How many bytes of `headerStorage` are filled.
    private var headerCount = 0
    /// How long the current header is; 2 until its second byte is known.
    private var headerLength = 2

    /// Whether a header is complete and its payload is being received.
    private var isReadingPayload = false
    /// The current frame's FIN bit.
    private var frameFin = false
    /// The current frame's opcode.
    private var frameOpcode = WebSocketOpcode.continuation
    /// Whether the current frame is masked.
    private var frameMasked = false
    /// The current frame's masking key, in ``WebSocketMaskingKey/rawValue`` form.
    private var frameMaskingKey: UInt32 = 0
    /// Payload bytes of the current frame still to come.
    private var payloadRemaining = 0
    /// Payload bytes of the current frame already received (and unmasked) into `partialPayload`.
    private var partialPayload: [UInt8] = []

    /// The error thrown, if any; every later call throws it again.
    private var failure: WebSocketProtocolError?

    /// A parser for one connection.
    ///
    /// - Parameters:
    ///   - maxFrameSize: The largest payload accepted in one frame. Use at least 125 so that every
    ///     legal control frame fits.
    ///   - requireMaskedFrames: `true` on a server (an unmasked client frame is a protocol error),
    ///     `false` on a client (a masked server frame is a protocol error).
    public init(maxFrameSize: Int, requireMaskedFrames: Bool) {
        precondition(maxFrameSize >= 0, "maxFrameSize must not be negative")
        self.maxFrameSize = maxFrameSize
        self.requireMaskedFrames = requireMaskedFrames
    }

    /// Whether the parser holds part of a frame, so that the stream may not end here cleanly.
    public var hasPartialFrame: Bool { self.headerCount > 0 || self.isReadingPayload }

    /// Parses at most one frame from the front of `bytes`.
    ///
    /// Call it in a loop, dropping `consumed` bytes from the input each time, until the input is
    /// empty. When it returns no frame it has taken every byte offered (they are buffered inside).
    ///
    /// - Parameter bytes: The bytes received and not yet consumed.
    /// - Returns: The next complete frame, if one is complete, and how many bytes of `bytes` were
    ///   consumed: up to the end of that frame, or all of them.
    /// - Throws: ``WebSocketProtocolError`` when the stream breaks RFC 6455.
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer
    ) throws(WebSocketProtocolError) -> (frame: WebSocketFrame?, consumed: Int) {
        if let failure = self.failure {
            throw failure
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return (nil, 0)
        }
        let count = bytes.count
        var offset = 0

        if !self.isReadingPayload {
            if self.headerCount == 0 && count >= 2 {
                // Fast path: the header starts here, so read it in place when it is all present.
                let first = base.load(as: UInt8.self)
                let second = base.load(fromByteOffset: 1, as: UInt8.self)
                if let error = self.check(first: first, second: second) {
                    throw self.fail(error)
                }
                let length = Self.headerLength(second: second)
                if count < length {
                    self.storeHeaderBytes(UnsafeRawBufferPointer(start: base, count: count))
                    self.headerLength = length
                    return (nil, count)
                }
                if let error = self.beginPayload(header: base) {
                    throw self.fail(error)
                }
                offset = length
            } else {
                // Slow path: the header is split across inputs. Check each byte as it arrives so that
                // a bad header fails at the earliest byte, whatever the split.
                while offset < count && self.headerCount < self.headerLength {
                    let byte = base.load(fromByteOffset: offset, as: UInt8.self)
                    self.storeHeaderBytes(UnsafeRawBufferPointer(start: base + offset, count: 1))
                    offset &+= 1
                    if self.headerCount == 1 {
                        if let error = Self.check(first: byte) {
                            throw self.fail(error)
                        }
                    } else if self.headerCount == 2 {
                        let first = self.storedHeaderByte(0)
                        if let error = self.check(first: first, second: byte) {
                            throw self.fail(error)
                        }
                        self.headerLength = Self.headerLength(second: byte)
                    }
                }
                if self.headerCount < self.headerLength {
                    return (nil, offset)
                }
                var header = self.headerStorage
                let error = withUnsafeBytes(of: &header) { raw in
                    self.beginPayload(header: raw.baseAddress.unsafelyUnwrapped)
                }
                self.headerCount = 0
                self.headerLength = 2
                if let error {
                    throw self.fail(error)
                }
            }
            if self.payloadRemaining == 0 {
                return (self.finishFrame(payload: ByteBuffer()), offset)
            }
        }

        let available = count &- offset
        if available == 0 {
            return (nil, offset)
        }
        if self.partialPayload.isEmpty && available >= self.payloadRemaining {
            // The whole payload is here: copy and unmask it in one pass into a buffer of exact size.
            let length = self.payloadRemaining
            let source = base + offset
            let masked = self.frameMasked
            let key = self.frameMaskingKey
            let array = [UInt8](unsafeUninitializedCapacity: length) { destination, initialized in
                let target = UnsafeMutableRawPointer(destination.baseAddress.unsafelyUnwrapped)
                if masked {
                    webSocketApplyMask(key: key, phase: 0, source: source, destination: target, count: length)
                } else {
                    target.copyMemory(from: source, byteCount: length)
                }
                initialized = length
            }
            return (self.finishFrame(payload: ByteBuffer(bytes: array)), offset &+ length)
        }

        // Part of the payload: keep it, unmasked, until the rest arrives.
        let take = min(available, self.payloadRemaining)
        if self.partialPayload.capacity == 0 {
            // Reserve up to 64 KiB at once; beyond that grow with the data, so that a peer announcing
            // a large frame cannot make us allocate it before sending it.
            self.partialPayload.reserveCapacity(min(self.payloadRemaining, 65_536))
        }
        let start = self.partialPayload.count
        self.partialPayload.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: take))
        if self.frameMasked {
            let key = self.frameMaskingKey
            self.partialPayload.withUnsafeMutableBytes { raw in
                let pointer = raw.baseAddress.unsafelyUnwrapped + start
                webSocketApplyMask(key: key, phase: start, source: pointer, destination: pointer, count: take)
            }
        }
        offset &+= take
        self.payloadRemaining &-= take
        if self.payloadRemaining == 0 {
            var bytes: [UInt8] = []
            swap(&bytes, &self.partialPayload)
            return (self.finishFrame(payload: ByteBuffer(bytes: bytes)), offset)
        }
        return (nil, offset)
    }

    /// Records `error` so that every later call throws it, and returns it for throwing.
    private mutating func fail(_ error: WebSocketProtocolError) -> WebSocketProtocolError {
        self.failure = error
        return error
    }

    /// Checks the rules that the first header byte alone decides.
    private static func check(first: UInt8) -> WebSocketProtocolError? {
        if first & 0x70 != 0 {
            return .reservedBitsSet
        }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            return .unknownOpcode
        }
        if opcode.isControl && first & 0x80 == 0 {
            return .fragmentedControlFrame
        }
        return nil
    }

    /// Checks both header bytes: first-byte rules, then the masking rule and the control frame length.
    private func check(first: UInt8, second: UInt8) -> WebSocketProtocolError? {
        if let error = Self.check(first: first) {
            return error
        }
        let masked = second & 0x80 != 0
        if masked != self.requireMaskedFrames {
            return masked ? .maskedFrame : .unmaskedFrame
        }
        // Length codes 126 and 127 announce more than 125 bytes, which no control frame may carry.
        if first & 0x08 != 0 && second & 0x7F > 125 {
            return .controlFrameTooLong
        }
        return nil
    }

    /// The full header length implied by the second header byte: 2, plus 2 or 8 length bytes, plus 4
    /// masking key bytes.
    private static func headerLength(second: UInt8) -> Int {
        var length = 2
        switch second & 0x7F {
        case 126: length &+= 2
        case 127: length &+= 8
        default: break
        }
        if second & 0x80 != 0 {
            length &+= 4
        }
        return length
    }

    /// Decodes a complete, already checked header and prepares to receive its payload.
    ///
    /// - Parameter header: The header's bytes; as many as ``headerLength(second:)`` says.
    /// - Returns: The error if the payload length is invalid or too large.
    private mutating func beginPayload(header: UnsafeRawPointer) -> WebSocketProtocolError? {
        let first = header.load(as: UInt8.self)
        let second = header.load(fromByteOffset: 1, as: UInt8.self)
        var keyOffset = 2
        let length: UInt64
        switch second & 0x7F {
        case 126:
            length = UInt64(UInt16(bigEndian: header.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            keyOffset = 4
        case 127:
            // Non-minimal encodings are accepted (RFC 6455 only says "must" to senders); a set top bit
            // is not.
            length = UInt64(bigEndian: header.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            keyOffset = 10
            if length & (1 << 63) != 0 {
                return .invalidPayloadLength
            }
        default:
            length = UInt64(second & 0x7F)
        }
        if length > UInt64(self.maxFrameSize) {
            return .frameTooLarge
        }
        self.frameFin = first & 0x80 != 0
        // The opcode was checked with the first byte.
        self.frameOpcode = WebSocketOpcode(rawValue: first & 0x0F) ?? .continuation
        self.frameMasked = second & 0x80 != 0
        if self.frameMasked {
            self.frameMaskingKey = UInt32(bigEndian: header.loadUnaligned(fromByteOffset: keyOffset, as: UInt32.self))
        }
        self.payloadRemaining = Int(length)
        self.isReadingPayload = true
        return nil
    }

    /// Builds the current frame around `payload` and resets for the next header.
    private mutating func finishFrame(payload: ByteBuffer) -> WebSocketFrame {
        self.isReadingPayload = false
        self.payloadRemaining = 0
        return WebSocketFrame(fin: self.frameFin, opcode: self.frameOpcode, payload: payload)
    }

    /// Appends bytes to the split header.
    private mutating func storeHeaderBytes(_ bytes: UnsafeRawBufferPointer) {
        let offset = self.headerCount
        withUnsafeMutableBytes(of: &self.headerStorage) { raw in
            raw.baseAddress.unsafelyUnwrapped.advanced(by: offset).copyMemory(
                from: bytes.baseAddress.unsafelyUnwrapped,
                byteCount: bytes.count
            )
        }
        self.headerCount &+= bytes.count
    }

    /// One byte of the split header.
    private func storedHeaderByte(_ index: Int) -> UInt8 {
        withUnsafeBytes(of: self.headerStorage) { $0[index] }
    }
}
