/// The kind of a WebSocket frame: the low four bits of its first byte (RFC 6455 section 5.2).
///
/// Opcodes 3-7 and 11-15 are reserved; the parser rejects them, so they have no case here.
public enum WebSocketOpcode: UInt8, Sendable, Hashable, CaseIterable {
    /// Carries the next fragment of a text or binary message.
    case continuation = 0x0
    /// Starts a text message (UTF-8).
    case text = 0x1
    /// Starts a binary message.
    case binary = 0x2
    /// Starts or answers the closing handshake.
    case close = 0x8
    /// Asks the peer for a pong.
    case ping = 0x9
    /// Answers a ping, or serves as an unsolicited heartbeat.
    case pong = 0xA

    /// Whether this is a control frame (close, ping or pong): control frames are never fragmented,
    /// carry at most 125 payload bytes and may arrive between the fragments of a message.
    @inlinable
    public var isControl: Bool { self.rawValue & 0x8 != 0 }
}
