import EngineIOCore
public import HTTP
import HTTPCore
import IOCore
import IOPosix
import Logging
import WebSocketCore

/// An Engine.IO v4 server: answers the requests under its path (handshakes, polls, WebSocket upgrades) and
/// hands each new session to `onSession`, on the session's loop.
///
/// Thread-safe: the session table is shared by every loop, because one session's requests may arrive on
/// different TCP connections accepted by different loops.
public final class EngineIOServer: Sendable {
    /// The configuration.
    public let configuration: EngineIOConfiguration
    private let onSession: @Sendable (EngineIOSession) -> Void
    private let sessions = Locked<[String: Entry]>([:])
    private let pollSerial = Locked<UInt64>(0)
    /// Bytes a polling session may hold for a client that stopped polling before it is dropped.
    let maximumOutboxBytes: Int

    /// A session and its current transport, which request routing needs before hopping to the session's loop.
    private struct Entry {
        var session: LoopBound<EngineIOSession>
        var transport: EngineIOTransportKind
    }

    /// A server; `onSession` is called on the new session's loop before any of its messages, to set its delegate.
    public init(configuration: EngineIOConfiguration, onSession: @escaping @Sendable (EngineIOSession) -> Void) {
        self.configuration = configuration
        self.onSession = onSession
        self.maximumOutboxBytes = max(16 * configuration.maxPayload, 16 << 20)
    }

    /// The number of open sessions.
    public var sessionCount: Int { self.sessions.withLock { $0.count } }

    /// Whether `request` is for this server: its path is the configured path, with or without the final slash.
    public func matches(_ request: HTTPRequest) -> Bool {
        let path = request.head.path
        return path.hasPrefix(self.configuration.path) || path + "/" == self.configuration.path
    }

    func removeSession(_ id: String) {
        _ = self.sessions.withLock { $0.removeValue(forKey: id) }
    }

    func sessionUpgraded(_ id: String) {
        self.sessions.withLock { $0[id]?.transport = .websocket }
    }

    /// Closes every session, each on its own loop; used when the server drains.
    public func closeAllSessions(reason: EngineIOCloseReason) {
        let all = self.sessions.withLock { $0.values.map(\.session) }
        for session in all {
            session.loop.execute { session.value.close(reason: reason) }
        }
    }

    // MARK: Requests

    /// Answers one request under the path. Call it on the request's loop, from an ``HTTPResponder``.
    public func handle(_ request: HTTPRequest, writer: HTTPResponseWriter) {
        let head = request.head
        let origin = head.headers["Origin"]
        let isUpgrade = WebSocketUpgrade.isUpgradeRequest(head)
        var corsHeaders = HTTPHeaders()
        if let cors = self.configuration.cors {
            if head.method == .options {
                let requested = head.headers["Access-Control-Request-Headers"]
                writer.send(status: 204, headers: cors.preflightHeaders(origin: origin, requestedHeaders: requested))
                return
            }
            guard cors.allows(origin: origin) else {
                // The same allowlist guards the WebSocket upgrade, which browsers do not check for us.
                EngineIORequestError.forbidden(message: "Origin not allowed")
                    .send(to: writer, extraHeaders: HTTPHeaders(), asWebSocket: isUpgrade)
                return
            }
            corsHeaders = cors.responseHeaders(origin: origin)
        }
        guard let query = try? HTTPQuery(parsing: head.query ?? "") else {
            EngineIORequestError.badRequest(.transportMismatch).send(to: writer, extraHeaders: corsHeaders, asWebSocket: isUpgrade)
            return
        }
        let verdict = EngineIORequestVerifier.verify(
            method: head.method.rawValue,
            query: EngineIOQuery(items: query.items.map { (name: $0.name, value: $0.value) }),
            isWebSocketUpgrade: isUpgrade,
            origin: origin,
            allowedTransports: self.configuration.transports,
            sessionTransport: { sid in self.sessions.withLock { $0[sid]?.transport } },
            allowRequest: {
                guard let allowRequest = self.configuration.allowRequest, let message = allowRequest(request) else { return .allow }
                return .refuse(message: message)
            }
        )
        let route: EngineIORequestRoute
        switch verdict {
        case .failure(let error):
            error.send(to: writer, extraHeaders: corsHeaders, asWebSocket: isUpgrade)
            return
        case .success(let success):
            route = success
        }
        switch route {
        case .handshake(let transport):
            guard self.sessionCount < self.configuration.maximumSessions else {
                writer.send(status: 503, text: "Too many sessions", headers: corsHeaders)
                return
            }
            self.openSession(request, query: query, transport: transport, corsHeaders: corsHeaders, writer: writer)
        case .poll(let sid):
            guard let session = self.session(sid) else { return self.unknownSession(writer, corsHeaders) }
            let sink = self.makeSink(writer, corsHeaders)
            self.onSessionLoop(session) { $0.handleGet(sink) }
        case .post(let sid):
            guard let session = self.session(sid) else { return self.unknownSession(writer, corsHeaders) }
            let sink = self.makeSink(writer, corsHeaders)
            let body = request.body
            let contentType = head.headers["Content-Type"]
            self.onSessionLoop(session) { $0.handlePost(body: body, contentType: contentType, sink: sink) }
        case .unsupportedPollingMethod:
            writer.send(status: 500, headers: corsHeaders)
        case .upgrade(let sid, _):
            guard let session = self.session(sid) else { return self.unknownSession(writer, corsHeaders) }
            // Complete the 101 on the connection's loop; the session then decides whether this socket
            // becomes its transport, and closes it at once if not (already upgraded or upgrading).
            guard let socket = self.acceptWebSocket(request, writer: writer, corsHeaders: corsHeaders) else { return }
            socket.delegate = EngineIOWebSocketDelegate(session: session)
            let link = WebSocketLink(socket, loop: writer.connection.loop)
            self.onSessionLoop(session) { $0.attachProbe(link) }
        case .acceptThenClose:
            self.acceptWebSocket(request, writer: writer, corsHeaders: corsHeaders)?.close()
        }
    }

    private func session(_ sid: String) -> LoopBound<EngineIOSession>? {
        self.sessions.withLock { $0[sid]?.session }
    }

    /// The session ended between verification and now.
    private func unknownSession(_ writer: HTTPResponseWriter, _ corsHeaders: HTTPHeaders) {
        EngineIORequestError.unknownSessionID.send(to: writer, extraHeaders: corsHeaders, asWebSocket: false)
    }

    private func makeSink(_ writer: HTTPResponseWriter, _ corsHeaders: HTTPHeaders) -> PollSink {
        let serial = self.pollSerial.withLock { value in
            value &+= 1
            return value
        }
        return PollSink(writer: LoopBound(writer, loop: writer.connection.loop), extraHeaders: corsHeaders, serial: serial)
    }

    /// Completes a WebSocket upgrade (or refuses a malformed one) and returns the socket.
    private func acceptWebSocket(_ request: HTTPRequest, writer: HTTPResponseWriter, corsHeaders: HTTPHeaders) -> WebSocketConnection? {
        guard var response = try? WebSocketUpgrade.response(for: request.head) else {
            EngineIORequestError.badRequest(.webSocketWithoutUpgrade).send(to: writer, extraHeaders: corsHeaders, asWebSocket: true)
            return nil
        }
        for (name, value) in corsHeaders { response.headers.add(name: name, value: value) }
        var configuration = WebSocketConfiguration()
        configuration.maxMessageSize = self.configuration.maxPayload
        configuration.maxFrameSize = max(self.configuration.maxPayload, 125)
        let socket = WebSocketConnection(connection: writer.connection, configuration: configuration, delegate: nil)
        writer.upgrade(response: response, to: socket)
        return socket
    }

    private func openSession(
        _ request: HTTPRequest, query: HTTPQuery, transport: EngineIOTransportKind, corsHeaders: HTTPHeaders,
        writer: HTTPResponseWriter
    ) {
        let loop = writer.connection.loop
        let id = EngineIOSessionID.generate()
        let info = EngineIOHandshakeInfo(
            headers: request.head.headers, query: query, remoteAddress: request.remoteAddress, isSecure: request.isSecure
        )
        let canUpgrade = transport == .polling && self.configuration.allowUpgrades && self.configuration.transports.contains(.websocket)
        let open = EngineIOHandshake(
            sid: id, upgrades: canUpgrade ? [.websocket] : [],
            pingInterval: Self.milliseconds(self.configuration.pingInterval),
            pingTimeout: Self.milliseconds(self.configuration.pingTimeout),
            maxPayload: self.configuration.maxPayload
        ).openPacket
        switch transport {
        case .polling:
            let session = EngineIOSession(id: id, loop: loop, handshake: info, server: self, websocket: nil)
            self.sessions.withLock { $0[id] = Entry(session: LoopBound(session, loop: loop), transport: .polling) }
            self.onSession(session)
            var headers = corsHeaders
            headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
            headers.add(name: "Cache-Control", value: "no-store")
            var body = ByteBuffer()
            open.encodeForPolling(into: &body)
            writer.send(status: 200, headers: headers, body: body)
        case .websocket:
            guard let socket = self.acceptWebSocket(request, writer: writer, corsHeaders: corsHeaders) else { return }
            let session = EngineIOSession(id: id, loop: loop, handshake: info, server: self, websocket: WebSocketLink(socket, loop: loop))
            let bound = LoopBound(session, loop: loop)
            socket.delegate = EngineIOWebSocketDelegate(session: bound)
            self.sessions.withLock { $0[id] = Entry(session: bound, transport: .websocket) }
            socket.send(textPrefix: open.type.digit, payload: open.data)
            self.onSession(session)
        }
    }

    private func onSessionLoop(_ session: LoopBound<EngineIOSession>, _ body: @escaping @Sendable (EngineIOSession) -> Void) {
        if session.loop.inEventLoop { body(session.value) } else { session.loop.execute { body(session.value) } }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
