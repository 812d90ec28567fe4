public import IOCore
import JSON

extension SocketIOPacket {
    /// The largest ack id accepted: 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`. Larger ids
    /// cannot come from a JavaScript peer and would not survive a round trip through one.
    public static let maxAckID = 9_007_199_254_740_991

    /// Decodes one Socket.IO packet from the text of an Engine.IO message (without its `4`).
    ///
    /// Follows the reference decoder: the type digit; for BINARY_EVENT/BINARY_ACK the attachment count
    /// and `-`; a namespace when the next character is `/`, up to the first `,` or the end (so `40/a,`
    /// and `40/a` both name `/a`); an ack id when the next characters are digits; the rest as JSON,
    /// which must suit the type: CONNECT an object or nothing, DISCONNECT nothing, CONNECT_ERROR an
    /// object or a string or nothing, EVENT a non-empty array starting with a non-reserved name or a
    /// number, ACK an array or nothing.
    ///
    /// A BINARY_EVENT or BINARY_ACK comes back as it is, with its placeholders and ``attachments``;
    /// feed it to a ``SocketIOBinaryReassembler`` (or use ``SocketIODecoder``, which does).
    ///
    /// - Throws: ``SocketIODecodeError``; the connection must then be closed.
    public static func decode(
        text bytes: UnsafeRawBufferPointer,
        limits: SocketIODecoderLimits = SocketIODecoderLimits()
    ) throws(SocketIODecodeError) -> SocketIOPacket {
        let count = bytes.count
        guard count > 0 else {
            throw .emptyPacket
        }
        guard let type = SocketIOPacketType(digit: bytes[0]) else {
            throw .invalidPacketType
        }
        var position = 1

        var attachments = 0
        if type.isBinary {
            // Digits then `-`. Three digits are plenty for any sane limit and keep the value small.
            let start = position
            while position < count, let digit = Self.digitValue(bytes[position]) {
                guard position &- start < 3 else {
                    throw .tooManyAttachments
                }
                attachments = attachments &* 10 &+ digit
                position &+= 1
            }
            guard position > start, position < count, bytes[position] == UInt8(ascii: "-") else {
                throw .invalidAttachmentCount
            }
            guard attachments <= limits.maxAttachments else {
                throw .tooManyAttachments
            }
            position &+= 1
        }

        var namespace = "/"
        if position < count && bytes[position] == UInt8(ascii: "/") {
            let start = position
            // Scan at most one byte past the limit, so a hostile megabyte costs nothing.
            let scanEnd = Swift.min(count, start &+ limits.maxNamespaceLength &+ 1)
            while position < scanEnd && bytes[position] != UInt8(ascii: ",") {
                position &+= 1
            }
            guard position &- start <= limits.maxNamespaceLength else {
                throw .namespaceTooLong
            }
            namespace = try Self.makeNamespace(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
            if position < count {
                position &+= 1  // the `,`
            }
        }

        var id: Int?
        if position < count, var value = Self.digitValue(bytes[position]) {
            let start = position
            position &+= 1
            while position < count, let digit = Self.digitValue(bytes[position]) {
                // 16 digits hold maxAckID; more would overflow the check below.
                guard position &- start < 16 else {
                    throw .invalidAckID
                }
                value = value &* 10 &+ digit
                position &+= 1
            }
            guard value <= Self.maxAckID else {
                throw .invalidAckID
            }
            id = value
        }

        var data: JSONValue?
        if position < count {
            do {
                data = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[position...]), limits: limits.json)
            } catch {
                throw .invalidJSON(error)
            }
        }
        try Self.validatePayload(data, for: type)
        return SocketIOPacket(type: type, namespace: namespace, id: id, data: data, attachments: attachments)
    }

    /// Decodes one Socket.IO packet from the readable bytes of `text`; see
    /// ``decode(text:limits:)-(UnsafeRawBufferPointer,_)``.
    public static func decode(
        text: ByteBuffer,
        limits: SocketIODecoderLimits = SocketIODecoderLimits()
    ) throws(SocketIODecodeError) -> SocketIOPacket {
        // Out through captured variables: see `SocketIODecoder.decode(text:)` for why.
        var packet: SocketIOPacket?
        var failure: SocketIODecodeError?
        text.withUnsafeReadableBytes { bytes in
            do throws(SocketIODecodeError) {
                packet = try SocketIOPacket.decode(text: bytes, limits: limits)
            } catch {
                failure = error
            }
        }
        guard let packet else {
            throw failure ?? .emptyPacket
        }
        return packet
    }

    /// The value of an ASCII digit, or nil.
    @inline(__always)
    static func digitValue(_ byte: UInt8) -> Int? {
        let value = byte &- UInt8(ascii: "0")
        return value < 10 ? Int(value) : nil
    }

    /// A namespace string from its bytes, which must be UTF-8 (polling bodies are not validated by
    /// anything before this).
    static func makeNamespace(_ bytes: UnsafeRawBufferPointer) throws(SocketIODecodeError) -> String {
        let namespace = String(decoding: bytes, as: UTF8.self)
        // Decoding repairs invalid sequences, which always changes the bytes; comparing is cheaper than
        // `String(validating:as:)`, which was measured at 5x the cost of decoding (a generic metadata
        // lookup per call).
        guard namespace.utf8.count == bytes.count, namespace.utf8.elementsEqual(bytes) else {
            throw .invalidNamespace
        }
        return namespace
    }

    /// The reference's `isPayloadValid`, with an EVENT's payload mandatory (the specification's rule).
    static func validatePayload(_ data: JSONValue?, for type: SocketIOPacketType) throws(SocketIODecodeError) {
        guard let data else {
            if type == .event || type == .binaryEvent {
                throw .missingPayload
            }
            return
        }
        switch type {
        case .connect:
            guard case .object = data else { throw .invalidPayload }
        case .disconnect:
            throw .invalidPayload
        case .connectError:
            switch data {
            case .object, .string: break
            default: throw .invalidPayload
            }
        case .event, .binaryEvent:
            guard case .array(let elements) = data, let first = elements.first else {
                throw .invalidPayload
            }
            switch first {
            case .number:
                break
            case .string(let name):
                if Self.isReservedEventName(name) {
                    throw .reservedEventName
                }
            default:
                throw .invalidPayload
            }
        case .ack, .binaryAck:
            guard case .array = data else { throw .invalidPayload }
        }
    }

    /// Whether `name` is one of the event names the reference reserves.
    static func isReservedEventName(_ name: String) -> Bool {
        // Filter on the length first: almost every event name is rejected without a comparison.
        switch name.utf8.count {
        case 7: return name == "connect"
        case 10: return name == "disconnect"
        case 11: return name == "newListener"
        case 13: return name == "connect_error" || name == "disconnecting"
        case 14: return name == "removeListener"
        default: return false
        }
    }
}
