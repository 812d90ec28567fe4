/// Input that is not valid Engine.IO v4: the transport closes the session with reason "parse error"
/// (and answers a polling POST `400`).
///
/// A struct around a private code so that adding a case never breaks callers. The description is fixed
/// text and never contains peer data.
public struct EngineIODecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The violation; each case has a public static member below.
    @usableFromInline
    enum Code: Hashable, Sendable {
        case emptyPacket
        case invalidPacketType
        case invalidBase64
        case tooManyPackets
    }

    /// Which violation this is.
    @usableFromInline
    let code: Code

    /// Wraps `code`; callers use the static members.
    @usableFromInline
    init(_ code: Code) {
        self.code = code
    }

    /// A packet with no bytes at all: an empty WebSocket message, an empty POST body, or two adjacent
    /// separators in a polling payload (the reference server rejects all of them).
    public static let emptyPacket = EngineIODecodeError(.emptyPacket)
    /// The first character is neither a type digit `0`-`6` nor `b`.
    public static let invalidPacketType = EngineIODecodeError(.invalidPacketType)
    /// A `b` packet whose data is not canonical, padded base64.
    public static let invalidBase64 = EngineIODecodeError(.invalidBase64)
    /// A polling payload holds more packets than the decoder's limit.
    public static let tooManyPackets = EngineIODecodeError(.tooManyPackets)

    /// A short label without detail, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .emptyPacket: "empty_packet"
        case .invalidPacketType: "invalid_packet_type"
        case .invalidBase64: "invalid_base64"
        case .tooManyPackets: "too_many_packets"
        }
    }

    /// A fixed sentence for logs.
    public var description: String {
        switch self.code {
        case .emptyPacket: "Engine.IO packet is empty"
        case .invalidPacketType: "Engine.IO packet type is not 0-6 or b"
        case .invalidBase64: "Engine.IO binary packet is not valid base64"
        case .tooManyPackets: "Engine.IO payload holds too many packets"
        }
    }
}
