public import IOCore

/// The seven Engine.IO v4 packet types; the raw value is the ASCII digit that starts a text packet.
public enum EngineIOPacketType: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Sent by the server once per session; carries the handshake JSON.
    case open = 0x30
    /// Ends the session.
    case close = 0x31
    /// Heartbeat request; in v4 only the server pings, except the upgrade probe (`2probe`).
    case ping = 0x32
    /// Heartbeat answer (`3`), or the probe answer (`3probe`).
    case pong = 0x33
    /// Application data, text or binary.
    case message = 0x34
    /// Sent by the client on the new transport to complete an upgrade.
    case upgrade = 0x35
    /// Ends a pending long-poll during an upgrade.
    case noop = 0x36

    /// The type whose ASCII digit is `byte`, or nil for any other byte.
    @inlinable
    public init?(digit byte: UInt8) {
        self.init(rawValue: byte)
    }

    /// The ASCII digit that stands for this type on the wire.
    @inlinable
    public var digit: UInt8 { self.rawValue }

    /// The name the specification uses (`open`, `close`, ...).
    public var description: String {
        switch self {
        case .open: "open"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        case .message: "message"
        case .upgrade: "upgrade"
        case .noop: "noop"
        }
    }
}

/// One Engine.IO packet: a type and its data, which is text for every type and may be binary for a
/// message.
///
/// Binary data exists only for messages: on WebSocket it travels as a binary frame without a type
/// byte, on polling as `b<base64>`, and both decode back to a message, so the initialisers make any
/// other combination unrepresentable.
public struct EngineIOPacket: Hashable, Sendable, CustomStringConvertible {
    /// The data a packet carries.
    public enum Payload: Hashable, Sendable {
        /// The bytes after the type digit (UTF-8 text on the wire); empty for `2`, `6`, ...
        case text(ByteBuffer)
        /// The bytes of a binary message.
        case binary(ByteBuffer)
    }

    /// The packet type; always ``EngineIOPacketType/message`` when ``payload`` is binary.
    public let type: EngineIOPacketType
    /// The data.
    public let payload: Payload

    /// A packet of `type` with text data (empty by default).
    @inlinable
    public init(type: EngineIOPacketType, text: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.payload = .text(text)
    }

    /// A binary message.
    @inlinable
    public init(binary: ByteBuffer) {
        self.type = .message
        self.payload = .binary(binary)
    }

    /// A text message.
    @inlinable
    public static func message(_ text: ByteBuffer) -> EngineIOPacket {
        EngineIOPacket(type: .message, text: text)
    }

    /// A text message holding the UTF-8 bytes of `text`.
    @inlinable
    public static func message(_ text: String) -> EngineIOPacket {
        EngineIOPacket(type: .message, text: ByteBuffer(string: text))
    }

    /// A binary message.
    @inlinable
    public static func binaryMessage(_ bytes: ByteBuffer) -> EngineIOPacket {
        EngineIOPacket(binary: bytes)
    }

    /// The bare packets, without data (`1`, `2`, `3`, `5`, `6`).
    public static let close = EngineIOPacket(type: .close)
    /// The server's heartbeat (`2`).
    public static let ping = EngineIOPacket(type: .ping)
    /// A heartbeat answer (`3`).
    public static let pong = EngineIOPacket(type: .pong)
    /// The upgrade completion (`5`).
    public static let upgrade = EngineIOPacket(type: .upgrade)
    /// The no-op that releases a pending long-poll (`6`).
    public static let noop = EngineIOPacket(type: .noop)
    /// The probe a client sends on a new WebSocket during an upgrade (`2probe`).
    public static let probePing = EngineIOPacket(type: .ping, text: ByteBuffer(string: "probe"))
    /// The server's answer to the probe (`3probe`).
    public static let probePong = EngineIOPacket(type: .pong, text: ByteBuffer(string: "probe"))

    /// Whether this is the upgrade probe `2probe`.
    public var isProbePing: Bool {
        guard self.type == .ping, case .text(let text) = self.payload, text.readableBytes == 5 else {
            return false
        }
        return text.withUnsafeReadableBytes { $0.elementsEqual("probe".utf8) }
    }

    /// Whether the data is binary.
    @inlinable
    public var isBinary: Bool {
        if case .binary = self.payload { return true }
        return false
    }

    /// The data bytes, text or binary.
    @inlinable
    public var data: ByteBuffer {
        switch self.payload {
        case .text(let bytes), .binary(let bytes): bytes
        }
    }

    /// The type and the data size only: the data may be customer content and stays out of logs.
    public var description: String {
        switch self.payload {
        case .text(let text): "EngineIOPacket(\(self.type), text: \(text.readableBytes) bytes)"
        case .binary(let bytes): "EngineIOPacket(\(self.type), binary: \(bytes.readableBytes) bytes)"
        }
    }
}

// MARK: - WebSocket mapping

/// How a packet travels as a WebSocket message.
public enum EngineIOWebSocketMessageKind: Hashable, Sendable {
    /// A text frame: the type digit then the data.
    case text
    /// A binary frame: the raw bytes of a binary message, with no type byte.
    case binary
}

extension EngineIOPacket {
    /// Decodes the packet carried by one WebSocket text message.
    ///
    /// The data is not copied: the result shares `message`'s storage and starts after the type byte.
    /// As the reference server does, a text message `b<base64>` is accepted as a binary message.
    ///
    /// - Throws: ``EngineIODecodeError`` for an empty message, an unknown type character or bad base64;
    ///   the transport closes the session with reason "parse error".
    @inlinable
    public static func decode(webSocketText message: ByteBuffer) throws(EngineIODecodeError) -> EngineIOPacket {
        guard let first = message.withUnsafeReadableBytes({ $0.first }) else {
            throw .emptyPacket
        }
        if let type = EngineIOPacketType(digit: first) {
            guard message.readableBytes > 1 else {
                return EngineIOPacket(type: type)
            }
            var data = message
            data.moveReaderIndex(forwardBy: 1)
            return EngineIOPacket(type: type, text: data)
        }
        return try message.withUnsafeReadableBytes { bytes throws(EngineIODecodeError) in
            try EngineIOPacket.decodeSlowPath(bytes)
        }
    }

    /// Decodes the packet carried by one WebSocket binary message: always a binary message.
    @inlinable
    public static func decode(webSocketBinary message: ByteBuffer) -> EngineIOPacket {
        EngineIOPacket(binary: message)
    }

    /// Decodes one text-encoded packet (a WebSocket text message or one polling payload entry),
    /// copying its data.
    ///
    /// - Throws: ``EngineIODecodeError`` for an empty packet, an unknown type character or bad base64.
    public static func decode(text bytes: UnsafeRawBufferPointer) throws(EngineIODecodeError) -> EngineIOPacket {
        guard let first = bytes.first else {
            throw .emptyPacket
        }
        if let type = EngineIOPacketType(digit: first) {
            guard bytes.count > 1 else {
                return EngineIOPacket(type: type)
            }
            return EngineIOPacket(type: type, text: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[1...])))
        }
        return try self.decodeSlowPath(bytes)
    }

    /// Decodes a text packet whose first byte is not a type digit: `b<base64>`, or an error.
    @usableFromInline
    static func decodeSlowPath(_ bytes: UnsafeRawBufferPointer) throws(EngineIODecodeError) -> EngineIOPacket {
        guard let first = bytes.first else {
            throw .emptyPacket
        }
        guard first == UInt8(ascii: "b") else {
            throw .invalidPacketType
        }
        var binary = ByteBuffer()
        guard Base64.decode(UnsafeRawBufferPointer(rebasing: bytes[1...]), into: &binary) else {
            throw .invalidBase64
        }
        return EngineIOPacket(binary: binary)
    }

    /// Appends this packet as the payload of one WebSocket message and says which frame type to use.
    ///
    /// A text packet is its type digit then its data; a binary message is its raw bytes.
    @inlinable
    @discardableResult
    public func encodeForWebSocket(into buffer: inout ByteBuffer) -> EngineIOWebSocketMessageKind {
        switch self.payload {
        case .text(let text):
            buffer.writeByte(self.type.digit)
            buffer.writeBuffer(text)
            return .text
        case .binary(let bytes):
            buffer.writeBuffer(bytes)
            return .binary
        }
    }

    /// Appends this packet as one entry of a polling payload, without separator: the type digit and
    /// text, or `b` and the base64 of binary data.
    public func encodeForPolling(into buffer: inout ByteBuffer) {
        switch self.payload {
        case .text(let text):
            buffer.writeByte(self.type.digit)
            buffer.writeBuffer(text)
        case .binary(let bytes):
            buffer.writeByte(UInt8(ascii: "b"))
            bytes.withUnsafeReadableBytes { Base64.encode($0, into: &buffer) }
        }
    }
}
