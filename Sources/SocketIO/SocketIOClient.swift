import EngineIO
import EngineIOCore
import IOCore
import IOPosix
import JSON
import SocketIOCore

/// The Socket.IO side of one Engine.IO session: decodes its packets, routes them to the namespace sockets,
/// and encodes what they send. Loop-confined to the session's loop.
final class SocketIOClient: EngineIOSessionDelegate {
    let session: EngineIOSession
    let server: SocketIOServerCore
    private var decoder: SocketIODecoder
    private var sockets: [String: SocketIOSocket] = [:]
    /// Namespaces whose connection waits for an asynchronous middleware.
    private var connecting: Set<String> = []
    private var connectTimer: ScheduledTimer?
    private var isClosed = false

    init(session: EngineIOSession, server: SocketIOServerCore) {
        self.session = session
        self.server = server
        self.decoder = SocketIODecoder(limits: server.configuration.decoderLimits)
        self.connectTimer = session.loop.scheduleTimer(after: server.configuration.connectTimeout) { [self] in
            self.connectTimer = nil
            // No namespace joined in time: a client that never sends CONNECT holds a session for nothing.
            if self.sockets.isEmpty { self.session.close(reason: .forcedClose) }
        }
    }

    // MARK: EngineIOSessionDelegate

    func engineIOSession(_ session: EngineIOSession, didReceiveText text: ByteBuffer) {
        let packet: SocketIOPacket?
        do {
            packet = try self.decoder.decode(text: text)
        } catch {
            self.session.close(reason: .parseError)
            return
        }
        if let packet { self.route(packet) }
    }

    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: ByteBuffer) {
        let packet: SocketIOPacket?
        do {
            packet = try self.decoder.decode(binary: data)
        } catch {
            self.session.close(reason: .parseError)
            return
        }
        if let packet { self.route(packet) }
    }

    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        self.isClosed = true
        self.connectTimer?.cancel()
        self.connectTimer = nil
        let socketReason = SocketIODisconnectReason(rawValue: reason.rawValue) ?? .transportClose
        for socket in Array(self.sockets.values) { socket.close(reason: socketReason) }
        self.sockets.removeAll()
    }

    // MARK: Routing

    private func route(_ packet: SocketIOPacket) {
        if let socket = self.sockets[packet.namespace] {
            switch packet.type {
            case .event, .binaryEvent:
                socket.dispatch(packet)
            case .ack, .binaryAck:
                socket.receiveAck(packet)
            case .disconnect:
                socket.close(reason: .clientNamespaceDisconnect)
            case .connect, .connectError:
                // A second CONNECT for a joined namespace breaks the protocol.
                self.session.close(reason: .forcedClose)
            }
            return
        }
        guard packet.type == .connect, !self.connecting.contains(packet.namespace) else {
            // Anything but CONNECT for a namespace the client has not joined closes the connection.
            self.session.close(reason: .forcedClose)
            return
        }
        self.connect(to: packet.namespace, auth: packet.data ?? .object(JSONObject()))
    }

    private func connect(to name: String, auth: JSONValue) {
        guard let namespace = self.server.namespace(named: name) else {
            self.send(packet: .connectError(namespace: name, message: "Invalid namespace"))
            return
        }
        let handshake = SocketIOHandshake(
            auth: auth, headers: self.session.handshake.headers, query: self.session.handshake.query,
            remoteAddress: self.session.handshake.remoteAddress, isSecure: self.session.handshake.isSecure,
            issuedAt: WallClock.millisecondsSinceEpoch()
        )
        if let store = namespace.recoveryStore, case .string(let pid)? = auth["pid"], case .string(let offset)? = auth["offset"],
            let restored = store.restore(pid: pid, offset: offset)
        {
            let socket = SocketIOSocket(id: restored.sid, privateID: pid, namespace: namespace, handshake: handshake, client: self)
            socket.recovered = true
            if store.configuration.skipMiddlewares {
                self.join(socket, restored: restored)
            } else {
                self.runMiddlewares(namespace.handlers.middlewares[...], socket: socket, restored: restored)
            }
            return
        }
        let privateID = namespace.recoveryStore == nil ? nil : EngineIOSessionID.generate()
        let socket = SocketIOSocket(id: EngineIOSessionID.generate(), privateID: privateID, namespace: namespace, handshake: handshake, client: self)
        self.runMiddlewares(namespace.handlers.middlewares[...], socket: socket, restored: nil)
    }

    /// Runs middlewares in order on the loop; an asynchronous one suspends the chain in a task and resumes it
    /// back on the loop.
    private func runMiddlewares(_ remaining: ArraySlice<SocketIONamespace.AnyMiddleware>, socket: SocketIOSocket, restored: RecoveryStore.Restored?) {
        var remaining = remaining
        while let middleware = remaining.popFirst() {
            switch middleware {
            case .sync(let check):
                if let refusal = check(socket) {
                    self.refuse(socket, refusal)
                    return
                }
            case .async(let check):
                let name = socket.namespace.name
                self.connecting.insert(name)
                let client = LoopBound(self, loop: self.session.loop)
                let pending = LoopBound(socket, loop: self.session.loop)
                let handshake = socket.handshake
                let rest = remaining
                Task {
                    let refusal = await check(handshake)
                    client.loop.execute {
                        let this = client.value
                        this.connecting.remove(name)
                        guard !this.isClosed else { return }
                        if let refusal {
                            this.refuse(pending.value, refusal)
                        } else {
                            this.runMiddlewares(rest, socket: pending.value, restored: restored)
                        }
                    }
                }
                return
            }
        }
        self.join(socket, restored: restored)
    }

    private func refuse(_ socket: SocketIOSocket, _ refusal: SocketIOConnectError) {
        self.send(packet: .connectError(namespace: socket.namespace.name, message: refusal.message, data: refusal.data))
    }

    private func join(_ socket: SocketIOSocket, restored: RecoveryStore.Restored?) {
        guard !self.isClosed else { return }
        let namespace = socket.namespace
        self.sockets[namespace.name] = socket
        self.connectTimer?.cancel()
        self.connectTimer = nil
        namespace.adapter.add(socket)
        if let restored {
            socket.restore(rooms: restored.rooms, data: restored.data)
            // Missed packets go before the CONNECT answer: the JS client buffers them until it connects.
            for packet in restored.missed { self.send(packet) }
        }
        var answer = JSONObject(minimumCapacity: 2)
        answer["sid"] = .string(socket.id)
        if let pid = socket.privateID { answer["pid"] = .string(pid) }
        self.send(packet: SocketIOPacket.connect(namespace: namespace.name, data: .object(answer)))
        for handler in socket.namespaceHandlers.connection where socket.isConnected {
            handler(socket)
        }
    }

    // MARK: Sending

    func send(_ packet: SocketIOEncodedPacket) {
        self.session.send(text: packet.text)
        for attachment in packet.attachments { self.session.send(binary: attachment) }
    }

    private func send(packet: SocketIOPacket) {
        self.send(packet.encode())
    }

    func socketClosed(_ socket: SocketIOSocket) {
        if self.sockets[socket.namespace.name] === socket {
            self.sockets[socket.namespace.name] = nil
        }
    }

    /// Tells every namespace DISCONNECT, then closes the connection.
    func disconnectAll() {
        for socket in Array(self.sockets.values) {
            self.send(packet: .disconnect(namespace: socket.namespace.name))
            socket.close(reason: .serverDisconnect)
        }
        self.session.close(reason: .forcedClose)
    }
}
