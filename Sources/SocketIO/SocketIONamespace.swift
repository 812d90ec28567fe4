import EngineIO
import IOCore
import IOPosix
public import JSON
import SocketIOCore

/// A Socket.IO namespace: its middlewares, its handlers and its sockets' rooms (through its adapter).
///
/// Shared by every loop: set it up (middlewares, handlers) before clients connect; handlers registered
/// here run on each socket's own loop, possibly on several loops at once, so they are `@Sendable`.
public final class SocketIONamespace: Sendable {
    /// The name, starting with `/`.
    public let name: String
    /// Where the namespace's sockets and rooms are kept and broadcasts are delivered.
    public let adapter: any SocketIOAdapter
    let group: EventLoopGroup
    let recovery: ConnectionStateRecovery?
    let recoveryStore: RecoveryStore?
    private let state = Locked(State())
    private let ackIDs = Locked(0)

    /// A middleware that runs on the socket's loop before it joins; returning an error refuses the connection.
    public typealias Middleware = @Sendable (SocketIOSocket) -> SocketIOConnectError?
    /// A middleware that may wait (a rate limit in Redis, say); it sees the handshake, not the socket.
    public typealias AsyncMiddleware = @Sendable (SocketIOHandshake) async -> SocketIOConnectError?
    /// Shared event handler, called on each socket's loop.
    public typealias SharedEventHandler = @Sendable (SocketIOSocket, SocketIOEvent) -> Void

    enum AnyMiddleware: Sendable {
        case sync(Middleware)
        case async(AsyncMiddleware)
    }

    /// The handlers a socket takes at connection time; immutable once built.
    final class Handlers: Sendable {
        let connection: [@Sendable (SocketIOSocket) -> Void]
        let events: [String: SharedEventHandler]
        let any: SharedEventHandler?
        let disconnect: [@Sendable (SocketIOSocket, SocketIODisconnectReason) -> Void]
        let middlewares: [AnyMiddleware]

        init(
            connection: [@Sendable (SocketIOSocket) -> Void] = [], events: [String: SharedEventHandler] = [:],
            any: SharedEventHandler? = nil, disconnect: [@Sendable (SocketIOSocket, SocketIODisconnectReason) -> Void] = [],
            middlewares: [AnyMiddleware] = []
        ) {
            self.connection = connection
            self.events = events
            self.any = any
            self.disconnect = disconnect
            self.middlewares = middlewares
        }
    }

    private struct State {
        var handlers = Handlers()
    }

    init(name: String, group: EventLoopGroup, recovery: ConnectionStateRecovery?, adapter: any SocketIOAdapter, inheriting: Handlers? = nil) {
        self.name = name
        self.group = group
        self.recovery = recovery
        self.recoveryStore = recovery.map { RecoveryStore(configuration: $0) }
        self.adapter = adapter
        self.state.withLock { $0.handlers = inheriting ?? Handlers() }
    }

    /// The current handlers (a snapshot).
    var handlers: Handlers { self.state.withLock { $0.handlers } }

    private func update(_ change: (Handlers) -> Handlers) {
        self.state.withLock { $0.handlers = change($0.handlers) }
    }

    // MARK: Setup

    /// Adds a middleware; middlewares run in order for each connection.
    public func use(_ middleware: @escaping Middleware) {
        self.update { Handlers(connection: $0.connection, events: $0.events, any: $0.any, disconnect: $0.disconnect, middlewares: $0.middlewares + [.sync(middleware)]) }
    }

    /// Adds a middleware that may suspend.
    public func use(async middleware: @escaping AsyncMiddleware) {
        self.update { Handlers(connection: $0.connection, events: $0.events, any: $0.any, disconnect: $0.disconnect, middlewares: $0.middlewares + [.async(middleware)]) }
    }

    /// Calls `handler` for each socket that joins, on its loop, after the CONNECT answer was sent.
    public func onConnection(_ handler: @escaping @Sendable (SocketIOSocket) -> Void) {
        self.update { Handlers(connection: $0.connection + [handler], events: $0.events, any: $0.any, disconnect: $0.disconnect, middlewares: $0.middlewares) }
    }

    /// Calls `handler` for `event` from any socket of the namespace (a socket's own `on` takes precedence).
    public func on(_ event: String, _ handler: @escaping SharedEventHandler) {
        self.update {
            var events = $0.events
            events[event] = handler
            return Handlers(connection: $0.connection, events: events, any: $0.any, disconnect: $0.disconnect, middlewares: $0.middlewares)
        }
    }

    /// Calls `handler` for events that have no specific handler.
    public func onAny(_ handler: @escaping SharedEventHandler) {
        self.update { Handlers(connection: $0.connection, events: $0.events, any: handler, disconnect: $0.disconnect, middlewares: $0.middlewares) }
    }

    /// Calls `handler` whenever a socket of the namespace leaves it.
    public func onDisconnect(_ handler: @escaping @Sendable (SocketIOSocket, SocketIODisconnectReason) -> Void) {
        self.update { Handlers(connection: $0.connection, events: $0.events, any: $0.any, disconnect: $0.disconnect + [handler], middlewares: $0.middlewares) }
    }

    // MARK: Broadcasting

    /// Every socket of the namespace.
    public var all: SocketIOBroadcastOperator { SocketIOBroadcastOperator(namespace: self) }
    /// Targets `room`.
    public func to(_ room: String) -> SocketIOBroadcastOperator { self.all.to(room) }
    /// Targets everyone but the sockets in `room`.
    public func except(_ room: String) -> SocketIOBroadcastOperator { self.all.except(room) }
    /// Sends `event` to every socket of the namespace.
    public func emit(_ event: String, _ arguments: [JSONValue] = []) throws(SocketIOEmitError) {
        try self.all.emit(event, arguments)
    }

    /// Encodes `event` for this namespace once, as every send path needs it (BINARY_EVENT when binary).
    func encodeEvent(_ event: String, _ arguments: [JSONValue], id: Int? = nil) -> SocketIOEncodedPacket {
        var text = ByteBuffer(capacity: SocketIOEncodedPacket.typicalCapacity)
        var attachments: [ByteBuffer] = []
        SocketIOPacket.encodeEvent(namespace: self.name, name: event, arguments: arguments, id: id, into: &text, attachments: &attachments)
        return SocketIOEncodedPacket(text: text, attachments: attachments)
    }

    func nextAckID() -> Int {
        self.ackIDs.withLock { value in
            defer { value &+= 1 }
            return value
        }
    }
}

