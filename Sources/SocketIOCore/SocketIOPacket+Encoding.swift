public import IOCore
public import JSON

/// A packet ready for the wire: the text of one Engine.IO message (without its `4`), then one binary
/// Engine.IO message per attachment, in order.
public struct SocketIOEncodedPacket: Hashable, Sendable {
    /// The packet's text.
    public var text: ByteBuffer
    /// The binary attachments, in placeholder order.
    public var attachments: [ByteBuffer]

    /// An encoded packet.
    public init(text: ByteBuffer, attachments: [ByteBuffer] = []) {
        self.text = text
        self.attachments = attachments
    }

    /// The storage to give a packet's text before encoding: room for a typical event or ack (a short name
    /// and a few hundred bytes of arguments) in one allocation, instead of growing 32 → 64 → 128 → 256 bytes
    /// with a copy at each step; the buffer lives only until its bytes are written out.
    public static let typicalCapacity = 256
}

extension SocketIOPacket {
    /// Encodes the packet as the reference encoder does.
    ///
    /// The type digit; for a binary packet the attachment count and `-`; the namespace and `,` unless
    /// it is `/` (or empty); the ack id; the JSON of the data unless it is nil or `null`. An EVENT or
    /// ACK whose data holds ``JSONValue/binary(_:)`` leaves becomes a BINARY_EVENT or BINARY_ACK: each
    /// leaf, in document order, is written as `{"_placeholder":true,"num":N}` and appended to
    /// `attachments`; conversely a BINARY_EVENT or BINARY_ACK without binary leaves is sent as a plain
    /// EVENT or ACK (``attachments`` is ignored; the count is always the leaves'). Binary leaves in
    /// other packet types are written as Node writes a `Buffer` in JSON, `{"type":"Buffer","data":[1,2]}`.
    ///
    /// - Parameters:
    ///   - text: where the packet text is appended; the caller may have written the Engine.IO `4`.
    ///   - attachments: where the attachments are appended; untouched when there are none.
    public func encode(into text: inout ByteBuffer, attachments: inout [ByteBuffer]) {
        var type = self.type
        var binaryCount = 0
        switch type {
        case .event, .binaryEvent, .ack, .binaryAck:
            binaryCount = self.data.map(Self.binaryLeafCount) ?? 0
            let isEvent = type == .event || type == .binaryEvent
            if binaryCount > 0 {
                type = isEvent ? .binaryEvent : .binaryAck
            } else {
                type = isEvent ? .event : .ack
            }
        case .connect, .disconnect, .connectError:
            break
        }
        Self.writeHeader(type: type, attachments: binaryCount, namespace: self.namespace, id: self.id, into: &text)
        guard let data = self.data, !data.isNull else {
            return
        }
        if binaryCount > 0 {
            Self.writeDeconstructing(data, attachmentCount: binaryCount, into: &text, attachments: &attachments)
        } else {
            JSONWriter.write(data, into: &text, binary: Self.writeNodeBuffer)
        }
    }

    /// Encodes the packet into a new buffer; see ``encode(into:attachments:)``.
    public func encode() -> SocketIOEncodedPacket {
        var encoded = SocketIOEncodedPacket(text: ByteBuffer(capacity: SocketIOEncodedPacket.typicalCapacity))
        self.encode(into: &encoded.text, attachments: &encoded.attachments)
        return encoded
    }

    /// Encodes the EVENT `[name, arguments...]` without building the packet or its array first: the
    /// fast path for emits and broadcasts.
    ///
    /// Writes exactly what ``encode(into:attachments:)`` writes for
    /// `SocketIOPacket.event(namespace:name:arguments:id:)`, BINARY_EVENT included.
    public static func encodeEvent(
        namespace: String = "/",
        name: String,
        arguments: [JSONValue],
        id: Int? = nil,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        Self.writeEvent(
            namespace: namespace,
            name: name,
            arguments: arguments,
            id: id,
            into: &text,
            attachments: &attachments
        )
    }

    /// Encodes the EVENT `[name, arguments...]` from a slice of arguments; see
    /// ``encodeEvent(namespace:name:arguments:id:into:attachments:)-([JSONValue],_,_,_)``.
    public static func encodeEvent(
        namespace: String = "/",
        name: String,
        arguments: ArraySlice<JSONValue>,
        id: Int? = nil,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        Self.writeEvent(
            namespace: namespace,
            name: name,
            arguments: arguments,
            id: id,
            into: &text,
            attachments: &attachments
        )
    }

    /// Encodes the ACK `[arguments...]` for ack id `id` without building the packet or its array
    /// first: the fast path for answering events.
    ///
    /// Writes exactly what ``encode(into:attachments:)`` writes for
    /// `SocketIOPacket.ack(namespace:id:arguments:)`, BINARY_ACK included.
    public static func encodeAck(
        namespace: String = "/",
        id: Int,
        arguments: [JSONValue],
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        Self.writeAck(namespace: namespace, id: id, arguments: arguments, into: &text, attachments: &attachments)
    }

    /// Encodes the ACK `[arguments...]` from a slice of arguments; see
    /// ``encodeAck(namespace:id:arguments:into:attachments:)-([JSONValue],_,_)``.
    public static func encodeAck(
        namespace: String = "/",
        id: Int,
        arguments: ArraySlice<JSONValue>,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        Self.writeAck(namespace: namespace, id: id, arguments: arguments, into: &text, attachments: &attachments)
    }

    /// The EVENT fast path; generic so that both public overloads get a specialised copy (the public
    /// API is concrete because an unspecialised generic called across modules was measured to
    /// allocate per call).
    static func writeEvent(
        namespace: String,
        name: String,
        arguments: some Collection<JSONValue>,
        id: Int?,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        let binaryCount = Self.binaryLeafCount(arguments)
        Self.writeHeader(
            type: binaryCount > 0 ? .binaryEvent : .event,
            attachments: binaryCount,
            namespace: namespace,
            id: id,
            into: &text
        )
        text.writeByte(UInt8(ascii: "["))
        JSONWriter.writeString(name, into: &text)
        Self.writeArguments(arguments, binaryCount: binaryCount, afterName: true, into: &text, attachments: &attachments)
    }

    /// The ACK fast path; see ``writeEvent(namespace:name:arguments:id:into:attachments:)``.
    static func writeAck(
        namespace: String,
        id: Int,
        arguments: some Collection<JSONValue>,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        let binaryCount = Self.binaryLeafCount(arguments)
        Self.writeHeader(
            type: binaryCount > 0 ? .binaryAck : .ack,
            attachments: binaryCount,
            namespace: namespace,
            id: id,
            into: &text
        )
        text.writeByte(UInt8(ascii: "["))
        Self.writeArguments(arguments, binaryCount: binaryCount, afterName: false, into: &text, attachments: &attachments)
    }

    /// Writes the arguments of an EVENT (after its name) or an ACK, separated by commas, and the closing `]`;
    /// with binary leaves, each one becomes a placeholder and its bytes an attachment.
    @inline(__always)
    static func writeArguments(
        _ arguments: some Collection<JSONValue>,
        binaryCount: Int,
        afterName: Bool,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        var needsComma = afterName
        if binaryCount > 0 {
            PlaceholderWriter.with(&attachments, capacity: binaryCount) { placeholders in
                for argument in arguments {
                    if needsComma { text.writeByte(UInt8(ascii: ",")) }
                    needsComma = true
                    placeholders.write(argument, into: &text)
                }
            }
        } else {
            for argument in arguments {
                if needsComma { text.writeByte(UInt8(ascii: ",")) }
                needsComma = true
                JSONWriter.write(argument, into: &text, binary: Self.writeNodeBuffer)
            }
        }
        text.writeByte(UInt8(ascii: "]"))
    }

    /// Writes everything before the payload: type, attachment count, namespace, ack id.
    @inline(__always)
    static func writeHeader(
        type: SocketIOPacketType,
        attachments: Int,
        namespace: String,
        id: Int?,
        into text: inout ByteBuffer
    ) {
        text.writeByte(type.digit)
        if type.isBinary {
            text.writeDecimal(attachments)
            text.writeByte(UInt8(ascii: "-"))
        }
        if !namespace.isEmpty && namespace != "/" {
            text.writeString(namespace)
            text.writeByte(UInt8(ascii: ","))
        }
        if let id {
            text.writeDecimal(id)
        }
    }

    /// Writes `data` with its binary leaves replaced by numbered placeholders, appending the leaves to
    /// `attachments`.
    static func writeDeconstructing(
        _ data: JSONValue,
        attachmentCount: Int,
        into text: inout ByteBuffer,
        attachments: inout [ByteBuffer]
    ) {
        PlaceholderWriter.with(&attachments, capacity: attachmentCount) { placeholders in
            placeholders.write(data, into: &text)
        }
    }

    /// The number of binary leaves in `value`; the tree walk is cheap next to writing it.
    static func binaryLeafCount(_ value: JSONValue) -> Int {
        switch value {
        case .binary:
            return 1
        case .array(let elements):
            return Self.binaryLeafCount(elements)
        case .object(let object):
            var count = 0
            for (_, member) in object {
                count &+= Self.binaryLeafCount(member)
            }
            return count
        case .null, .bool, .number, .string:
            return 0
        }
    }

    /// The number of binary leaves in `values`.
    static func binaryLeafCount(_ values: some Collection<JSONValue>) -> Int {
        var count = 0
        for value in values {
            switch value {
            case .null, .bool, .number, .string:
                continue
            default:
                count &+= Self.binaryLeafCount(value)
            }
        }
        return count
    }

    /// Writes a binary leaf as `JSON.stringify` writes a Node `Buffer`: `{"type":"Buffer","data":[...]}`.
    /// Used only where Socket.IO has no attachments (CONNECT, DISCONNECT, CONNECT_ERROR payloads).
    static func writeNodeBuffer(_ bytes: ByteBuffer, into text: inout ByteBuffer) {
        text.writeString("{\"type\":\"Buffer\",\"data\":[")
        bytes.withUnsafeReadableBytes { raw in
            for (index, byte) in raw.enumerated() {
                if index > 0 { text.writeByte(UInt8(ascii: ",")) }
                text.writeDecimal(Int(byte))
            }
        }
        text.writeString("]}")
    }
}

/// Numbers binary leaves in document order while writing, and collects them.
struct PlaceholderWriter {
    /// The attachments: those the caller already had, then one per leaf written.
    var attachments: [ByteBuffer]
    /// The number of the next placeholder.
    var next = 0

    /// Runs `body` with a writer that appends to `attachments`, numbering from 0. The array is moved
    /// into the writer and back, never copied.
    static func with(
        _ attachments: inout [ByteBuffer],
        capacity: Int,
        _ body: (inout PlaceholderWriter) -> Void
    ) {
        var writer = PlaceholderWriter(attachments: [])
        swap(&writer.attachments, &attachments)
        writer.attachments.reserveCapacity(writer.attachments.count &+ capacity)
        body(&writer)
        swap(&writer.attachments, &attachments)
    }

    /// Writes `value`, each binary leaf as `{"_placeholder":true,"num":N}`.
    mutating func write(_ value: JSONValue, into text: inout ByteBuffer) {
        JSONWriter.write(value, into: &text) { bytes, output in
            output.writeString("{\"_placeholder\":true,\"num\":")
            output.writeDecimal(self.next)
            output.writeByte(UInt8(ascii: "}"))
            self.attachments.append(bytes)
            self.next &+= 1
        }
    }
}
