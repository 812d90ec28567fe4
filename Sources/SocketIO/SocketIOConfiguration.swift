public import EngineIO
public import SocketIOCore

/// How a Socket.IO server behaves; the defaults are the reference server's.
public struct SocketIOConfiguration: Sendable {
    /// The Engine.IO layer; its path defaults to `/socket.io/` here.
    public var engine: EngineIOConfiguration
    /// How long a new connection may take to join its first namespace before it is closed.
    public var connectTimeout: Duration = .seconds(45)
    /// Connection state recovery (missed packets replayed and rooms restored after a short
    /// disconnection); off unless set, as in the reference server.
    public var connectionStateRecovery: ConnectionStateRecovery?
    /// Packet decoder limits (attachments, namespace length, JSON depth and sizes).
    public var decoderLimits = SocketIODecoderLimits()

    /// The defaults, on `/socket.io/`.
    public init() {
        self.engine = EngineIOConfiguration()
        self.engine.path = "/socket.io/"
    }
}

/// Settings of connection state recovery.
public struct ConnectionStateRecovery: Sendable {
    /// How long after a disconnection a client may come back and recover its session.
    public var maxDisconnectionDuration: Duration = .seconds(120)
    /// Whether a recovered socket skips the namespace's middlewares.
    public var skipMiddlewares = true
    /// The most packets kept for replay per namespace; older ones are dropped first.
    public var maximumStoredPackets = 10_000

    /// The defaults.
    public init() {}
}
