public import HTTPCore
public import IOCore
public import IOPosix
public import WebSocketCore

/// Limits of a WebSocket connection.
public struct WebSocketConfiguration: Sendable {
    /// The largest single frame accepted (1009 beyond).
    public var maxFrameSize = 1 << 20
    /// The largest message accepted, over all its fragments (1009 beyond).
    public var maxMessageSize = 1 << 20
    /// How long to wait for the peer's close frame after sending ours, before dropping the connection.
    public var closeTimeout: Duration = .seconds(5)

    /// The defaults.
    public init() {}
}

/// Receives a WebSocket connection's messages. Called on the connection's loop.
public protocol WebSocketDelegate: AnyObject {
    /// The connection is open (the 101 is queued).
    func webSocketDidOpen(_ webSocket: WebSocketConnection)
    /// A complete text message; its bytes are valid UTF-8.
    func webSocket(_ webSocket: WebSocketConnection, didReceiveText text: ByteBuffer)
    /// A complete binary message.
    func webSocket(_ webSocket: WebSocketConnection, didReceiveBinary data: ByteBuffer)
    /// Output drained below the low watermark after back-pressure.
    func webSocketWritabilityDidChange(_ webSocket: WebSocketConnection)
    /// The connection is gone. `code` is the close code received or sent, nil when the TCP connection
    /// ended without a close handshake; `error` says why when it was not clean.
    func webSocketDidClose(_ webSocket: WebSocketConnection, code: WebSocketCloseCode?, error: ConnectionError?)
}

extension WebSocketDelegate {
    public func webSocketDidOpen(_ webSocket: WebSocketConnection) {}
    public func webSocket(_ webSocket: WebSocketConnection, didReceiveBinary data: ByteBuffer) {
        webSocket.close(code: .unsupportedData, reason: "binary messages are not accepted")
    }
    public func webSocketWritabilityDidChange(_ webSocket: WebSocketConnection) {}
}

/// The server side of an RFC 6455 connection: frames in and out, fragmentation, ping/pong, the close
/// handshake, and every protocol error answered with its close code.
public final class WebSocketConnection: ConnectionHandler {
    private enum State {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        case closed
    }

    /// The transport.
    public let connection: Connection
    /// Where messages go; set it before the connection opens.
    public var delegate: (any WebSocketDelegate)?
    private let configuration: WebSocketConfiguration
    private var parser: WebSocketFrameParser
    private var assembler: WebSocketMessageAssembler
    private var state = State.open
    private var closeCode: WebSocketCloseCode?
    private var closeTimer: ScheduledTimer?

    /// A WebSocket on an upgraded connection.
    public init(connection: Connection, configuration: WebSocketConfiguration, delegate: (any WebSocketDelegate)?) {
        self.connection = connection
        self.configuration = configuration
        self.delegate = delegate
        self.parser = WebSocketFrameParser(maxFrameSize: configuration.maxFrameSize, requireMaskedFrames: true)
        self.assembler = WebSocketMessageAssembler(maxMessageSize: configuration.maxMessageSize)
    }

    /// Whether messages can still be sent.
    public var isOpen: Bool { self.state == .open && self.connection.isOpen }

    /// Whether queued output is below the high watermark.
    public var isWritable: Bool { self.connection.isWritable }

    // MARK: Sending

    /// Sends a text message; `text` must be valid UTF-8.
    public func send(text: ByteBuffer) {
        guard self.state == .open else { return }
        self.connection.writeWith { WebSocketFrame.write(opcode: .text, payload: text, into: &$0) }
    }

    /// Sends a text message.
    public func send(text: String) {
        guard self.state == .open else { return }
        var text = text
        text.withUTF8 { utf8 in
            self.connection.writeWith { WebSocketFrame.write(opcode: .text, payload: UnsafeRawBufferPointer(utf8), into: &$0) }
        }
    }

    /// Sends a text message from raw bytes that are valid UTF-8.
    public func send(textBytes bytes: UnsafeRawBufferPointer) {
        guard self.state == .open else { return }
        self.connection.writeWith { WebSocketFrame.write(opcode: .text, payload: bytes, into: &$0) }
    }

    /// Sends a text message made of one prefix byte and `payload`, without joining them first: Engine.IO's
    /// packet type digit before a Socket.IO packet that was encoded once for many receivers.
    public func send(textPrefix prefix: UInt8, payload: ByteBuffer) {
        guard self.state == .open else { return }
        self.connection.writeWith { output in
            WebSocketFrame.writeHeader(opcode: .text, payloadLength: payload.readableBytes + 1, into: &output)
            output.writeByte(prefix)
            output.writeBuffer(payload)
        }
    }

    /// Sends a binary message.
    public func send(binary: ByteBuffer) {
        guard self.state == .open else { return }
        self.connection.writeWith { WebSocketFrame.write(opcode: .binary, payload: binary, into: &$0) }
    }

    /// Sends a ping (payload at most 125 bytes).
    public func sendPing(_ payload: ByteBuffer = ByteBuffer()) {
        guard self.state == .open, payload.readableBytes <= 125 else { return }
        self.connection.writeWith { WebSocketFrame.write(opcode: .ping, payload: payload, into: &$0) }
    }

    /// Starts the close handshake: sends a close frame, then waits (bounded) for the peer's.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") {
        guard self.state == .open else { return }
        self.state = .closeSent
        self.closeCode = code
        self.connection.writeWith { WebSocketFrame.writeClose(code: code, reason: reason, into: &$0) }
        self.closeTimer = self.connection.loop.scheduleTimer(after: self.configuration.closeTimeout) { [self] in
            self.closeTimer = nil
            self.connection.close()
        }
    }

    /// Drops the TCP connection at once, without a close handshake.
    public func abort() {
        self.connection.abort(nil)
    }

    // MARK: ConnectionHandler

    public func connectionDidOpen(_ connection: Connection) {
        self.delegate?.webSocketDidOpen(self)
    }

    public func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count && self.state != .closed {
            let frame: WebSocketFrame?
            let consumed: Int
            do {
                (frame, consumed) = try self.parser.next(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                offset += consumed
                guard let frame else { continue }
                guard let event = try self.assembler.receive(frame) else { continue }
                self.handle(event)
            } catch {
                self.failProtocol(error)
                return
            }
        }
    }

    private func handle(_ event: WebSocketEvent) {
        switch event {
        case .text(let text):
            if self.state == .open { self.delegate?.webSocket(self, didReceiveText: text) }
        case .binary(let data):
            if self.state == .open { self.delegate?.webSocket(self, didReceiveBinary: data) }
        case .ping(let payload):
            if self.state == .open {
                self.connection.writeWith { WebSocketFrame.write(opcode: .pong, payload: payload, into: &$0) }
            }
        case .pong:
            break
        case .close(let code, _):
            if self.state == .open {
                // Echo the peer's code (RFC 6455 5.5.1), then close once it is sent.
                self.closeCode = code
                self.connection.writeWith { WebSocketFrame.writeClose(code: code ?? .normalClosure, into: &$0) }
            }
            self.state = .closed
            self.connection.close()
        }
    }

    private func failProtocol(_ error: WebSocketProtocolError) {
        guard self.state != .closed else { return }
        if self.state == .open {
            self.closeCode = error.closeCode
            self.connection.writeWith { WebSocketFrame.writeClose(code: error.closeCode, reason: error.reason, into: &$0) }
        }
        self.state = .closed
        self.connection.close()
    }

    public func connectionWritabilityDidChange(_ connection: Connection) {
        self.delegate?.webSocketWritabilityDidChange(self)
    }

    public func connectionDidReadEOF(_ connection: Connection) {
        self.state = .closed
        connection.close()
    }

    public func connectionShouldDrain(_ connection: Connection) {
        self.close(code: .goingAway, reason: "server shutting down")
    }

    public func connectionDidClose(_ connection: Connection, error: ConnectionError?) {
        self.state = .closed
        self.closeTimer?.cancel()
        self.closeTimer = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.webSocketDidClose(self, code: self.closeCode, error: error)
    }
}

/// Validates WebSocket upgrade requests and builds the 101 answer (RFC 6455 section 4.2).
public enum WebSocketUpgrade {
    /// Why an upgrade request was refused, with the HTTP status to answer.
    public struct Refusal: Error, Sendable, Equatable {
        /// 400 for a malformed request, 426 for a wrong version.
        public var status: Int
        /// Safe to send to the client.
        public var message: String
        /// Headers the answer must carry (426 names the supported version).
        public var headers: HTTPHeaders
    }

    /// Whether the request asks for a WebSocket upgrade at all.
    public static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        head.headers.containsToken("websocket", forName: "Upgrade")
    }

    /// Checks an upgrade request and returns the 101 response to send.
    public static func response(for head: HTTPRequestHead) throws(Refusal) -> HTTPResponseHead {
        func refuse(_ status: Int, _ message: String, _ headers: HTTPHeaders = HTTPHeaders()) -> Refusal {
            Refusal(status: status, message: message, headers: headers)
        }
        guard head.method == .get else { throw refuse(400, "WebSocket upgrade needs GET") }
        guard head.version.major == 1 && head.version.minor >= 1 else { throw refuse(400, "WebSocket upgrade needs HTTP/1.1") }
        guard head.headers.containsToken("websocket", forName: "Upgrade") else { throw refuse(400, "missing Upgrade: websocket") }
        guard head.headers.containsToken("upgrade", forName: "Connection") else { throw refuse(400, "missing Connection: upgrade") }
        guard head.headers["Sec-WebSocket-Version"] == "13" else {
            var headers = HTTPHeaders()
            headers.add(name: "Sec-WebSocket-Version", value: "13")
            throw refuse(426, "unsupported WebSocket version", headers)
        }
        guard let key = head.headers["Sec-WebSocket-Key"], WebSocketHandshake.isValidKey(key) else {
            throw refuse(400, "missing or invalid Sec-WebSocket-Key")
        }
        var response = HTTPResponseHead(version: .http1_1, status: .switchingProtocols)
        response.headers.add(name: "Upgrade", value: "websocket")
        response.headers.add(name: "Connection", value: "Upgrade")
        response.headers.add(name: "Sec-WebSocket-Accept", value: WebSocketHandshake.acceptValue(forKey: key))
        return response
    }

    /// Answers `writer`'s request: upgrades to a ``WebSocketConnection`` with `delegate`, or sends the refusal.
    /// Returns the WebSocket when the upgrade happened.
    @discardableResult
    public static func upgrade(
        _ request: HTTPRequest, with writer: HTTPResponseWriter, configuration: WebSocketConfiguration,
        delegate: any WebSocketDelegate
    ) -> WebSocketConnection? {
        do {
            let response = try WebSocketUpgrade.response(for: request.head)
            let webSocket = WebSocketConnection(connection: writer.connection, configuration: configuration, delegate: delegate)
            writer.upgrade(response: response, to: webSocket)
            return webSocket
        } catch {
            writer.send(status: error.status, text: error.message, headers: error.headers)
            return nil
        }
    }
}
