public import EngineIOCore
public import HTTP

/// How an Engine.IO server behaves; the defaults are the reference server's.
public struct EngineIOConfiguration: Sendable {
    /// The URL path prefix, with both slashes: `/engine.io/` or, under Socket.IO, `/socket.io/`.
    public var path = "/engine.io/"
    /// How often the server pings.
    public var pingInterval: Duration = .seconds(25)
    /// How long the server waits for the pong before closing the session.
    public var pingTimeout: Duration = .seconds(20)
    /// The largest message (WebSocket) or POST body (polling) accepted, in bytes; announced as `maxPayload`.
    public var maxPayload = 1_000_000
    /// The transports offered. A Manifest V3 extension's service worker can only use `websocket`.
    public var transports: Set<EngineIOTransportKind> = [.polling, .websocket]
    /// Whether a polling session may upgrade to WebSocket.
    public var allowUpgrades = true
    /// How long an upgrade may take from the probe WebSocket's arrival to the `5` packet.
    public var upgradeTimeout: Duration = .seconds(10)
    /// Cross-origin policy, applied to polling responses and to the WebSocket upgrade's `Origin`;
    /// nil sends no CORS headers and accepts every origin.
    public var cors: CORSPolicy?
    /// Decides on each handshake (a request without `sid`); returning a message refuses it with 403.
    public var allowRequest: (@Sendable (HTTPRequest) -> String?)?
    /// Most sessions at once on this server; handshakes past it are refused with 503.
    public var maximumSessions = 1_000_000

    /// The defaults.
    public init() {}
}
