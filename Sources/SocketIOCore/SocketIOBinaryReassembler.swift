public import IOCore
import JSON

/// Puts a BINARY_EVENT or BINARY_ACK back together: the header packet, then its attachments, each a
/// binary Engine.IO message, in order.
///
/// When the last attachment arrives, every placeholder `{"_placeholder":true,"num":i}` in the
/// header's data is replaced by ``JSONValue/binary(_:)`` holding attachment `i`, and the packet
/// becomes an EVENT or ACK, as in the reference decoder. A text packet while attachments are still
/// expected, or an attachment when none is, is an error, as is a placeholder that is not exactly that
/// two-member object with an integer `num` in range. An object whose `_placeholder` is not `true` is
/// ordinary data. (The reference also tolerates extra members and non-integer `num`s; a well-behaved
/// client sends neither.)
///
/// One per connection; it holds at most one pending packet and its attachments.
public struct SocketIOBinaryReassembler: Sendable {
    /// The header waiting for attachments; nil when idle.
    private var header: SocketIOPacket?
    /// The attachments received so far for `header`.
    private var buffers: [ByteBuffer] = []

    /// An idle reassembler.
    public init() {}

    /// Whether a binary packet is waiting for attachments. (Matching the optional with `case` reads it
    /// in place; `header != nil` was seen to copy the whole packet on the per-packet path.)
    public var isAwaitingAttachments: Bool {
        if case .none = self.header { return false }
        return true
    }

    /// How many attachments are still expected; zero when idle.
    public var remainingAttachments: Int {
        guard let header = self.header else { return 0 }
        return header.attachments &- self.buffers.count
    }

    /// Takes a decoded text packet.
    ///
    /// - Returns: A packet ready for dispatch: `packet` itself when it is not binary, the completed
    ///   EVENT/ACK for a binary packet without attachments, or nil when attachments must follow.
    /// - Throws: ``SocketIODecodeError/unexpectedTextPacket`` while attachments are expected;
    ///   ``SocketIODecodeError/invalidPlaceholder`` for a binary packet without attachments that
    ///   holds a placeholder.
    public mutating func receive(_ packet: consuming SocketIOPacket) throws(SocketIODecodeError) -> SocketIOPacket? {
        guard !self.isAwaitingAttachments else {
            self.reset()
            throw .unexpectedTextPacket
        }
        guard packet.type.isBinary else {
            return packet
        }
        guard packet.attachments > 0 else {
            return try Self.complete(packet, buffers: [])
        }
        self.header = packet
        self.buffers.reserveCapacity(packet.attachments)
        return nil
    }

    /// Takes one binary message.
    ///
    /// - Returns: The completed EVENT/ACK after the last attachment, else nil.
    /// - Throws: ``SocketIODecodeError/unexpectedBinaryPacket`` when no packet is waiting;
    ///   ``SocketIODecodeError/invalidPlaceholder`` when the completed packet's placeholders do not
    ///   match its attachments.
    public mutating func receive(attachment: ByteBuffer) throws(SocketIODecodeError) -> SocketIOPacket? {
        guard let header = self.header else {
            throw .unexpectedBinaryPacket
        }
        self.buffers.append(attachment)
        guard self.buffers.count == header.attachments else {
            return nil
        }
        let buffers = self.buffers
        self.reset()
        return try Self.complete(header, buffers: buffers)
    }

    /// Drops any pending packet, e.g. when the connection closes.
    public mutating func reset() {
        self.header = nil
        self.buffers = []
    }

    /// The header turned into an EVENT or ACK with `buffers` in place of its placeholders.
    static func complete(
        _ header: SocketIOPacket,
        buffers: [ByteBuffer]
    ) throws(SocketIODecodeError) -> SocketIOPacket {
        var packet = header
        packet.type = header.type == .binaryEvent ? .event : .ack
        packet.attachments = 0
        if let data = header.data, let replaced = try Self.replacingPlaceholders(in: data, with: buffers) {
            packet.data = replaced
        }
        return packet
    }

    /// `value` with its placeholders replaced, or nil when it holds none (so that containers without
    /// placeholders are not copied). Recursion is bounded by the JSON parser's depth limit.
    static func replacingPlaceholders(
        in value: JSONValue,
        with buffers: [ByteBuffer]
    ) throws(SocketIODecodeError) -> JSONValue? {
        switch value {
        case .array(let elements):
            var result: [JSONValue]?
            for index in elements.indices {
                if let replaced = try Self.replacingPlaceholders(in: elements[index], with: buffers) {
                    if result == nil {
                        result = elements
                    }
                    result![index] = replaced
                }
            }
            return result.map { .array($0) }
        case .object(let object):
            if case .bool(true) = object["_placeholder"] {
                return .binary(try Self.attachment(for: object, in: buffers))
            }
            var result: JSONObject?
            for (key, member) in object {
                if let replaced = try Self.replacingPlaceholders(in: member, with: buffers) {
                    if result == nil {
                        result = object
                    }
                    result![key] = replaced
                }
            }
            return result.map { .object($0) }
        default:
            return nil
        }
    }

    /// The attachment a placeholder object designates.
    static func attachment(
        for placeholder: JSONObject,
        in buffers: [ByteBuffer]
    ) throws(SocketIODecodeError) -> ByteBuffer {
        guard placeholder.count == 2, case .number(let number) = placeholder["num"], let index = number.intValue,
            index >= 0, index < buffers.count
        else {
            throw .invalidPlaceholder
        }
        return buffers[index]
    }
}

/// The per-connection Socket.IO decoder: text packets and binary attachments in, complete packets
/// out. It runs ``SocketIOPacket/decode(text:limits:)-(UnsafeRawBufferPointer,_)`` and a
/// ``SocketIOBinaryReassembler``.
public struct SocketIODecoder: Sendable {
    /// The limits applied to every packet.
    public var limits: SocketIODecoderLimits
    /// The binary packet being put together, if any.
    private var reassembler = SocketIOBinaryReassembler()

    /// A decoder with `limits`.
    public init(limits: SocketIODecoderLimits = SocketIODecoderLimits()) {
        self.limits = limits
    }

    /// Whether a binary packet is waiting for attachments.
    public var isAwaitingAttachments: Bool { self.reassembler.isAwaitingAttachments }

    /// Takes the text of one Engine.IO message (without its `4`).
    ///
    /// - Returns: The packet, or nil when it is a binary packet whose attachments must follow.
    /// - Throws: ``SocketIODecodeError``; close the connection.
    public mutating func decode(text bytes: UnsafeRawBufferPointer) throws(SocketIODecodeError) -> SocketIOPacket? {
        guard !self.reassembler.isAwaitingAttachments else {
            // As the reference: refuse before even parsing.
            self.reassembler.reset()
            throw .unexpectedTextPacket
        }
        return try self.reassembler.receive(SocketIOPacket.decode(text: bytes, limits: self.limits))
    }

    /// Takes the text of one Engine.IO message held in a buffer; see ``decode(text:)-(UnsafeRawBufferPointer)``.
    public mutating func decode(text: ByteBuffer) throws(SocketIODecodeError) -> SocketIOPacket? {
        // The closure hands its result out through captured variables rather than as a return value:
        // returning it through `withUnsafeReadableBytes`' generic `Result` was measured to copy the
        // packet (a retain and release per field) twice per call.
        var packet: SocketIOPacket?
        var failure: SocketIODecodeError?
        text.withUnsafeReadableBytes { bytes in
            do throws(SocketIODecodeError) {
                packet = try self.decode(text: bytes)
            } catch {
                failure = error
            }
        }
        if let failure {
            throw failure
        }
        return packet
    }

    /// Takes one binary Engine.IO message: the next attachment of the pending binary packet.
    ///
    /// - Returns: The completed packet after its last attachment, else nil.
    /// - Throws: ``SocketIODecodeError``; close the connection.
    public mutating func decode(binary: ByteBuffer) throws(SocketIODecodeError) -> SocketIOPacket? {
        try self.reassembler.receive(attachment: binary)
    }

    /// Drops any pending binary packet.
    public mutating func reset() {
        self.reassembler.reset()
    }
}
