public import IOCore

/// The two Engine.IO transports a request can name in `transport=`.
public enum EngineIOTransportKind: String, CaseIterable, Hashable, Sendable {
    /// HTTP long-polling.
    case polling
    /// WebSocket.
    case websocket
}

/// The query parameters Engine.IO looks at, already percent-decoded. Others (`t`, `b64`, `j`, ...)
/// are ignored, as the reference server ignores them.
public struct EngineIOQuery: Hashable, Sendable {
    /// `EIO`: the protocol revision; must be exactly `4` at the handshake.
    public var eio: String?
    /// `transport`: `polling` or `websocket`.
    public var transport: String?
    /// `sid`: the session id; an empty value counts as absent, as in the reference.
    public var sid: String?

    /// A query with the given values.
    public init(eio: String? = nil, transport: String? = nil, sid: String? = nil) {
        self.eio = eio
        self.transport = transport
        self.sid = sid
    }

    /// Picks the Engine.IO parameters out of decoded name/value pairs. When a name repeats, the last
    /// value wins, as with the reference's `Object.fromEntries(searchParams)`.
    public init(items: some Sequence<(name: String, value: String)>) {
        self.init()
        for item in items {
            switch item.name {
            case "EIO": self.eio = item.value
            case "transport": self.transport = item.value
            case "sid": self.sid = item.value
            default: break
            }
        }
    }
}

/// What `allowRequest` decided about a handshake.
public enum EngineIOAllowRequestDecision: Hashable, Sendable {
    /// Go on with the handshake.
    case allow
    /// Refuse with code 4 (HTTP 403); `message` replaces the default "Forbidden" when given.
    case refuse(message: String?)
}

/// Where a request that passed verification goes.
public enum EngineIORequestRoute: Hashable, Sendable {
    /// No `sid`: open a new session on this transport (for `websocket`, the request is an upgrade).
    case handshake(EngineIOTransportKind)
    /// A long-poll GET for a known polling session.
    case poll(sid: String)
    /// A POST of packets for a known polling session.
    case post(sid: String)
    /// Another method on a known polling session: the reference answers `500` with an empty body and
    /// keeps the session.
    case unsupportedPollingMethod(sid: String)
    /// A WebSocket upgrade (`transport=websocket`) for a known session. If the session is already
    /// upgraded (`currentTransport == .websocket`) or another probe is in progress, the reference
    /// completes the 101 and closes the new WebSocket at once (the official suite requires that rather
    /// than a refusal); otherwise it becomes the upgrade probe.
    case upgrade(sid: String, currentTransport: EngineIOTransportKind)
    /// An upgrade request naming `transport=polling`: the reference completes the 101 and closes the
    /// WebSocket at once, because polling does not handle upgrades.
    case acceptThenClose
}

/// Engine.IO's request checks, in the reference server's order (`Server.verify`, then `handshake`),
/// as a pure function.
public enum EngineIORequestVerifier {
    /// Verifies one request on the Engine.IO path and routes it.
    ///
    /// The checks, stopping at the first failure: the transport is known and enabled (code 0); the
    /// `Origin` header has no invalid character (3); with a `sid`: the session exists (1) and, unless
    /// this is an upgrade, uses the requested transport (3); without a `sid` (a handshake): the method
    /// is `GET` (2), a WebSocket handshake is an upgrade request (3), `allowRequest` agrees (4), and
    /// `EIO` is exactly `4` (5). `EIO` is not checked on requests that carry a `sid`.
    ///
    /// - Parameters:
    ///   - method: the HTTP method, case-sensitive (`GET`, `POST`, ...).
    ///   - query: the Engine.IO query parameters.
    ///   - isWebSocketUpgrade: whether the request asks for a WebSocket upgrade (`Connection: Upgrade`,
    ///     `Upgrade: websocket`).
    ///   - origin: the `Origin` header, if any.
    ///   - allowedTransports: the transports this server enables.
    ///   - sessionTransport: the current transport of the session with this id, or nil when there is
    ///     no such session.
    ///   - allowRequest: the application's admission check, run for handshakes only.
    /// - Returns: The route, or the error to answer with.
    public static func verify(
        method: String,
        query: EngineIOQuery,
        isWebSocketUpgrade: Bool,
        origin: String?,
        allowedTransports: Set<EngineIOTransportKind> = [.polling, .websocket],
        sessionTransport: (String) -> EngineIOTransportKind?,
        allowRequest: () -> EngineIOAllowRequestDecision = { .allow }
    ) -> Result<EngineIORequestRoute, EngineIORequestError> {
        guard let name = query.transport, let transport = EngineIOTransportKind(rawValue: name),
            allowedTransports.contains(transport)
        else {
            return .failure(.unknownTransport)
        }
        if let origin, !self.isValidHeaderValue(origin) {
            return .failure(.badRequest(.invalidOrigin))
        }
        if let sid = query.sid, !sid.isEmpty {
            guard let current = sessionTransport(sid) else {
                return .failure(.unknownSessionID)
            }
            if isWebSocketUpgrade {
                guard transport == .websocket else {
                    return .success(.acceptThenClose)
                }
                return .success(.upgrade(sid: sid, currentTransport: current))
            }
            guard current == transport else {
                return .failure(.badRequest(.transportMismatch))
            }
            guard transport == .polling else {
                // The reference hands such a request to the WebSocket transport, which never answers
                // it; a plain HTTP request cannot carry a WebSocket session, so refuse it.
                return .failure(.badRequest(.webSocketWithoutUpgrade))
            }
            switch method {
            case "GET": return .success(.poll(sid: sid))
            case "POST": return .success(.post(sid: sid))
            default: return .success(.unsupportedPollingMethod(sid: sid))
            }
        }
        guard method == "GET" else {
            return .failure(.badHandshakeMethod)
        }
        if transport == .websocket && !isWebSocketUpgrade {
            return .failure(.badRequest(.webSocketWithoutUpgrade))
        }
        if case .refuse(let message) = allowRequest() {
            return .failure(.forbidden(message: message))
        }
        if isWebSocketUpgrade && transport == .polling {
            return .success(.acceptThenClose)
        }
        guard query.eio == "4" else {
            return .failure(.unsupportedProtocolVersion)
        }
        return .success(.handshake(transport))
    }

    /// Whether `value` has only field-value characters: tab, visible ASCII, space and bytes 0x80 and
    /// above (Node's `checkInvalidHeaderChar`, which sees the header as Latin-1 bytes).
    static func isValidHeaderValue(_ value: String) -> Bool {
        for byte in value.utf8 where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
            return false
        }
        return true
    }
}

/// A request Engine.IO refuses, with the exact code, message and HTTP status the reference sends.
///
/// Polling (plain HTTP) answers carry ``httpStatus`` and the JSON ``writeJSONBody(into:)``
/// (`Content-Type: application/json`); a refused WebSocket upgrade gets
/// ``writeWebSocketRejection(into:)`` (always 400) and the connection is closed.
public struct EngineIORequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The Engine.IO error codes 0-5.
    @usableFromInline
    enum Code: Int, Hashable, Sendable {
        case unknownTransport = 0
        case unknownSessionID = 1
        case badHandshakeMethod = 2
        case badRequest = 3
        case forbidden = 4
        case unsupportedProtocolVersion = 5
    }

    /// Why a request is a "Bad request" (code 3); for logs, never sent.
    public enum BadRequestReason: String, Hashable, Sendable {
        /// The `Origin` header holds a character not allowed in a header value.
        case invalidOrigin = "invalid_origin"
        /// The session uses another transport (e.g. a polling request after the upgrade).
        case transportMismatch = "transport_mismatch"
        /// `transport=websocket` on a request that is not a WebSocket upgrade.
        case webSocketWithoutUpgrade = "websocket_without_upgrade"
    }

    /// Which error this is.
    @usableFromInline
    let kind: Code
    /// For code 3: the reason, for logs.
    public let badRequestReason: BadRequestReason?
    /// The message sent; the default text, or the `allowRequest` message for code 4.
    public let message: String

    /// An error of `kind` with its default message.
    @usableFromInline
    init(_ kind: Code, reason: BadRequestReason? = nil, message: String? = nil) {
        self.kind = kind
        self.badRequestReason = reason
        // As the reference: an empty custom message falls back to the default text.
        if let message, !message.isEmpty {
            self.message = message
        } else {
            self.message = Self.defaultMessage(kind)
        }
    }

    /// Code 0, "Transport unknown": `transport` is missing, unknown or disabled.
    public static let unknownTransport = EngineIORequestError(.unknownTransport)
    /// Code 1, "Session ID unknown": no session has this `sid` (any more).
    public static let unknownSessionID = EngineIORequestError(.unknownSessionID)
    /// Code 2, "Bad handshake method": a handshake (no `sid`) that is not a GET.
    public static let badHandshakeMethod = EngineIORequestError(.badHandshakeMethod)
    /// Code 3, "Bad request", for `reason`.
    public static func badRequest(_ reason: BadRequestReason) -> EngineIORequestError {
        EngineIORequestError(.badRequest, reason: reason)
    }
    /// Code 4, "Forbidden" or `message`: `allowRequest` refused the handshake. HTTP 403.
    public static func forbidden(message: String? = nil) -> EngineIORequestError {
        EngineIORequestError(.forbidden, message: message)
    }
    /// Code 5, "Unsupported protocol version": `EIO` is not exactly `4`.
    public static let unsupportedProtocolVersion = EngineIORequestError(.unsupportedProtocolVersion)

    /// The Engine.IO error code, 0-5.
    public var code: Int { self.kind.rawValue }

    /// The HTTP status of a plain HTTP answer: 403 for code 4, else 400.
    public var httpStatus: Int { self.kind == .forbidden ? 403 : 400 }

    /// Appends the JSON body of a plain HTTP answer, e.g. `{"code":1,"message":"Session ID unknown"}`.
    public func writeJSONBody(into buffer: inout ByteBuffer) {
        buffer.writeString("{\"code\":")
        buffer.writeDecimal(self.code)
        buffer.writeString(",\"message\":")
        EngineIOJSON.writeString(self.message, into: &buffer)
        buffer.writeByte(UInt8(ascii: "}"))
    }

    /// The JSON body of a plain HTTP answer.
    public var jsonBody: ByteBuffer {
        var buffer = ByteBuffer()
        self.writeJSONBody(into: &buffer)
        return buffer
    }

    /// Appends the raw HTTP response the reference writes on a refused upgrade request, before
    /// closing the connection: always `400 Bad Request`, the message as a `text/html` body.
    public func writeWebSocketRejection(into buffer: inout ByteBuffer) {
        buffer.writeString(
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: "
        )
        buffer.writeDecimal(self.message.utf8.count)
        buffer.writeString("\r\n\r\n")
        buffer.writeString(self.message)
    }

    /// A short label without detail, safe as a metric label.
    public var shortDescription: String {
        switch self.kind {
        case .unknownTransport: "unknown_transport"
        case .unknownSessionID: "unknown_sid"
        case .badHandshakeMethod: "bad_handshake_method"
        case .badRequest: "bad_request"
        case .forbidden: "forbidden"
        case .unsupportedProtocolVersion: "unsupported_protocol_version"
        }
    }

    /// The code and label, plus the reason for code 3; never the (possibly custom) message.
    public var description: String {
        if let reason = self.badRequestReason {
            return "Engine.IO request refused: code \(self.code) \(self.shortDescription) (\(reason.rawValue))"
        }
        return "Engine.IO request refused: code \(self.code) \(self.shortDescription)"
    }

    /// The reference server's message for each code.
    private static func defaultMessage(_ kind: Code) -> String {
        switch kind {
        case .unknownTransport: "Transport unknown"
        case .unknownSessionID: "Session ID unknown"
        case .badHandshakeMethod: "Bad handshake method"
        case .badRequest: "Bad request"
        case .forbidden: "Forbidden"
        case .unsupportedProtocolVersion: "Unsupported protocol version"
        }
    }
}
