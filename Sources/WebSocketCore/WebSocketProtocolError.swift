/// A peer broke RFC 6455: the connection must be failed with ``closeCode``.
///
/// A struct around a private code so that adding a case never breaks callers. ``reason`` is fixed text
/// that never contains peer data, so it is safe both as the close frame's reason and in logs.
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The violation; each case has a public static member below.
    @usableFromInline
    enum Code: Hashable, Sendable {
        case reservedBitsSet
        case unknownOpcode
        case fragmentedControlFrame
        case controlFrameTooLong
        case invalidPayloadLength
        case frameTooLarge
        case unmaskedFrame
        case maskedFrame
        case unexpectedContinuation
        case unfinishedMessage
        case messageTooLarge
        case invalidUTF8
        case invalidClosePayload
        case invalidCloseCode
    }

    /// Which violation this is.
    @usableFromInline
    let code: Code

    /// Wraps `code`; callers use the static members.
    @usableFromInline
    init(_ code: Code) {
        self.code = code
    }

    /// An RSV bit is set although no extension was negotiated (1002).
    public static let reservedBitsSet = WebSocketProtocolError(.reservedBitsSet)
    /// The opcode is one of the reserved values 3-7 or 11-15 (1002).
    public static let unknownOpcode = WebSocketProtocolError(.unknownOpcode)
    /// A control frame has FIN clear; control frames must not be fragmented (1002).
    public static let fragmentedControlFrame = WebSocketProtocolError(.fragmentedControlFrame)
    /// A control frame carries more than 125 payload bytes (1002).
    public static let controlFrameTooLong = WebSocketProtocolError(.controlFrameTooLong)
    /// A 64-bit payload length has its most significant bit set (1002).
    public static let invalidPayloadLength = WebSocketProtocolError(.invalidPayloadLength)
    /// A frame's payload is larger than the parser's `maxFrameSize` (1009).
    public static let frameTooLarge = WebSocketProtocolError(.frameTooLarge)
    /// A client sent a frame without a mask (1002).
    public static let unmaskedFrame = WebSocketProtocolError(.unmaskedFrame)
    /// A server sent a masked frame (1002).
    public static let maskedFrame = WebSocketProtocolError(.maskedFrame)
    /// A continuation frame arrived while no fragmented message was open (1002).
    public static let unexpectedContinuation = WebSocketProtocolError(.unexpectedContinuation)
    /// A new text or binary frame arrived while a fragmented message was still open (1002).
    public static let unfinishedMessage = WebSocketProtocolError(.unfinishedMessage)
    /// A message grew past the assembler's `maxMessageSize` (1009).
    public static let messageTooLarge = WebSocketProtocolError(.messageTooLarge)
    /// A text message or a close reason is not valid UTF-8 (1007).
    public static let invalidUTF8 = WebSocketProtocolError(.invalidUTF8)
    /// A close frame carries exactly one payload byte: half a status code (1002).
    public static let invalidClosePayload = WebSocketProtocolError(.invalidClosePayload)
    /// A close frame carries a status code that may not be sent on the wire (1002).
    public static let invalidCloseCode = WebSocketProtocolError(.invalidCloseCode)

    /// The code to send in our close frame before closing the connection.
    public var closeCode: WebSocketCloseCode {
        switch self.code {
        case .frameTooLarge, .messageTooLarge: .messageTooBig
        case .invalidUTF8: .invalidPayloadData
        default: .protocolError
        }
    }

    /// Fixed text describing the violation; short enough for a close frame (at most 123 bytes).
    public var reason: String {
        switch self.code {
        case .reservedBitsSet: "reserved bits set"
        case .unknownOpcode: "unknown opcode"
        case .fragmentedControlFrame: "fragmented control frame"
        case .controlFrameTooLong: "control frame too long"
        case .invalidPayloadLength: "invalid payload length"
        case .frameTooLarge: "frame too large"
        case .unmaskedFrame: "client frame not masked"
        case .maskedFrame: "server frame masked"
        case .unexpectedContinuation: "unexpected continuation frame"
        case .unfinishedMessage: "previous message not finished"
        case .messageTooLarge: "message too large"
        case .invalidUTF8: "invalid UTF-8"
        case .invalidClosePayload: "invalid close payload"
        case .invalidCloseCode: "invalid close code"
        }
    }

    /// A short label without spaces, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .reservedBitsSet: "reserved_bits_set"
        case .unknownOpcode: "unknown_opcode"
        case .fragmentedControlFrame: "fragmented_control_frame"
        case .controlFrameTooLong: "control_frame_too_long"
        case .invalidPayloadLength: "invalid_payload_length"
        case .frameTooLarge: "frame_too_large"
        case .unmaskedFrame: "unmasked_frame"
        case .maskedFrame: "masked_frame"
        case .unexpectedContinuation: "unexpected_continuation"
        case .unfinishedMessage: "unfinished_message"
        case .messageTooLarge: "message_too_large"
        case .invalidUTF8: "invalid_utf8"
        case .invalidClosePayload: "invalid_close_payload"
        case .invalidCloseCode: "invalid_close_code"
        }
    }

    /// The reason and the close code, for logs.
    public var description: String { "\(self.reason) (\(self.closeCode.rawValue))" }
}
