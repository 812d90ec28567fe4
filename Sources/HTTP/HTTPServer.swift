public import HTTPCore
public import IOCore
public import IOPosix
import Logging

/// Limits and deadlines of the HTTP/1.1 server.
public struct HTTPServerConfiguration: Sendable {
    /// Parser limits: request line, headers, body.
    public var limits = HTTPParserLimits()
    /// From the first byte of a request to the end of its headers (slowloris guard); answered with 408.
    public var headerReadTimeout: Duration = .seconds(10)
    /// From the end of the headers to the end of the body.
    public var bodyReadTimeout: Duration = .seconds(30)
    /// How long a keep-alive connection may sit idle between requests.
    public var idleTimeout: Duration = .seconds(75)
    /// WebSocket limits for upgraded connections.
    public var webSocket = WebSocketConfiguration()

    /// The defaults.
    public init() {}
}

/// A complete HTTP request: the head and the whole body (bounded by the parser's body limit).
public struct HTTPRequest: Sendable {
    /// Method, target, headers.
    public var head: HTTPRequestHead
    /// The body, empty when there was none.
    public var body: ByteBuffer
    /// The peer's address.
    public var remoteAddress: SocketAddress?
    /// Whether it arrived over TLS.
    public var isSecure: Bool
}

/// The application behind the HTTP server: answers each request through its ``HTTPResponseWriter``,
/// at once or later (a long-poll), or upgrades the connection. Called on the connection's loop.
public protocol HTTPResponder: AnyObject {
    /// Handles one request. Exactly one of the writer's `send` or `upgrade` calls must follow, now or later.
    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter)
}

/// Answers one request. Loop-confined; the first `send` or `upgrade` wins, later calls are ignored.
public final class HTTPResponseWriter {
    /// The connection the request came on; its `loop` is where the answer must be given.
    public let connection: Connection
    private weak var server: HTTPServerConnection?
    private let isHead: Bool
    private let keepAlive: Bool
    /// The version the request used; the response answers in kind.
    private let version: HTTPVersion
    /// Whether `send` or `upgrade` was called.
    public private(set) var isComplete = false
    /// Called if the connection closes before the answer was given, so a held request (a long-poll)
    /// can be abandoned. Runs on the connection's loop.
    public var onConnectionClose: (() -> Void)?

    init(connection: Connection, server: HTTPServerConnection, head: HTTPRequestHead) {
        self.connection = connection
        self.server = server
        self.isHead = head.method == .head
        self.keepAlive = head.isKeepAlive
        self.version = head.version
    }

    /// Whether the connection is still open to receive the answer.
    public var isConnectionOpen: Bool { self.connection.isOpen }

    /// Sends a response with a fixed body. `Content-Length` and `Connection` are set here.
    /// - Parameter closeConnection: close the connection after this response even if keep-alive applies.
    public func send(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer(), closeConnection: Bool = false) {
        guard !self.isComplete else { return }
        self.isComplete = true
        self.onConnectionClose = nil
        let keepAlive = !closeConnection && self.keepAlive && (self.server?.acceptsMoreRequests ?? false)
        var head = HTTPResponseHead(version: self.version, status: HTTPStatus(code: status), headers: headers)
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive {
            head.headers.replaceOrAdd(name: "Connection", value: "close")
        } else if self.version.minor == 0 {
            head.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let isHead = self.isHead
        self.connection.writeWith { output in
            head.write(into: &output)
            if !isHead { output.writeBuffer(body) }
        }
        self.server?.responseCompleted(keepAlive: keepAlive)
    }

    /// Sends a plain-text response.
    public func send(status: Int, text: String, headers: HTTPHeaders = HTTPHeaders()) {
        var headers = headers
        if headers["Content-Type"] == nil { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        self.send(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// Writes `response` (a 101) and hands the connection to `handler`, which then receives every
    /// following byte, starting with any that arrived right after the request.
    public func upgrade(response: HTTPResponseHead, to handler: any ConnectionHandler) {
        guard !self.isComplete else { return }
        self.isComplete = true
        self.onConnectionClose = nil
        self.connection.writeWith { response.write(into: &$0) }
        self.server?.upgraded(to: handler)
    }
}

/// The HTTP/1.1 server side of one connection: parses requests (pipelined, keep-alive), enforces the
/// deadlines, answers parse errors with their status, and hands complete requests to the responder
/// one at a time, in order.
public final class HTTPServerConnection: ConnectionHandler {
    private enum State {
        /// Waiting for the first byte of a request (idle timer armed).
        case idle
        /// Reading a request's head, then its body.
        case reading
        /// The responder has the request; reading is paused until it answers.
        case responding
        /// The connection now belongs to another protocol handler.
        case upgraded
        /// Closing after a final response.
        case closing
    }

    private let connection: Connection
    private let responder: any HTTPResponder
    private let configuration: HTTPServerConfiguration
    private var parser: HTTPRequestParser
    private var state = State.idle
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var timer: ScheduledTimer?
    /// Bytes that arrived after a complete request while its answer is pending (pipelining).
    private var stash = ByteBuffer()
    /// True while the responder's `respond` runs, so a synchronous answer does not recurse into parsing.
    private var dispatching = false
    /// The writer of the request being answered, told if the connection closes first.
    private weak var pendingWriter: HTTPResponseWriter?
    private var draining = false

    /// Serves HTTP on `connection`, passing requests to `responder`.
    public init(connection: Connection, responder: any HTTPResponder, configuration: HTTPServerConfiguration) {
        self.connection = connection
        self.responder = responder
        self.configuration = configuration
        self.parser = HTTPRequestParser(limits: configuration.limits)
    }

    /// Whether another request may follow on this connection.
    var acceptsMoreRequests: Bool { !self.draining && self.connection.isOpen }

    // MARK: ConnectionHandler

    public func connectionDidOpen(_ connection: Connection) {
        self.armTimer(self.configuration.idleTimeout)
    }

    public func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        switch self.state {
        case .responding:
            self.stash.writeBytes(bytes)
            connection.pauseReading()
        case .idle, .reading:
            self.parse(bytes)
        case .upgraded, .closing:
            break
        }
    }

    public func connectionDidReadEOF(_ connection: Connection) {
        self.draining = true
        // A request cut off by EOF is abandoned; so is a held answer (a long-poll) whose client hung up:
        // whoever holds it must hear that now, not when it finally answers into a dead connection.
        if self.state == .responding, let writer = self.pendingWriter, !writer.isComplete, let onClose = writer.onConnectionClose {
            writer.onConnectionClose = nil
            onClose()
            connection.close()
        } else if self.state != .responding {
            connection.close()
        }
    }

    public func connectionShouldDrain(_ connection: Connection) {
        self.draining = true
        if self.state == .idle { connection.close() }
    }

    public func connectionDidClose(_ connection: Connection, error: ConnectionError?) {
        self.timer?.cancel()
        self.timer = nil
        if let writer = self.pendingWriter, !writer.isComplete, let onClose = writer.onConnectionClose {
            writer.onConnectionClose = nil
            onClose()
        }
    }

    // MARK: Parsing

    private func parse(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        // The parser is called until it has no event, even with no bytes left: a GET's `.end` needs none.
        while true {
            let event: HTTPRequestEvent?
            let consumed: Int
            do {
                (event, consumed) = try self.parser.next(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                self.fail(error)
                return
            }
            offset += consumed
            if self.state == .idle && (consumed > 0 || event != nil) {
                self.state = .reading
                self.armTimer(self.configuration.headerReadTimeout, status: 408)
            }
            guard let event else { return }
            switch event {
            case .head(let head):
                self.head = head
                self.armTimer(self.configuration.bodyReadTimeout, status: 408)
            case .body(let chunk):
                self.body.writeBuffer(chunk)
            case .end:
                self.dispatch()
                switch self.state {
                case .idle, .reading:
                    continue  // answered synchronously; parse the next pipelined request
                case .responding:
                    if offset < bytes.count {
                        self.stash.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                        self.connection.pauseReading()
                    }
                case .upgraded:
                    if offset < bytes.count, let handler = self.connection.handler {
                        handler.connection(self.connection, didRead: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                    }
                case .closing:
                    break
                }
                return
            }
        }
    }

    private func dispatch() {
        guard let head = self.head else { return }
        self.timer?.cancel()
        self.timer = nil
        self.state = .responding
        let request = HTTPRequest(
            head: head, body: self.body, remoteAddress: self.connection.remoteAddress, isSecure: self.connection.isSecure
        )
        self.head = nil
        self.body = ByteBuffer()
        let writer = HTTPResponseWriter(connection: self.connection, server: self, head: head)
        self.pendingWriter = writer
        self.dispatching = true
        self.responder.respond(to: request, with: writer)
        self.dispatching = false
    }

    /// Called by the writer once the answer is queued.
    func responseCompleted(keepAlive: Bool) {
        guard self.state == .responding else { return }
        guard keepAlive else {
            self.state = .closing
            self.connection.close()
            return
        }
        self.state = .idle
        self.armTimer(self.configuration.idleTimeout)
        if !self.dispatching && !self.stash.isEmpty {
            // The pipelined bytes that waited for this answer; parse them now that it is out.
            let pending = self.stash
            self.stash = ByteBuffer()
            self.connection.resumeReading()
            pending.withUnsafeReadableBytes { self.parse($0) }
        } else {
            self.connection.resumeReading()
        }
    }

    /// Called by the writer after a 101: the new handler takes over.
    func upgraded(to handler: any ConnectionHandler) {
        self.state = .upgraded
        self.timer?.cancel()
        self.timer = nil
        self.connection.handler = handler
        handler.connectionDidOpen(self.connection)
        if !self.stash.isEmpty {
            let pending = self.stash
            self.stash = ByteBuffer()
            pending.withUnsafeReadableBytes { handler.connection(self.connection, didRead: $0) }
        }
        self.connection.resumeReading()
    }

    private func fail(_ error: HTTPParseError) {
        self.sendError(status: error.status, message: error.message)
    }

    private func sendError(status: Int, message: String) {
        self.timer?.cancel()
        self.timer = nil
        self.state = .closing
        var head = HTTPResponseHead(version: .http1_1, status: HTTPStatus(code: status))
        head.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        head.headers.add(name: "Content-Length", value: String(message.utf8.count + 1))
        head.headers.add(name: "Connection", value: "close")
        self.connection.writeWith { output in
            head.write(into: &output)
            output.writeString(message)
            output.writeByte(UInt8(ascii: "\n"))
        }
        self.connection.close()
    }

    private func armTimer(_ delay: Duration, status: Int? = nil) {
        let callback: () -> Void = { [weak self] in
            guard let self else { return }
            self.timer = nil
            if let status, self.state == .reading {
                self.sendError(status: status, message: "Request Timeout")
            } else if self.state == .idle {
                self.connection.close()
            }
        }
        if let timer = self.timer {
            self.connection.loop.reschedule(timer, after: delay, callback)
        } else {
            self.timer = self.connection.loop.scheduleTimer(after: delay, callback)
        }
    }
}

/// Serves HTTP/1.1 (and WebSocket upgrades) with `responder` on a ``TCPServer``.
public enum HTTPServer {
    /// Binds `serverConfiguration` and serves every connection with a fresh ``HTTPServerConnection``.
    public static func start(
        group: EventLoopGroup,
        server serverConfiguration: ServerConfiguration,
        http: HTTPServerConfiguration = HTTPServerConfiguration(),
        responder: @escaping @Sendable (Connection) -> any HTTPResponder
    ) throws -> TCPServer {
        try TCPServer(group: group, configuration: serverConfiguration) { connection in
            HTTPServerConnection(connection: connection, responder: responder(connection), configuration: http)
        }
    }
}
