public import JSON

/// A Socket.IO packet, or a sequence of them, that is not valid v5: the reference server closes the
/// whole Engine.IO connection (a WebSocket close frame, or the polling session).
///
/// A struct around a private code so that adding a case never breaks callers. The description is
/// fixed text plus, for JSON errors, the JSON error's own description (a kind and a byte offset):
/// never payload text, which is customer data.
public struct SocketIODecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The violation; each case has a public static member below.
    @usableFromInline
    enum Code: Hashable, Sendable {
        case emptyPacket
        case invalidPacketType
        case invalidAttachmentCount
        case tooManyAttachments
        case namespaceTooLong
        case invalidNamespace
        case invalidAckID
        case invalidJSON
        case invalidPayload
        case missingPayload
        case reservedEventName
        case unexpectedTextPacket
        case unexpectedBinaryPacket
        case invalidPlaceholder
    }

    /// Which violation this is.
    @usableFromInline
    let code: Code
    /// For ``invalidJSON(_:)``: what the JSON parser reported.
    public let jsonError: JSONError?

    /// Wraps `code`; callers use the static members.
    @usableFromInline
    init(_ code: Code, jsonError: JSONError? = nil) {
        self.code = code
        self.jsonError = jsonError
    }

    /// A text packet with no bytes.
    public static let emptyPacket = SocketIODecodeError(.emptyPacket)
    /// The first character is not a type digit `0`-`6`.
    public static let invalidPacketType = SocketIODecodeError(.invalidPacketType)
    /// A BINARY_EVENT or BINARY_ACK whose attachment count is not digits followed by `-`.
    public static let invalidAttachmentCount = SocketIODecodeError(.invalidAttachmentCount)
    /// More attachments announced than the decoder's limit (the reference's `maxAttachments`, 10).
    public static let tooManyAttachments = SocketIODecodeError(.tooManyAttachments)
    /// A namespace longer than the decoder's limit.
    public static let namespaceTooLong = SocketIODecodeError(.namespaceTooLong)
    /// A namespace that is not valid UTF-8.
    public static let invalidNamespace = SocketIODecodeError(.invalidNamespace)
    /// An ack id beyond 2^53 - 1, the largest integer a JavaScript peer can send exactly.
    public static let invalidAckID = SocketIODecodeError(.invalidAckID)
    /// The payload is not JSON (this also covers `42abc[...]`: a non-digit where the ack id would be).
    public static func invalidJSON(_ error: JSONError) -> SocketIODecodeError {
        SocketIODecodeError(.invalidJSON, jsonError: error)
    }
    /// The payload is JSON of the wrong shape for the packet type (e.g. `42{}`, `40[]`, `41{}`).
    public static let invalidPayload = SocketIODecodeError(.invalidPayload)
    /// An EVENT without payload; the specification requires a non-empty array.
    public static let missingPayload = SocketIODecodeError(.missingPayload)
    /// An EVENT named `connect`, `connect_error`, `disconnect`, `disconnecting`, `newListener` or
    /// `removeListener`, which the reference refuses.
    public static let reservedEventName = SocketIODecodeError(.reservedEventName)
    /// A text packet arrived while the attachments of a binary packet were still expected.
    public static let unexpectedTextPacket = SocketIODecodeError(.unexpectedTextPacket)
    /// A binary message arrived while no binary packet was waiting for attachments.
    public static let unexpectedBinaryPacket = SocketIODecodeError(.unexpectedBinaryPacket)
    /// A placeholder that is not exactly `{"_placeholder":true,"num":N}` with an integer N in
    /// `0..<attachments`.
    public static let invalidPlaceholder = SocketIODecodeError(.invalidPlaceholder)

    /// Equality by violation; the JSON detail does not count, so `catch` patterns on the static
    /// members work.
    public static func == (lhs: SocketIODecodeError, rhs: SocketIODecodeError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes the violation only, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }

    /// A short label without detail, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .emptyPacket: "empty_packet"
        case .invalidPacketType: "invalid_packet_type"
        case .invalidAttachmentCount: "invalid_attachment_count"
        case .tooManyAttachments: "too_many_attachments"
        case .namespaceTooLong: "namespace_too_long"
        case .invalidNamespace: "invalid_namespace"
        case .invalidAckID: "invalid_ack_id"
        case .invalidJSON: "invalid_json"
        case .invalidPayload: "invalid_payload"
        case .missingPayload: "missing_payload"
        case .reservedEventName: "reserved_event_name"
        case .unexpectedTextPacket: "unexpected_text_packet"
        case .unexpectedBinaryPacket: "unexpected_binary_packet"
        case .invalidPlaceholder: "invalid_placeholder"
        }
    }

    /// A fixed sentence for logs.
    public var description: String {
        let text: String =
            switch self.code {
            case .emptyPacket: "Socket.IO packet is empty"
            case .invalidPacketType: "Socket.IO packet type is not 0-6"
            case .invalidAttachmentCount: "Socket.IO attachment count is not digits followed by '-'"
            case .tooManyAttachments: "Socket.IO packet announces too many attachments"
            case .namespaceTooLong: "Socket.IO namespace is too long"
            case .invalidNamespace: "Socket.IO namespace is not valid UTF-8"
            case .invalidAckID: "Socket.IO ack id is too large"
            case .invalidJSON: "Socket.IO payload is not valid JSON"
            case .invalidPayload: "Socket.IO payload has the wrong shape for its packet type"
            case .missingPayload: "Socket.IO event has no payload"
            case .reservedEventName: "Socket.IO event uses a reserved name"
            case .unexpectedTextPacket: "Socket.IO text packet arrived while binary attachments were expected"
            case .unexpectedBinaryPacket: "Socket.IO binary attachment arrived while none was expected"
            case .invalidPlaceholder: "Socket.IO binary placeholder is malformed or out of range"
            }
        if let jsonError = self.jsonError {
            return "\(text): \(jsonError)"
        }
        return text
    }
}

/// Hard limits for decoding untrusted Socket.IO packets.
public struct SocketIODecoderLimits: Hashable, Sendable {
    /// The most binary attachments one packet may announce; the reference's `maxAttachments` (10).
    public var maxAttachments: Int
    /// The longest namespace accepted, in bytes, `/` included.
    public var maxNamespaceLength: Int
    /// Limits for the JSON payload.
    public var json: JSONLimits

    /// Limits for untrusted input.
    ///
    /// - Parameters:
    ///   - maxAttachments: 10 by default, as the reference.
    ///   - maxNamespaceLength: 256 bytes by default; namespaces are names chosen by the application.
    ///   - json: the JSON parser's defaults by default.
    public init(maxAttachments: Int = 10, maxNamespaceLength: Int = 256, json: JSONLimits = JSONLimits()) {
        self.maxAttachments = maxAttachments
        self.maxNamespaceLength = maxNamespaceLength
        self.json = json
    }
}
