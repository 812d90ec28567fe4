/// The status code of a close frame (RFC 6455 section 7.4), with the registered codes as static members.
///
/// It wraps any `UInt16` so that codes a peer sends can be represented before they are checked with
/// ``isValidOnWire``.
public struct WebSocketCloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The numeric code.
    public var rawValue: UInt16

    /// Wraps `rawValue`; any value is accepted (see ``isValidOnWire``).
    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Wraps `rawValue`; any value is accepted (see ``isValidOnWire``).
    @inlinable
    public init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// 1000: the purpose of the connection was fulfilled.
    public static let normalClosure = WebSocketCloseCode(1000)
    /// 1001: the endpoint is going away (server shutting down, browser leaving the page).
    public static let goingAway = WebSocketCloseCode(1001)
    /// 1002: the peer broke the protocol.
    public static let protocolError = WebSocketCloseCode(1002)
    /// 1003: the endpoint received a kind of data it cannot accept.
    public static let unsupportedData = WebSocketCloseCode(1003)
    /// 1005: the close frame carried no code. Reserved: never sent on the wire.
    public static let noStatusReceived = WebSocketCloseCode(1005)
    /// 1006: the connection dropped without a close frame. Reserved: never sent on the wire.
    public static let abnormalClosure = WebSocketCloseCode(1006)
    /// 1007: a message's data did not match its type (for example, a text message that is not UTF-8).
    public static let invalidPayloadData = WebSocketCloseCode(1007)
    /// 1008: a message violated the endpoint's policy.
    public static let policyViolation = WebSocketCloseCode(1008)
    /// 1009: a frame or message is too big to process.
    public static let messageTooBig = WebSocketCloseCode(1009)
    /// 1010: the client expected an extension the server did not negotiate.
    public static let mandatoryExtension = WebSocketCloseCode(1010)
    /// 1011: the server hit an unexpected condition.
    public static let internalError = WebSocketCloseCode(1011)
    /// 1012: the service is restarting (IANA registry).
    public static let serviceRestart = WebSocketCloseCode(1012)
    /// 1013: try again later, for example when overloaded (IANA registry).
    public static let tryAgainLater = WebSocketCloseCode(1013)
    /// 1014: a gateway or proxy got an invalid response upstream (IANA registry).
    public static let badGateway = WebSocketCloseCode(1014)
    /// 1015: the TLS handshake failed. Reserved: never sent on the wire.
    public static let tlsHandshakeFailure = WebSocketCloseCode(1015)

    /// Whether an endpoint may send this code in a close frame, and so whether one received is acceptable.
    ///
    /// RFC 6455 section 7.4 defines 1000-1003 and 1007-1011; the IANA registry adds 1012-1014. 1004 is
    /// reserved, 1005, 1006 and 1015 are reserved for local use and must never be sent, the rest of
    /// 0-2999 is reserved for the protocol, and 3000-4999 belong to libraries and applications.
    /// Everything else is invalid, and receiving it is a protocol error.
    @inlinable
    public var isValidOnWire: Bool {
        switch self.rawValue {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// The decimal code.
    public var description: String { String(self.rawValue) }
}
