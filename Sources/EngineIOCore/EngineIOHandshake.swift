public import IOCore

/// The data of the open packet the server sends first on every session.
///
/// Encoded as compact JSON with the reference server's key order; the official suite checks that the
/// object has exactly these five keys.
public struct EngineIOHandshake: Hashable, Sendable {
    /// The session id, as the client must send it back in `sid=`.
    public var sid: String
    /// The transports the client may upgrade to: `["websocket"]` on a polling handshake, `[]` on a
    /// WebSocket handshake or when upgrades are disabled.
    public var upgrades: [EngineIOTransportKind]
    /// Milliseconds between the server's pings.
    public var pingInterval: Int
    /// Milliseconds the server waits for a pong after queueing a ping.
    public var pingTimeout: Int
    /// The largest payload the server accepts (`maxHttpBufferSize`), in bytes; tells the client how to
    /// batch.
    public var maxPayload: Int

    /// A handshake with the given values.
    public init(
        sid: String,
        upgrades: [EngineIOTransportKind],
        pingInterval: Int,
        pingTimeout: Int,
        maxPayload: Int
    ) {
        self.sid = sid
        self.upgrades = upgrades
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    /// Appends the JSON object, keys in the reference's order, e.g.
    /// `{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,`
    /// `"pingTimeout":200,"maxPayload":1000000}` (one line, no spaces).
    public func writeJSON(into buffer: inout ByteBuffer) {
        buffer.writeString("{\"sid\":")
        EngineIOJSON.writeString(self.sid, into: &buffer)
        buffer.writeString(",\"upgrades\":[")
        for (index, upgrade) in self.upgrades.enumerated() {
            if index > 0 {
                buffer.writeByte(UInt8(ascii: ","))
            }
            EngineIOJSON.writeString(upgrade.rawValue, into: &buffer)
        }
        buffer.writeString("],\"pingInterval\":")
        buffer.writeDecimal(self.pingInterval)
        buffer.writeString(",\"pingTimeout\":")
        buffer.writeDecimal(self.pingTimeout)
        buffer.writeString(",\"maxPayload\":")
        buffer.writeDecimal(self.maxPayload)
        buffer.writeByte(UInt8(ascii: "}"))
    }

    /// The open packet carrying this handshake: `0` then the JSON.
    public var openPacket: EngineIOPacket {
        var text = ByteBuffer(capacity: 128)
        self.writeJSON(into: &text)
        return EngineIOPacket(type: .open, text: text)
    }
}

/// The little JSON EngineIOCore writes itself (the handshake and error bodies), so that it needs no
/// JSON library.
enum EngineIOJSON {
    /// Appends `string` as a JSON string literal, escaping what JSON requires (`"`, `\`, control
    /// characters) and nothing else, as `JSON.stringify` does for these values.
    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeByte(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                buffer.writeString("\\\"")
            case UInt8(ascii: "\\"):
                buffer.writeString("\\\\")
            case 0x08:
                buffer.writeString("\\b")
            case 0x0C:
                buffer.writeString("\\f")
            case 0x0A:
                buffer.writeString("\\n")
            case 0x0D:
                buffer.writeString("\\r")
            case 0x09:
                buffer.writeString("\\t")
            case 0..<0x20:
                buffer.writeString("\\u00")
                buffer.writeByte(self.hexDigit(byte >> 4))
                buffer.writeByte(self.hexDigit(byte & 0xF))
            default:
                buffer.writeByte(byte)
            }
        }
        buffer.writeByte(UInt8(ascii: "\""))
    }

    /// The lowercase hexadecimal digit for `nibble` (0-15), as `JSON.stringify` writes `\u001f`.
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? nibble &+ UInt8(ascii: "0") : nibble &- 10 &+ UInt8(ascii: "a")
    }
}
