import EngineIO
public import HTTPCore
public import IOCore
public import IOPosix
public import JSON
import SocketIOCore

/// An event from a client: its name, its arguments, and the ack to answer with when the client asked for one.
public struct SocketIOEvent {
    /// The event name.
    public let name: String
    /// The arguments after the name.
    public let arguments: ArraySlice<JSONValue>
    /// Present when the client waits for an answer; call it once.
    public let ack: SocketIOAck?
}

/// Answers one client event that asked for an acknowledgement. Call it once; a second call sends a
/// duplicate that clients ignore. It may be called from any thread or task (it hops to the socket's loop).
public struct SocketIOAck: Sendable {
    let socket: LoopBound<SocketIOSocket>
    let id: Int

    /// Sends the acknowledgement with `arguments` (for example an event's own arguments, echoed).
    public func callAsFunction(_ arguments: ArraySlice<JSONValue>) {
        let (socket, id) = (self.socket, self.id)
        if socket.loop.inEventLoop {
            socket.value.sendAck(id: id, arguments: arguments)
        } else {
            socket.loop.execute { socket.value.sendAck(id: id, arguments: arguments) }
        }
    }

    /// Sends the acknowledgement with `arguments`.
    public func callAsFunction(_ arguments: [JSONValue]) {
        self(arguments[...])
    }

    /// Sends the acknowledgement with the given arguments.
    public func callAsFunction(_ arguments: JSONValue...) {
        self(arguments[...])
    }
}

/// What a socket's connection request carried.
public struct SocketIOHandshake: Sendable {
    /// The CONNECT packet's payload (`{}` when the client sent none): an API key, a recovery offset...
    public let auth: JSONValue
    /// The Engine.IO handshake request's headers.
    public let headers: HTTPHeaders
    /// The Engine.IO handshake request's query.
    public let query: HTTPQuery
    /// The client's address.
    public let remoteAddress: SocketAddress?
    /// Whether the connection is encrypted.
    public let isSecure: Bool
    /// When the socket connected, in milliseconds since the epoch.
    public let issuedAt: Int
}

/// Handles an event; runs on the socket's loop and must not block it.
public typealias SocketIOEventHandler = (SocketIOSocket, SocketIOEvent) -> Void

/// One client's connection to one namespace.
///
/// Loop-confined: every method must be called on `loop`, where its handlers also run. To act on a socket
/// from elsewhere, hop with `socket.loop.execute` (holding the socket in a ``LoopBound``) or go through a
/// namespace broadcast to its id, which is a room.
public final class SocketIOSocket {
    /// The socket id; also the name of a room holding just this socket.
    public let id: String
    /// The namespace it joined.
    public let namespace: SocketIONamespace
    /// What the connection request carried.
    public let handshake: SocketIOHandshake
    /// The loop that owns the socket.
    public var loop: EventLoop { self.client.session.loop }
    /// Application data attached to the socket (restored with the session on recovery).
    public var data: JSONValue = .null
    /// Whether the socket's session was restored by connection state recovery.
    public internal(set) var recovered = false
    /// Whether the socket is still connected.
    public private(set) var isConnected = true
    /// The recovery id, when connection state recovery is on.
    let privateID: String?

    let client: SocketIOClient
    private var handlers: [String: SocketIOEventHandler] = [:]
    private var anyHandler: SocketIOEventHandler?
    private var disconnectHandlers: [(SocketIOSocket, SocketIODisconnectReason) -> Void] = []
    private var pendingAcks: [Int: PendingAck] = [:]
    /// Rooms joined besides the socket's own.
    public private(set) var rooms: Set<String> = []
    /// The namespace-level handlers at the time the socket connected.
    let namespaceHandlers: SocketIONamespace.Handlers

    private struct PendingAck {
        var timer: ScheduledTimer?
        var callback: (Result<[JSONValue], SocketIOAckError>) -> Void
    }

    init(id: String, privateID: String?, namespace: SocketIONamespace, handshake: SocketIOHandshake, client: SocketIOClient) {
        self.id = id
        self.privateID = privateID
        self.namespace = namespace
        self.handshake = handshake
        self.client = client
        self.namespaceHandlers = namespace.handlers
    }

    // MARK: Listening

    /// Calls `handler` for every `event` from the client (replacing an earlier handler for it).
    public func on(_ event: String, _ handler: @escaping SocketIOEventHandler) {
        self.handlers[event] = handler
    }

    /// Calls `handler` for every event that has no specific handler.
    public func onAny(_ handler: @escaping SocketIOEventHandler) {
        self.anyHandler = handler
    }

    /// Calls `handler` once when the socket leaves the namespace.
    public func onDisconnect(_ handler: @escaping (SocketIOSocket, SocketIODisconnectReason) -> Void) {
        self.disconnectHandlers.append(handler)
    }

    func dispatch(_ packet: SocketIOPacket) {
        guard let name = packet.eventName else { return }
        let ack = packet.id.map { SocketIOAck(socket: LoopBound(self, loop: self.loop), id: $0) }
        let event = SocketIOEvent(name: name, arguments: packet.arguments, ack: ack)
        if let handler = self.handlers[name] ?? self.namespaceHandlers.events[name] {
            handler(self, event)
        } else if let handler = self.anyHandler ?? self.namespaceHandlers.any {
            handler(self, event)
        }
    }

    // MARK: Sending

    /// Sends `event` to this client.
    /// - Parameter volatile: drop the event if the transport cannot take it right now.
    public func emit(_ event: String, _ arguments: [JSONValue] = [], volatile: Bool = false) throws(SocketIOEmitError) {
        guard !reservedEventNames.contains(event) else { throw .reservedEventName(event) }
        guard self.isConnected else { throw .disconnected(event) }
        if self.namespace.recovery != nil && !volatile {
            // With recovery on, direct emits go through the adapter so they get an offset and are stored.
            self.namespace.to(self.id).emitStored(event, arguments)
            return
        }
        if volatile && !self.client.session.isWritable { return }
        self.client.send(self.namespace.encodeEvent(event, arguments))
    }

    /// Sends `event` and calls `callback` with the client's answer, or with an error after `timeout`.
    public func emit(
        _ event: String, _ arguments: [JSONValue] = [], timeout: Duration,
        callback: @escaping (Result<[JSONValue], SocketIOAckError>) -> Void
    ) throws(SocketIOEmitError) {
        guard !reservedEventNames.contains(event) else { throw .reservedEventName(event) }
        guard self.isConnected else { throw .disconnected(event) }
        // One counter per namespace, as in the reference server: broadcast acks share ids with these.
        let id = self.namespace.nextAckID()
        self.expectAck(id: id, timeout: timeout, callback: callback)
        self.client.send(self.namespace.encodeEvent(event, arguments, id: id))
    }

    /// Registers an answer expected for a packet this socket is about to receive (a broadcast with ack).
    func expectAck(id: Int, timeout: Duration, callback: @escaping (Result<[JSONValue], SocketIOAckError>) -> Void) {
        guard self.isConnected else {
            callback(.failure(.disconnected))
            return
        }
        let timer = self.loop.scheduleTimer(after: timeout) { [self] in
            guard let pending = self.pendingAcks.removeValue(forKey: id) else { return }
            pending.callback(.failure(.timedOut))
        }
        self.pendingAcks[id] = PendingAck(timer: timer, callback: callback)
    }

    func sendAck(id: Int, arguments: ArraySlice<JSONValue>) {
        guard self.isConnected else { return }
        var text = ByteBuffer(capacity: SocketIOEncodedPacket.typicalCapacity)
        var attachments: [ByteBuffer] = []
        SocketIOPacket.encodeAck(namespace: self.namespace.name, id: id, arguments: arguments, into: &text, attachments: &attachments)
        self.client.send(SocketIOEncodedPacket(text: text, attachments: attachments))
    }

    func receiveAck(_ packet: SocketIOPacket) {
        guard let id = packet.id, let pending = self.pendingAcks.removeValue(forKey: id) else { return }
        pending.timer?.cancel()
        pending.callback(.success(Array(packet.arguments)))
    }

    /// Delivers an already encoded packet (a broadcast) to this client.
    func deliver(_ packet: SocketIOEncodedPacket, volatile: Bool) {
        guard self.isConnected else { return }
        if volatile && !self.client.session.isWritable { return }
        self.client.send(packet)
    }

    // MARK: Rooms

    /// Joins `room`.
    public func join(_ room: String) {
        guard self.isConnected, room != self.id, self.rooms.insert(room).inserted else { return }
        self.namespace.adapter.join(self, room: room)
    }

    /// Leaves `room`.
    public func leave(_ room: String) {
        guard self.rooms.remove(room) != nil else { return }
        self.namespace.adapter.leave(self, room: room)
    }

    /// Targets `room`, excluding this socket.
    public func to(_ room: String) -> SocketIOBroadcastOperator {
        self.broadcast.to(room)
    }

    /// Targets every socket of the namespace but this one.
    public var broadcast: SocketIOBroadcastOperator {
        SocketIOBroadcastOperator(namespace: self.namespace).except(self.id)
    }

    // MARK: Leaving

    /// Leaves the namespace (sending DISCONNECT); with `closeTransport`, closes the whole connection
    /// after telling every namespace of this client.
    public func disconnect(closeTransport: Bool = false) {
        guard self.isConnected else { return }
        if closeTransport {
            self.client.disconnectAll()
            return
        }
        var text = ByteBuffer()
        var attachments: [ByteBuffer] = []
        SocketIOPacket.disconnect(namespace: self.namespace.name).encode(into: &text, attachments: &attachments)
        self.client.send(SocketIOEncodedPacket(text: text))
        self.close(reason: .serverNamespaceDisconnect)
    }

    /// Closes the connection's transport without a DISCONNECT packet, so the client reconnects (to another
    /// node when this one drains); the socket ends with reason "server shutting down".
    public func closeTransport() {
        self.client.session.close(reason: .serverShuttingDown)
    }

    /// A handle to this socket for other threads and tasks.
    public var handle: SocketIOSocketHandle {
        SocketIOSocketHandle(socket: LoopBound(self, loop: self.loop), id: self.id)
    }

    /// Ends the socket: leaves the rooms, fails pending acks, tells the handlers.
    func close(reason: SocketIODisconnectReason) {
        guard self.isConnected else { return }
        self.isConnected = false
        if let recovery = self.namespace.recovery, reason.isRecoverable, let pid = self.privateID {
            self.namespace.recoveryStore?.persist(
                pid: pid, sid: self.id, rooms: self.rooms, data: self.data,
                expiresAfter: recovery.maxDisconnectionDuration
            )
        }
        self.namespace.adapter.remove(self)
        self.client.socketClosed(self)
        let acks = self.pendingAcks
        self.pendingAcks = [:]
        for (_, pending) in acks {
            pending.timer?.cancel()
            pending.callback(.failure(.disconnected))
        }
        // Appended one by one: concatenating `[@Sendable F]` onto `[F]` makes Swift 6.3 on Linux cast
        // the array at run time, and that cast traps.
        var handlers = self.disconnectHandlers
        for handler in self.namespaceHandlers.disconnect { handlers.append(handler) }
        self.disconnectHandlers = []
        self.handlers = [:]
        self.anyHandler = nil
        for handler in handlers { handler(self, reason) }
    }

    func restore(rooms: Set<String>, data: JSONValue) {
        self.data = data
        for room in rooms { self.join(room) }
    }
}

@available(*, unavailable)
extension SocketIOSocket: Sendable {}

/// A socket as seen from any thread or task: each call hops to the socket's loop. For application code
/// that runs in Swift concurrency (an actor per conversation, say) rather than in loop callbacks.
public struct SocketIOSocketHandle: Sendable, Hashable {
    let socket: LoopBound<SocketIOSocket>
    /// The socket id.
    public let id: String

    /// The loop that owns the socket.
    public var loop: EventLoop { self.socket.loop }

    private func onLoop(_ body: @escaping @Sendable (SocketIOSocket) -> Void) {
        let socket = self.socket
        if socket.loop.inEventLoop { body(socket.value) } else { socket.loop.execute { body(socket.value) } }
    }

    /// Sends `event`; does nothing if the socket has disconnected by then.
    public func emit(_ event: String, _ arguments: [JSONValue] = [], volatile: Bool = false) {
        self.onLoop { try? $0.emit(event, arguments, volatile: volatile) }
    }

    /// Sends `event` and waits for the client's answer.
    /// - Throws: ``SocketIOAckError`` on timeout or disconnection, ``SocketIOEmitError`` for a reserved name.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue] = [], timeout: Duration) async throws -> [JSONValue] {
        try await withCheckedThrowingContinuation { continuation in
            self.onLoop { socket in
                do {
                    try socket.emit(event, arguments, timeout: timeout) { continuation.resume(with: $0.mapError { $0 as any Error }) }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Joins `room`.
    public func join(_ room: String) { self.onLoop { $0.join(room) } }

    /// Leaves `room`.
    public func leave(_ room: String) { self.onLoop { $0.leave(room) } }

    /// Leaves the namespace; see ``SocketIOSocket/disconnect(closeTransport:)``.
    public func disconnect(closeTransport: Bool = false) { self.onLoop { $0.disconnect(closeTransport: closeTransport) } }

    /// Closes the transport so the client reconnects; see ``SocketIOSocket/closeTransport()``.
    public func closeTransport() { self.onLoop { $0.closeTransport() } }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.id) }
}
