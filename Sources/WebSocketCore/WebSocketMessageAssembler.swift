public import IOCore

/// What a connection receives, once frames are joined into messages and checked.
public enum WebSocketEvent: Sendable, Hashable {
    /// A complete text message; its bytes are valid UTF-8.
    case text(ByteBuffer)
    /// A complete binary message.
    case binary(ByteBuffer)
    /// A ping; the connection should answer with a pong carrying the same payload.
    case ping(ByteBuffer)
    /// A pong.
    case pong(ByteBuffer)
    /// The peer started or answered the closing handshake. `code` is nil when the frame carried none
    /// (report 1005 to the application in that case); `reason` is valid UTF-8 and at most 123 bytes.
    case close(code: WebSocketCloseCode?, reason: String)
}

/// The receive side of one WebSocket connection: joins fragments into messages and enforces the
/// message-level rules of RFC 6455 (sections 5.4, 5.5.1, 7.4 and 8.1).
///
/// - Fragments: a continuation without an open message, or a new text or binary frame while one is
///   open, is a protocol error (1002). Control frames between fragments are delivered at once.
/// - Size: a message that grows past `maxMessageSize` fails (1009) as soon as the fragment that
///   crosses the limit arrives, before it is stored.
/// - Text: UTF-8 is validated incrementally, fragment by fragment, so invalid bytes fail (1007) when
///   they arrive; a code point may be split between fragments but not left unfinished at the end.
/// - Close: a one-byte payload or a code not valid on the wire is a protocol error (1002); a reason
///   that is not UTF-8 fails with 1007.
///
/// A message that arrives in a single frame is passed on without copying its payload. After it throws,
/// the assembler stays failed and throws the same error again.
public struct WebSocketMessageAssembler: Sendable {
    /// The largest message accepted, summed over its fragments.
    public let maxMessageSize: Int

    /// The opcode of the fragmented message in progress (text or binary), or nil between messages.
    private var messageOpcode: WebSocketOpcode?
    /// The fragments received so far of the message in progress.
    private var message = ByteBuffer()
    /// The UTF-8 state of the text message in progress, carried across fragment boundaries.
    private var validator = UTF8Validator()
    /// The error thrown, if any; every later call throws it again.
    private var failure: WebSocketProtocolError?

    /// An assembler for one connection.
    ///
    /// - Parameter maxMessageSize: The largest message accepted, summed over its fragments.
    public init(maxMessageSize: Int) {
        precondition(maxMessageSize >= 0, "maxMessageSize must not be negative")
        self.maxMessageSize = maxMessageSize
    }

    /// Whether a fragmented message is open, waiting for continuation frames.
    public var isAssemblingMessage: Bool { self.messageOpcode != nil }

    /// Takes the next frame received.
    ///
    /// - Parameter frame: A frame from ``WebSocketFrameParser``, in order.
    /// - Returns: The event the frame completes, or nil when it is a fragment of a message still open.
    /// - Throws: ``WebSocketProtocolError`` when the frame breaks RFC 6455.
    public mutating func receive(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> WebSocketEvent? {
        if let failure = self.failure {
            throw failure
        }
        if frame.rsv1 || frame.rsv2 || frame.rsv3 {
            throw self.fail(.reservedBitsSet)
        }
        switch frame.opcode {
        case .text, .binary:
            return try self.receiveFirstFragment(frame)
        case .continuation:
            return try self.receiveContinuation(frame)
        case .ping, .pong, .close:
            // The parser already enforces these, but frames may come from elsewhere.
            if !frame.fin {
                throw self.fail(.fragmentedControlFrame)
            }
            if frame.payload.readableBytes > 125 {
                throw self.fail(.controlFrameTooLong)
            }
            switch frame.opcode {
            case .ping: return .ping(frame.payload)
            case .pong: return .pong(frame.payload)
            default: return try self.receiveClose(frame.payload)
            }
        }
    }

    /// Records `error` so that every later call throws it, and returns it for throwing.
    private mutating func fail(_ error: WebSocketProtocolError) -> WebSocketProtocolError {
        self.failure = error
        return error
    }

    /// A text or binary frame: a whole message, or the first fragment of one.
    private mutating func receiveFirstFragment(
        _ frame: WebSocketFrame
    ) throws(WebSocketProtocolError) -> WebSocketEvent? {
        if self.messageOpcode != nil {
            throw self.fail(.unfinishedMessage)
        }
        if frame.payload.readableBytes > self.maxMessageSize {
            throw self.fail(.messageTooLarge)
        }
        let isText = frame.opcode == .text
        if isText {
            var validator = UTF8Validator()
            let valid = frame.payload.withUnsafeReadableBytes { validator.validate($0) }
            if !valid || (frame.fin && !validator.isComplete) {
                throw self.fail(.invalidUTF8)
            }
            if frame.fin {
                return .text(frame.payload)
            }
            self.validator = validator
        } else if frame.fin {
            return .binary(frame.payload)
        }
        self.messageOpcode = frame.opcode
        self.message = frame.payload
        return nil
    }

    /// A continuation frame: the next fragment of the open message.
    private mutating func receiveContinuation(
        _ frame: WebSocketFrame
    ) throws(WebSocketProtocolError) -> WebSocketEvent? {
        guard let opcode = self.messageOpcode else {
            throw self.fail(.unexpectedContinuation)
        }
        if frame.payload.readableBytes > self.maxMessageSize &- self.message.readableBytes {
            throw self.fail(.messageTooLarge)
        }
        if opcode == .text {
            let valid = frame.payload.withUnsafeReadableBytes { self.validator.validate($0) }
            if !valid || (frame.fin && !self.validator.isComplete) {
                throw self.fail(.invalidUTF8)
            }
        }
        self.message.writeBuffer(frame.payload)
        guard frame.fin else {
            return nil
        }
        let message = self.message
        self.message = ByteBuffer()
        self.messageOpcode = nil
        self.validator.reset()
        return opcode == .text ? .text(message) : .binary(message)
    }

    /// A close frame's payload: nothing, or a two-byte code followed by a UTF-8 reason.
    private mutating func receiveClose(_ payload: ByteBuffer) throws(WebSocketProtocolError) -> WebSocketEvent {
        let count = payload.readableBytes
        if count == 0 {
            return .close(code: nil, reason: "")
        }
        if count == 1 {
            throw self.fail(.invalidClosePayload)
        }
        let result: Result<WebSocketEvent, WebSocketProtocolError> = payload.withUnsafeReadableBytes { raw in
            let code = WebSocketCloseCode(UInt16(raw[0]) << 8 | UInt16(raw[1]))
            guard code.isValidOnWire else {
                return .failure(.invalidCloseCode)
            }
            let reasonBytes = UnsafeRawBufferPointer(rebasing: raw[2...])
            guard UTF8Validator.isValid(reasonBytes) else {
                return .failure(.invalidUTF8)
            }
            return .success(.close(code: code, reason: String(decoding: reasonBytes, as: UTF8.self)))
        }
        switch result {
        case .success(let event): return event
        case .failure(let error): throw self.fail(error)
        }
    }
}
