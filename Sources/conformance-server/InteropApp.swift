import IOCore
import IOPosix
import JSON
import SocketIO

extension ConformanceServer {
    /// Installs the `/interop` namespace that `Tests/Interop/test_python_socketio.py` drives with the real
    /// python-socketio client. It sits beside the official suites' namespaces (`/`, `/custom`) and changes
    /// nothing about them: the suites never connect to `/interop`.
    static func installInteropApp(on io: SocketIOServer) {
        let app = InteropApp(io: io)
        app.install()
        app.installNamespaceDisconnectHook()
    }
}

/// The `/interop` test app: one event per server feature the Python tests check (echo, acks both ways,
/// binary, rooms, broadcasts, disconnects, volatile emits, a catch-all, a refusing middleware), plus a
/// record of why recent sockets disconnected so a test can assert the server's side of a disconnect.
///
/// Shared by every loop: handlers run on each socket's own loop; the only mutable state, the disconnect
/// record, is behind a lock.
final class InteropApp: Sendable {
    /// The namespace's name.
    static let namespaceName = "/interop"
    /// How long the server waits for a client's answer to an emit with ack, unless the request says.
    static let defaultAckTimeout = 2000
    /// The longest wait a request may ask for, in milliseconds.
    static let maximumAckTimeout = 10_000

    /// The server, for `drain`.
    let io: SocketIOServer
    /// `/interop`.
    let namespace: SocketIONamespace
    /// Why recent sockets left; bounded so a long-running server does not grow without limit.
    private let disconnects = Locked(RecentDisconnects())

    /// The last ``RecentDisconnects/capacity`` disconnect reasons, by socket id, oldest dropped first.
    struct RecentDisconnects {
        static let capacity = 1024
        var reasons: [String: String] = [:]
        var order: [String] = []

        mutating func record(socketID: String, reason: String) {
            if self.reasons.updateValue(reason, forKey: socketID) == nil {
                self.order.append(socketID)
            }
            if self.order.count > Self.capacity {
                let oldest = self.order.removeFirst()
                self.reasons[oldest] = nil
            }
        }
    }

    init(io: SocketIOServer) {
        self.io = io
        self.namespace = io.of(Self.namespaceName)
    }

    /// Registers the middleware and the handlers on `/interop`; call once, before clients connect.
    func install() {
        let namespace = self.namespace
        let io = self.io

        // A client that asks to be refused (auth `{"refuse": <reason>}`) gets CONNECT_ERROR with both
        // `message` and `data`, so the test can check that the client surfaces each of them.
        namespace.use { socket in
            guard let reason = socket.handshake.auth["refuse"] else { return nil }
            return SocketIOConnectError(
                message: "refused by the interop middleware", data: ["code": 4003, "reason": reason]
            )
        }
        namespace.onConnection { [self] socket in
            // Per socket here; `installNamespaceDisconnectHook` covers `namespace.onDisconnect`.
            socket.onDisconnect { [self] socket, reason in self.recordDisconnect(socket, reason) }
            // Sent after the CONNECT answer: the client learns its id as the server sees it.
            try? socket.emit("welcome", [["sid": .string(socket.id), "auth": socket.handshake.auth]])
        }

        // Echoes: as an event, and as the ack of the client's event. Binary arguments come back as binary.
        namespace.on("echo") { socket, event in
            try? socket.emit("echo-back", Array(event.arguments))
        }
        namespace.on("echo-ack") { _, event in
            event.ack?(event.arguments)
        }

        // Server → client ack: `ask` `{"event": name, "args": [...], "timeoutMs": n}` makes the server emit
        // `name` with `args` and an ack id to this client; the client's answer (or the timeout) then answers
        // `ask` itself, so the test sees the whole round trip through its own ack.
        namespace.on("ask") { socket, event in
            let (name, arguments, timeout) = Self.question(in: event)
            do {
                try socket.emit(name, arguments, timeout: timeout) { result in
                    switch result {
                    case .success(let answer): event.ack?(["answer": .array(answer)])
                    case .failure(let error): event.ack?(["error": .string(error.description)])
                    }
                }
            } catch {
                event.ack?(["error": .string(String(describing: error))])
            }
        }

        // The same through the async APIs, awaited in a task. `ask-async` uses the socket's Sendable handle;
        // `ask-room` broadcasts with ack to the room named by the socket's id, whose answer is the list of
        // every target's first argument. Acks may be called from any task.
        namespace.on("ask-async") { socket, event in
            let (name, arguments, timeout) = Self.question(in: event)
            let (ack, target) = (event.ack, socket.handle)
            Task {
                let answer: JSONValue
                do {
                    answer = ["answer": .array(try await target.emitWithAck(name, arguments, timeout: timeout))]
                } catch {
                    answer = ["error": .string(String(describing: error))]
                }
                ack?(answer)
            }
        }
        namespace.on("ask-room") { socket, event in
            let (name, arguments, timeout) = Self.question(in: event)
            let ack = event.ack
            let room = namespace.to(socket.id)
            Task {
                let answer: JSONValue
                do {
                    answer = ["answer": .array(try await room.emitWithAck(name, arguments, timeout: timeout))]
                } catch {
                    answer = ["error": .string(String(describing: error))]
                }
                ack?(answer)
            }
        }

        // Rooms. The acks tell the client the server has done it, so the test can go on without sleeping.
        namespace.on("join") { socket, event in
            guard let room = event.arguments.first?.stringValue else { return }
            socket.join(room)
            event.ack?(.array(socket.rooms.sorted().map { .string($0) }))
        }
        namespace.on("leave") { socket, event in
            guard let room = event.arguments.first?.stringValue else { return }
            socket.leave(room)
            event.ack?(.array(socket.rooms.sorted().map { .string($0) }))
        }
        // `broadcast` [room, payload]: `socket.to(room)`, which leaves the sender out.
        namespace.on("broadcast") { socket, event in
            guard let room = event.arguments.first?.stringValue else { return }
            let payload = event.arguments.dropFirst().first ?? .null
            try? socket.to(room).emit("broadcasted", [payload, .string(socket.id)])
            event.ack?()
        }
        // `broadcast-namespace` [room, payload]: `namespace.to(room)`, which includes a sender that is a member.
        namespace.on("broadcast-namespace") { socket, event in
            guard let room = event.arguments.first?.stringValue else { return }
            let payload = event.arguments.dropFirst().first ?? .null
            try? namespace.to(room).emit("broadcasted", [payload, .string(socket.id)])
            event.ack?()
        }

        // Server-side endings.
        namespace.on("disconnect-me") { socket, _ in
            socket.disconnect()
        }
        namespace.on("close-my-connection") { socket, _ in
            socket.disconnect(closeTransport: true)
        }
        // Drops every transport without a DISCONNECT packet (what a draining node does), so clients reconnect.
        namespace.on("drain") { _, _ in
            io.closeAllConnections()
        }

        namespace.on("volatile") { socket, event in
            try? socket.emit("volatile-back", Array(event.arguments), volatile: true)
        }

        // `make-binary` [size]: binary made by the server, nested in an object and in an array.
        namespace.on("make-binary") { socket, event in
            let size = max(0, min(event.arguments.first?.intValue ?? 0, 1 << 20))
            let first = ByteBuffer(bytes: (0..<size).lazy.map { UInt8(truncatingIfNeeded: $0) })
            let second = ByteBuffer(bytes: [0xff, 0x00, 0x7f])
            let made: JSONValue = [
                "size": JSONValue(size), "blob": .binary(first), "nested": ["list": ["text", .binary(second)]],
            ]
            try? socket.emit("binary-made", [made])
        }

        // `disconnect-reason` [socket id]: acks the reason the server recorded for that socket, or null.
        namespace.on("disconnect-reason") { [self] _, event in
            guard let id = event.arguments.first?.stringValue else { return }
            let reason = self.disconnects.withLock { $0.reasons[id] }
            event.ack?(reason.map { .string($0) } ?? .null)
        }

        // Every other event: tells the client which event and arguments the catch-all saw.
        namespace.onAny { socket, event in
            let seen: JSONValue = ["event": .string(event.name), "args": .array(Array(event.arguments))]
            try? socket.emit("any-back", [seen])
        }
    }

    /// `/interop-disconnect-hook`: a namespace whose disconnect handler is registered on the namespace
    /// (`SocketIONamespace.onDisconnect`) rather than on each socket, guarding the fix for a crash: joining
    /// the socket's own handlers with the namespace's `@Sendable` ones used to trap in a run-time array cast.
    func installNamespaceDisconnectHook() {
        let hooked = self.io.of("/interop-disconnect-hook")
        hooked.onDisconnect { [self] socket, reason in self.recordDisconnect(socket, reason) }
        hooked.on("disconnect-me") { socket, _ in socket.disconnect() }
    }

    private func recordDisconnect(_ socket: SocketIOSocket, _ reason: SocketIODisconnectReason) {
        let id = socket.id
        self.disconnects.withLock { $0.record(socketID: id, reason: reason.rawValue) }
    }

    /// What an `ask` carries: `{"event": name, "args": [...], "timeoutMs": n}`, each part optional.
    private static func question(in event: SocketIOEvent) -> (name: String, arguments: [JSONValue], timeout: Duration) {
        let request = event.arguments.first
        let name = request?["event"]?.stringValue ?? "question"
        let arguments = request?["args"]?.arrayValue ?? []
        let requested = request?["timeoutMs"]?.intValue ?? Self.defaultAckTimeout
        return (name, arguments, .milliseconds(max(1, min(requested, Self.maximumAckTimeout))))
    }
}
