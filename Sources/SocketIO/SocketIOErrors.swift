public import JSON

/// Why a socket left its namespace; the texts are the reference server's.
public enum SocketIODisconnectReason: String, Sendable, Hashable {
    /// The server called `disconnect()` on the socket.
    case serverNamespaceDisconnect = "server namespace disconnect"
    /// The client left the namespace (a DISCONNECT packet).
    case clientNamespaceDisconnect = "client namespace disconnect"
    /// The server closed the whole connection (`disconnect(closeTransport: true)`).
    case serverDisconnect = "server disconnect"
    /// The transport failed.
    case transportError = "transport error"
    /// The transport closed (the client went away or closed it).
    case transportClose = "transport close"
    /// The Engine.IO session was closed by the server.
    case forcedClose = "forced close"
    /// The client stopped answering pings.
    case pingTimeout = "ping timeout"
    /// The client sent a packet that could not be decoded.
    case parseError = "parse error"
    /// The server is shutting down.
    case serverShuttingDown = "server shutting down"

    /// Whether a client may recover its session after this reason (connection state recovery).
    var isRecoverable: Bool {
        switch self {
        case .transportError, .transportClose, .forcedClose, .pingTimeout, .serverShuttingDown: true
        case .serverNamespaceDisconnect, .clientNamespaceDisconnect, .serverDisconnect, .parseError: false
        }
    }
}

/// A middleware's refusal of a connection, sent to the client as CONNECT_ERROR `{message, data}`.
public struct SocketIOConnectError: Error, Sendable, Hashable {
    /// Shown to the client (`err.message` in the JS client).
    public var message: String
    /// Extra detail for the client (`err.data`), omitted when nil.
    public var data: JSONValue?

    /// A refusal.
    public init(message: String, data: JSONValue? = nil) {
        self.message = message
        self.data = data
    }
}

/// Why an emit could not be sent.
public struct SocketIOEmitError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: Sendable, Hashable { case reservedEventName, disconnected }
    let code: Code
    /// The event name involved.
    public let event: String

    /// The event name is reserved by the protocol (`connect`, `disconnect`, ...).
    public static func reservedEventName(_ event: String) -> SocketIOEmitError { .init(code: .reservedEventName, event: event) }
    /// The socket is no longer connected.
    public static func disconnected(_ event: String) -> SocketIOEmitError { .init(code: .disconnected, event: event) }

    public var description: String {
        switch self.code {
        case .reservedEventName: "'\(self.event)' is a reserved event name"
        case .disconnected: "socket disconnected before '\(self.event)' could be sent"
        }
    }
}

/// Why an acknowledgement did not arrive.
public struct SocketIOAckError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: Sendable, Hashable { case timedOut, disconnected }
    let code: Code
    /// For broadcasts: the answers that did arrive before the timeout.
    public let partialResponses: [JSONValue]

    /// No answer within the timeout ("operation has timed out").
    public static let timedOut = SocketIOAckError(code: .timedOut, partialResponses: [])
    /// The socket disconnected first.
    public static let disconnected = SocketIOAckError(code: .disconnected, partialResponses: [])
    static func timedOut(partial: [JSONValue]) -> SocketIOAckError { .init(code: .timedOut, partialResponses: partial) }

    public var description: String {
        switch self.code {
        case .timedOut: "operation has timed out"
        case .disconnected: "socket has been disconnected"
        }
    }

    public static func == (lhs: SocketIOAckError, rhs: SocketIOAckError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// Event names the protocol reserves; the server may not emit them.
let reservedEventNames: Set<String> = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
