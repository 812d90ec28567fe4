public import EngineIOCore
import HTTP
public import HTTPCore
public import IOCore
public import IOPosix
import WebSocketCore

/// Why an Engine.IO session ended; the texts are the reference server's, which Socket.IO passes on.
public enum EngineIOCloseReason: String, Sendable, Hashable {
    /// The transport failed or the client broke the transport rules (a second poll, a client ping).
    case transportError = "transport error"
    /// The client closed the transport or sent a close packet.
    case transportClose = "transport close"
    /// The server closed the session.
    case forcedClose = "forced close"
    /// No pong arrived within the ping timeout.
    case pingTimeout = "ping timeout"
    /// The client sent a packet that could not be decoded.
    case parseError = "parse error"
    /// The server is shutting down; the client should reconnect elsewhere.
    case serverShuttingDown = "server shutting down"
}

/// What the handshake request carried, for the layers above (origin checks, rate limits by address).
public struct EngineIOHandshakeInfo: Sendable {
    /// The handshake request's headers.
    public var headers: HTTPHeaders
    /// The handshake request's query items.
    public var query: HTTPQuery
    /// The client's address.
    public var remoteAddress: SocketAddress?
    /// Whether the handshake came over TLS.
    public var isSecure: Bool
}

/// Receives a session's messages. Called on the session's loop.
public protocol EngineIOSessionDelegate: AnyObject {
    /// A text message (the payload of a `4` packet).
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: ByteBuffer)
    /// A binary message.
    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: ByteBuffer)
    /// The session is over; nothing more can be sent.
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason)
}

/// One Engine.IO session: its transport (polling, WebSocket, or polling while upgrading), its heartbeat
/// and its outgoing queue.
///
/// Loop-confined to `loop`, where it was created. HTTP requests and WebSockets that belong to it may live on
/// other loops (each TCP connection stays on the loop that accepted it); they reach the session by hopping
/// to its loop, and its answers hop back.
public final class EngineIOSession {
    /// The session id (`sid`).
    public let id: String
    /// The loop that owns this session.
    public let loop: EventLoop
    /// What the handshake request carried.
    public let handshake: EngineIOHandshakeInfo
    /// Where messages go; set it in the server's `onSession` callback.
    public var delegate: (any EngineIOSessionDelegate)?

    private enum Transport {
        case polling
        case websocket(WebSocketLink)
    }

    private let server: EngineIOServer
    private var configuration: EngineIOConfiguration { self.server.configuration }
    private var transport: Transport
    private var pendingPoll: PollSink?
    private var outbox: [EngineIOPacket] = []
    private var outboxBytes = 0
    private var flushScheduled = false
    private var probe: WebSocketLink?
    private var probeAnswered = false
    private var upgradeTimer: ScheduledTimer?
    private var lingerTimer: ScheduledTimer?
    private var pingTimer: ScheduledTimer?
    private var pongTimer: ScheduledTimer?
    private var pingSentAt: ContinuousClock.Instant?
    /// Whether the session has ended.
    public private(set) var isClosed = false
    /// The client sent a close packet over polling; the session ends as soon as its last poll is released.
    private var closingByClient = false

    init(id: String, loop: EventLoop, handshake: EngineIOHandshakeInfo, server: EngineIOServer, websocket: WebSocketLink?) {
        self.id = id
        self.loop = loop
        self.handshake = handshake
        self.server = server
        self.transport = websocket.map { .websocket($0) } ?? .polling
        // The reference server arms the heartbeat when the session is created, before the handshake is
        // answered; clients and the conformance suites time against that.
        self.schedulePing()
    }

    /// The name of the current transport.
    public var transportName: EngineIOTransportKind {
        if case .websocket = self.transport { return .websocket }
        return .polling
    }

    /// Whether a message sent now goes out at once: a WebSocket below its high watermark, or a poll
    /// waiting for data. Volatile messages are dropped when this is false.
    public var isWritable: Bool {
        switch self.transport {
        case .websocket(let link): link.isWritable
        case .polling: self.pendingPoll != nil
        }
    }

    // MARK: Sending

    /// Sends a text message (a `4` packet).
    public func send(text: ByteBuffer) {
        self.enqueue(.message(text))
    }

    /// Sends a binary message.
    public func send(binary: ByteBuffer) {
        self.enqueue(.binaryMessage(binary))
    }

    /// Closes the session from the server side.
    public func close(reason: EngineIOCloseReason = .forcedClose) {
        self.finish(reason, clientInitiated: false)
    }

    private func enqueue(_ packet: EngineIOPacket) {
        guard !self.isClosed else { return }
        switch self.transport {
        case .websocket(let link):
            link.send(packet: packet)
        case .polling:
            self.outbox.append(packet)
            // Binary goes out as base64 on polling: a third larger.
            self.outboxBytes += packet.isBinary ? packet.data.readableBytes * 4 / 3 + 4 : packet.data.readableBytes + 1
            if self.outboxBytes > self.server.maximumOutboxBytes {
                // The client stopped polling but the application keeps sending: drop the session
                // rather than buffer without bound.
                self.finish(.transportError, clientInitiated: false)
                return
            }
            if self.pendingPoll != nil && !self.flushScheduled {
                // Coalesce everything sent in this loop tick into one poll response.
                self.flushScheduled = true
                self.loop.executeLocal { [self] in self.flushPoll() }
            }
        }
    }

    private func flushPoll() {
        self.flushScheduled = false
        guard let poll = self.pendingPoll, !self.outbox.isEmpty else { return }
        self.pendingPoll = nil
        var body = ByteBuffer(capacity: self.outboxBytes + self.outbox.count)
        EngineIOPayload.encode(packets: self.outbox, into: &body)
        self.outbox.removeAll()
        self.outboxBytes = 0
        poll.answer(status: 200, contentType: "text/plain; charset=UTF-8", body: body)
    }

    // MARK: Heartbeat

    // Timer and task closures hold the session strongly: a weak reference would move every retain and
    // release of this per-message object onto a slow side table. `finish` cancels every timer, which
    // breaks the cycles.
    private func schedulePing() {
        self.pingTimer = self.loop.scheduleTimer(after: self.configuration.pingInterval) { [self] in
            guard !self.isClosed else { return }
            self.pingTimer = nil
            self.pingSentAt = .now
            self.enqueue(.ping)
            self.pongTimer = self.loop.scheduleTimer(after: self.configuration.pingTimeout) { [self] in
                self.pongTimer = nil
                self.finish(.pingTimeout, clientInitiated: false)
            }
        }
    }

    private func receivedPong() {
        guard self.pingSentAt != nil else { return }  // a pong nobody asked for is harmless
        self.pingSentAt = nil
        self.pongTimer?.cancel()
        self.pongTimer = nil
        self.schedulePing()
    }

    /// Closes the session if its pong is overdue. Timers fire on millisecond ticks; a request that arrives
    /// right at the deadline must already see the session gone.
    private func checkPongDeadline() {
        if let sent = self.pingSentAt, ContinuousClock.now - sent >= self.configuration.pingTimeout {
            self.finish(.pingTimeout, clientInitiated: false)
        }
    }

    // MARK: Polling requests (on the session's loop)

    /// Keeps a closed polling session reachable for one more poll, to hand over its last packets and `1`.
    private func linger() {
        self.lingerTimer = self.loop.scheduleTimer(after: self.configuration.pingInterval + self.configuration.pingTimeout) { [self] in
            self.lingerTimer = nil
            self.outbox.removeAll()
            self.server.removeSession(self.id)
        }
    }

    func handleGet(_ sink: PollSink) {
        if self.isClosed, let timer = self.lingerTimer {
            timer.cancel()
            self.lingerTimer = nil
            self.pendingPoll = sink
            self.flushPoll()
            self.server.removeSession(self.id)
            return
        }
        self.checkPongDeadline()
        guard !self.isClosed else {
            sink.answerError(.unknownSessionID)
            return
        }
        guard case .polling = self.transport else {
            sink.answerError(.badRequest(.transportMismatch))
            return
        }
        if self.closingByClient {
            // The poll that raced the client's close packet: release it and end the session.
            self.pendingPoll = sink
            self.finish(.transportClose, clientInitiated: true)
            return
        }
        if self.pendingPoll != nil {
            // Two polls at once break the protocol: the session ends, the first poll hears `1`, this one 400.
            self.finish(.transportError, clientInitiated: false)
            sink.answer(status: 400, contentType: nil, body: ByteBuffer())
            return
        }
        if !self.outbox.isEmpty {
            self.pendingPoll = sink
            self.flushPoll()
        } else if self.probeAnswered {
            // Upgrading: release the client's poll loop with a noop so it can finish the upgrade.
            sink.answer(status: 200, contentType: "text/plain; charset=UTF-8", body: ByteBuffer(string: "6"))
        } else {
            self.pendingPoll = sink
            sink.onClose(sessionLoop: self.loop) { [self] in
                // The client gave up its poll: the reference server treats that as a transport error.
                guard self.pendingPoll?.serial == sink.serial else { return }
                self.pendingPoll = nil
                self.finish(.transportError, clientInitiated: false)
            }
        }
    }

    func handlePost(body: ByteBuffer, contentType: String?, sink: PollSink) {
        self.checkPongDeadline()
        guard !self.isClosed else {
            sink.answerError(.unknownSessionID)
            return
        }
        guard case .polling = self.transport else {
            sink.answerError(.badRequest(.transportMismatch))
            return
        }
        if contentType?.lowercased().hasPrefix("application/octet-stream") == true {
            // Binary POST bodies belong to Engine.IO 3.
            self.finish(.transportError, clientInitiated: false)
            sink.answer(status: 400, contentType: nil, body: ByteBuffer())
            return
        }
        if body.readableBytes > self.configuration.maxPayload {
            self.finish(.transportError, clientInitiated: false)
            sink.answer(status: 413, contentType: nil, body: ByteBuffer())
            return
        }
        let packets: [EngineIOPacket]
        do {
            // Every packet costs at least two bytes (type and separator), so this only stops abuse.
            packets = try EngineIOPayload.decode(body, maxPackets: self.configuration.maxPayload / 2 + 1)
        } catch {
            self.finish(.parseError, clientInitiated: false)
            sink.answer(status: 400, contentType: nil, body: ByteBuffer())
            return
        }
        for packet in packets where !self.isClosed {
            self.receive(packet, overPolling: true)
        }
        sink.answer(status: 200, contentType: "text/html", body: ByteBuffer(string: "ok"))
    }

    // MARK: Packets from the client

    private func receive(_ packet: EngineIOPacket, overPolling: Bool) {
        switch packet.type {
        case .message:
            switch packet.payload {
            case .text(let text): self.delegate?.engineIOSession(self, didReceiveText: text)
            case .binary(let data): self.delegate?.engineIOSession(self, didReceiveBinary: data)
            }
        case .pong:
            self.receivedPong()
        case .close where overPolling && self.pendingPoll == nil:
            // A client that closes sends this POST while its last poll may still be on the way, on another
            // connection (maybe another loop). Give that poll a moment to arrive so that it is released with
            // a noop instead of meeting an unknown session.
            guard !self.closingByClient else { return }
            self.closingByClient = true
            self.loop.scheduleTimer(after: .milliseconds(50)) { [self] in
                self.finish(.transportClose, clientInitiated: true)
            }
        case .close:
            self.finish(.transportClose, clientInitiated: true)
        case .ping:
            // In protocol 4 only the server pings.
            self.finish(.transportError, clientInitiated: false)
        case .open, .upgrade, .noop:
            break  // meaningless from a client on an established transport
        }
    }

    // MARK: WebSockets (on the session's loop)

    func webSocketReceivedText(_ text: ByteBuffer, from linkID: ObjectIdentifier) {
        guard !self.isClosed else { return }
        if let probe = self.probe, probe.id == linkID {
            self.probeReceived(text)
            return
        }
        guard case .websocket(let link) = self.transport, link.id == linkID else { return }
        do {
            self.receive(try EngineIOPacket.decode(webSocketText: text), overPolling: false)
        } catch {
            self.finish(.parseError, clientInitiated: false)
        }
    }

    func webSocketReceivedBinary(_ data: ByteBuffer, from linkID: ObjectIdentifier) {
        guard !self.isClosed, case .websocket(let link) = self.transport, link.id == linkID else {
            // Binary on a probe socket aborts the upgrade, as any unexpected packet does.
            if let probe = self.probe, probe.id == linkID { self.abortUpgrade() }
            return
        }
        self.delegate?.engineIOSession(self, didReceiveBinary: data)
    }

    func webSocketClosed(_ linkID: ObjectIdentifier) {
        if let probe = self.probe, probe.id == linkID {
            self.probe = nil
            self.probeAnswered = false
            self.upgradeTimer?.cancel()
            self.upgradeTimer = nil
            return
        }
        if case .websocket(let link) = self.transport, link.id == linkID {
            self.finish(.transportClose, clientInitiated: false)
        }
    }

    /// A WebSocket arrived for this session: the upgrade probe, unless the session cannot upgrade now.
    func attachProbe(_ link: WebSocketLink) {
        guard !self.isClosed, self.configuration.allowUpgrades, case .polling = self.transport, self.probe == nil else {
            // Already upgraded or upgrading: the reference server completes the 101 and closes at once.
            link.close()
            return
        }
        self.probe = link
        self.upgradeTimer = self.loop.scheduleTimer(after: self.configuration.upgradeTimeout) { [self] in
            self.upgradeTimer = nil
            self.abortUpgrade()
        }
    }

    private func probeReceived(_ text: ByteBuffer) {
        guard let probe = self.probe else { return }
        let packet = try? EngineIOPacket.decode(webSocketText: text)
        if packet?.isProbePing == true {
            probe.send(packet: .probePong)
            self.probeAnswered = true
            if let poll = self.pendingPoll, self.outbox.isEmpty {
                self.pendingPoll = nil
                poll.answer(status: 200, contentType: "text/plain; charset=UTF-8", body: ByteBuffer(string: "6"))
            }
        } else if packet?.type == .upgrade {
            self.upgradeTimer?.cancel()
            self.upgradeTimer = nil
            self.probe = nil
            self.probeAnswered = false
            if let poll = self.pendingPoll {
                self.pendingPoll = nil
                poll.answer(status: 200, contentType: "text/plain; charset=UTF-8", body: ByteBuffer(string: "6"))
            }
            self.transport = .websocket(probe)
            self.server.sessionUpgraded(self.id)
            let queued = self.outbox
            self.outbox.removeAll()
            self.outboxBytes = 0
            for packet in queued { probe.send(packet: packet) }
        } else {
            self.abortUpgrade()
        }
    }

    private func abortUpgrade() {
        self.upgradeTimer?.cancel()
        self.upgradeTimer = nil
        self.probe?.close()
        self.probe = nil
        self.probeAnswered = false
    }

    // MARK: Ending

    private func finish(_ reason: EngineIOCloseReason, clientInitiated: Bool) {
        guard !self.isClosed else { return }
        self.isClosed = true
        self.pingTimer?.cancel()
        self.pongTimer?.cancel()
        self.upgradeTimer?.cancel()
        self.pingTimer = nil
        self.pongTimer = nil
        self.upgradeTimer = nil
        var lingers = false
        switch self.transport {
        case .polling where clientInitiated:
            // A client's own close packet releases its poll with a noop.
            self.pendingPoll?.answer(status: 200, contentType: "text/plain; charset=UTF-8", body: ByteBuffer(string: "6"))
        case .polling where reason == .serverShuttingDown:
            // Draining: drop the poll's connection without an answer. A close packet would tell official
            // clients the end is deliberate and they would not reconnect (to another node).
            self.pendingPoll?.abort()
        case .polling:
            // The server ends the session: what was queued (a DISCONNECT, say) goes out first, then `1`.
            // Without a poll to carry them, a deliberate close keeps the session for one more poll; after a
            // protocol failure nothing is worth delivering and the session goes at once, as in the reference.
            let hasLastWords = !self.outbox.isEmpty && reason == .forcedClose
            self.outbox.append(.close)
            if self.pendingPoll != nil {
                self.flushPoll()
            } else if hasLastWords {
                lingers = true
                self.linger()
            }
        case .websocket(let link):
            link.close(goingAway: reason == .serverShuttingDown)
        }
        if !lingers {
            self.server.removeSession(self.id)
            self.outbox.removeAll()
        }
        self.pendingPoll = nil
        self.probe?.close()
        self.probe = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.engineIOSessionDidClose(self, reason: reason)
    }
}

extension WebSocketLink {
    fileprivate func send(packet: EngineIOPacket) {
        switch packet.payload {
        case .text(let text): self.sendText(prefix: packet.type.digit, payload: text)
        case .binary(let data): self.sendBinary(data)
        }
    }
}

@available(*, unavailable)
extension EngineIOSession: Sendable {}
