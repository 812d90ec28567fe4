public import JSON

/// The seven Socket.IO v5 packet types; the raw value is the ASCII digit that starts a packet.
public enum SocketIOPacketType: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Join a namespace (client), or the server's acceptance with `{"sid":...}`.
    case connect = 0x30
    /// Leave a namespace.
    case disconnect = 0x31
    /// An event: `["name", args...]`.
    case event = 0x32
    /// The answer to an event that carried an ack id: `[args...]`.
    case ack = 0x33
    /// The server's refusal of a CONNECT: `{"message":...}`.
    case connectError = 0x34
    /// An event whose arguments hold binary attachments, sent after it.
    case binaryEvent = 0x35
    /// An ack whose arguments hold binary attachments, sent after it.
    case binaryAck = 0x36

    /// The type whose ASCII digit is `byte`, or nil for any other byte.
    @inlinable
    public init?(digit byte: UInt8) {
        self.init(rawValue: byte)
    }

    /// The ASCII digit that stands for this type on the wire.
    @inlinable
    public var digit: UInt8 { self.rawValue }

    /// Whether packets of this type announce binary attachments (`5`, `6`).
    @inlinable
    public var isBinary: Bool { self == .binaryEvent || self == .binaryAck }

    /// The specification's name (`CONNECT`, `EVENT`, ...).
    public var description: String {
        switch self {
        case .connect: "CONNECT"
        case .disconnect: "DISCONNECT"
        case .event: "EVENT"
        case .ack: "ACK"
        case .connectError: "CONNECT_ERROR"
        case .binaryEvent: "BINARY_EVENT"
        case .binaryAck: "BINARY_ACK"
        }
    }
}

/// One Socket.IO v5 packet: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`.
///
/// Binary attachments live in ``data`` as ``JSONValue/binary(_:)`` leaves. A decoded BINARY_EVENT or
/// BINARY_ACK header still holds its placeholders and announces ``attachments``;
/// ``SocketIOBinaryReassembler`` turns it into an EVENT or ACK with the binary leaves in place. The
/// encoder does the reverse and picks the binary types itself.
public struct SocketIOPacket: Hashable, Sendable, CustomStringConvertible {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace, `/` by default; custom namespaces start with `/`.
    public var namespace: String
    /// The ack id: on an EVENT, the sender wants an ACK with this id; on an ACK, the EVENT answered.
    public var id: Int?
    /// The payload; nil when the packet has none.
    public var data: JSONValue?
    /// For a decoded BINARY_EVENT or BINARY_ACK header: how many binary messages follow. Zero
    /// otherwise; the encoder ignores it and counts the binary leaves.
    public var attachments: Int

    /// A packet with the given fields.
    @inlinable
    public init(
        type: SocketIOPacketType,
        namespace: String = "/",
        id: Int? = nil,
        data: JSONValue? = nil,
        attachments: Int = 0
    ) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
        self.attachments = attachments
    }

    /// A CONNECT: from the client with its auth object (or nil), from the server with `{"sid":...}`.
    public static func connect(namespace: String = "/", data: JSONValue? = nil) -> SocketIOPacket {
        SocketIOPacket(type: .connect, namespace: namespace, data: data)
    }

    /// A DISCONNECT from `namespace`.
    public static func disconnect(namespace: String = "/") -> SocketIOPacket {
        SocketIOPacket(type: .disconnect, namespace: namespace)
    }

    /// An EVENT `[name, arguments...]`, asking for an ack when `id` is given.
    public static func event(
        namespace: String = "/",
        name: String,
        arguments: [JSONValue] = [],
        id: Int? = nil
    ) -> SocketIOPacket {
        var elements: [JSONValue] = []
        elements.reserveCapacity(arguments.count + 1)
        elements.append(.string(name))
        elements.append(contentsOf: arguments)
        return SocketIOPacket(type: .event, namespace: namespace, id: id, data: .array(elements))
    }

    /// An ACK `[arguments...]` for the event with ack id `id`.
    public static func ack(namespace: String = "/", id: Int, arguments: [JSONValue]) -> SocketIOPacket {
        SocketIOPacket(type: .ack, namespace: namespace, id: id, data: .array(arguments))
    }

    /// A CONNECT_ERROR `{"message":...}`, the form official clients understand (a bare string leaves
    /// the JS client with an empty message), with `data` when given.
    public static func connectError(
        namespace: String = "/",
        message: String,
        data: JSONValue? = nil
    ) -> SocketIOPacket {
        var object = JSONObject(minimumCapacity: data == nil ? 1 : 2)
        object["message"] = .string(message)
        if let data {
            object["data"] = data
        }
        return SocketIOPacket(type: .connectError, namespace: namespace, data: .object(object))
    }

    /// For an EVENT: the event name (the first element, when it is a string).
    public var eventName: String? {
        guard self.type == .event || self.type == .binaryEvent, case .array(let elements) = self.data,
            case .string(let name) = elements.first
        else {
            return nil
        }
        return name
    }

    /// For an EVENT: the arguments after the name; for an ACK: every element. Empty otherwise.
    public var arguments: ArraySlice<JSONValue> {
        guard case .array(let elements) = self.data else {
            return []
        }
        switch self.type {
        case .event, .binaryEvent: return elements.dropFirst()
        case .ack, .binaryAck: return elements[...]
        default: return []
        }
    }

    /// The type, namespace, id and attachment count; never the payload (it is customer data).
    public var description: String {
        var text = "SocketIOPacket(\(self.type), namespace: \(self.namespace.utf8.count) bytes"
        if let id = self.id {
            text += ", id: \(id)"
        }
        if self.attachments > 0 {
            text += ", attachments: \(self.attachments)"
        }
        text += self.data == nil ? ", no data)" : ", data)"
        return text
    }
}
