public import HTTPCore
public import IOCore
public import IOPosix

/// Why an HTTP client call failed.
public struct HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case connectFailed, timedOut, connectionClosed, badResponse, bodyTooLarge, busy
    }

    let code: Code
    /// Detail for logs; never contains body bytes.
    public let detail: String
    /// The connection's own error, when the failure came from the socket or TLS layer (a refused
    /// connect, a certificate the client rejected), so callers can tell them apart without parsing text.
    public let connectionError: ConnectionError?

    init(_ code: Code, _ detail: String = "", connectionError: ConnectionError? = nil) {
        self.code = code
        self.detail = detail
        self.connectionError = connectionError
    }

    /// The connection could not be established (refused, unreachable, TLS failure, name not found).
    public static func connectFailed(_ detail: String) -> HTTPClientError { .init(.connectFailed, detail) }
    /// A deadline passed (connect, first byte).
    public static func timedOut(_ detail: String) -> HTTPClientError { .init(.timedOut, detail) }
    /// The connection closed before the response was complete.
    public static func connectionClosed(_ detail: String) -> HTTPClientError { .init(.connectionClosed, detail) }
    /// The server's answer was not valid HTTP/1.1.
    public static func badResponse(_ detail: String) -> HTTPClientError { .init(.badResponse, detail) }
    /// A body was larger than the caller allowed.
    public static let bodyTooLarge = HTTPClientError(.bodyTooLarge)
    /// A request was made while another one was still in progress on the connection.
    public static let busy = HTTPClientError(.busy)

    /// A short label, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .connectFailed: "connect_failed"
        case .timedOut: "timed_out"
        case .connectionClosed: "connection_closed"
        case .badResponse: "bad_response"
        case .bodyTooLarge: "body_too_large"
        case .busy: "busy"
        }
    }

    public var description: String { self.detail.isEmpty ? self.shortDescription : "\(self.shortDescription): \(self.detail)" }
    public static func == (lhs: HTTPClientError, rhs: HTTPClientError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// A request for ``HTTPClientConnection``.
public struct HTTPClientRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The request target, e.g. `/v1/chat/completions`.
    public var target: String
    /// Headers; `Host` and `Content-Length` are added when missing.
    public var headers: HTTPHeaders
    /// The body, sent with a `Content-Length`.
    public var body: ByteBuffer

    /// A request.
    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }
}

/// A response head with its body still arriving.
public struct HTTPClientResponse: Sendable {
    /// Status and headers.
    public var head: HTTPResponseHead
    /// The body, streamed as it arrives.
    public var body: HTTPBodyStream
}

/// One HTTP/1.1 client connection (plain or TLS) on an event loop, for sequential requests with keep-alive.
///
/// Thread-safe facade: the protocol state lives on the connection's loop. Connection pooling belongs to
/// the layer above.
public final class HTTPClientConnection: Sendable {
    private let handler: LoopBound<HTTPClientHandler>
    /// The loop that owns the connection.
    public var loop: EventLoop { self.handler.loop }
    /// The `host[:port]` this connection talks to, as sent in `Host`.
    public let authority: String

    private init(handler: LoopBound<HTTPClientHandler>, authority: String) {
        self.handler = handler
        self.authority = authority
    }

    /// Connects to `host`:`port` (resolving names off the loop), with TLS when `tls` is given.
    /// - Parameters:
    ///   - tls: a client TLS factory; the peer certificate is verified against `host`.
    ///   - timeout: bounds name resolution, TCP connect and TLS handshake together.
    ///   - limits: response parser limits.
    public static func connect(
        host: String, port: Int, tls: (any SecureClientTransportFactory)?, on loop: EventLoop,
        timeout: Duration = .seconds(10), limits: HTTPParserLimits = .responseDefaults
    ) async throws -> HTTPClientConnection {
        let addresses: [SocketAddress]
        do {
            addresses = try await Resolver.resolve(host: host, port: port)
        } catch {
            throw HTTPClientError.connectFailed("cannot resolve host: \(error)")
        }
        guard let address = addresses.first else { throw HTTPClientError.connectFailed("host has no addresses") }
        let defaultPort = tls == nil ? 80 : 443
        let authority = port == defaultPort ? host : (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        let bound: LoopBound<HTTPClientHandler> = try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                let handler = HTTPClientHandler(limits: limits)
                handler.state = .connecting(continuation)
                var options = ConnectionOptions()
                options.handshakeTimeout = timeout
                do {
                    handler.connection = try loop.connect(
                        to: address, tls: tls.map { ($0, host) }, options: options, handler: handler
                    )
                    handler.pendingBound = LoopBound(handler, loop: loop)
                } catch {
                    handler.state = .closed
                    continuation.resume(throwing: HTTPClientError.connectFailed("\(error)"))
                }
            }
        }
        return HTTPClientConnection(handler: bound, authority: authority)
    }

    /// Sends `request` and waits for the response head; the body then streams through the result.
    /// - Parameter firstByteTimeout: how long to wait for the response head after sending.
    public func execute(_ request: HTTPClientRequest, firstByteTimeout: Duration = .seconds(60)) async throws -> HTTPClientResponse {
        var request = request
        if request.headers["Host"] == nil { request.headers.add(name: "Host", value: self.authority) }
        if request.headers["Content-Length"] == nil && (!request.body.isEmpty || request.method == .post || request.method == .put) {
            request.headers.add(name: "Content-Length", value: String(request.body.readableBytes))
        }
        let prepared = request
        let handler = self.handler
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                handler.loop.execute { handler.value.start(prepared, timeout: firstByteTimeout, continuation: continuation) }
            }
        } onCancel: {
            handler.loop.execute { handler.value.connection?.abort(.reset("cancelled")) }
        }
    }

    /// Whether the connection is idle and open, so another request may be sent.
    public var isReusable: Bool {
        get async {
            let handler = self.handler
            return await withCheckedContinuation { continuation in
                handler.loop.execute { continuation.resume(returning: handler.value.isReusable) }
            }
        }
    }

    /// Closes the connection; a response in progress fails.
    public func close() {
        let handler = self.handler
        handler.loop.execute { handler.value.connection?.close() }
    }
}

/// The loop-side state machine of ``HTTPClientConnection``.
final class HTTPClientHandler: ConnectionHandler {
    enum State {
        case connecting(CheckedContinuation<LoopBound<HTTPClientHandler>, any Error>)
        case idle
        case awaitingHead(CheckedContinuation<HTTPClientResponse, any Error>)
        case streamingBody(HTTPBodyStream.Storage)
        case closed
    }

    var state: State = .idle
    var connection: Connection?
    /// Handed to the connecting task once the connection is open.
    var pendingBound: LoopBound<HTTPClientHandler>?
    private var parser: HTTPResponseParser
    private var timer: ScheduledTimer?
    private var keepAlive = true

    init(limits: HTTPParserLimits) {
        self.parser = HTTPResponseParser(limits: limits)
    }

    var isReusable: Bool {
        if case .idle = self.state, self.keepAlive, self.connection?.isOpen == true { return true }
        return false
    }

    func start(_ request: HTTPClientRequest, timeout: Duration, continuation: CheckedContinuation<HTTPClientResponse, any Error>) {
        guard case .idle = self.state, let connection = self.connection, connection.isOpen else {
            continuation.resume(throwing: self.isClosed ? HTTPClientError.connectionClosed("connection is closed") : HTTPClientError.busy)
            return
        }
        self.state = .awaitingHead(continuation)
        self.parser.expectResponse(toRequestMethod: request.method)
        self.keepAlive = !request.headers.containsToken("close", forName: "Connection")
        let head = HTTPRequestHead(method: request.method, target: request.target, headers: request.headers)
        connection.writeWith { output in
            head.write(into: &output)
            output.writeBuffer(request.body)
        }
        self.timer = connection.loop.scheduleTimer(after: timeout) { [weak self] in
            self?.timer = nil
            self?.connection?.abort(.timedOut("waiting for the response head"))
        }
    }

    private var isClosed: Bool {
        if case .closed = self.state { return true }
        return false
    }

    func connectionDidOpen(_ connection: Connection) {
        guard case .connecting(let continuation) = self.state, let bound = self.pendingBound else { return }
        self.pendingBound = nil
        self.state = .idle
        continuation.resume(returning: bound)
    }

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        var offset = 0
        // Called until there is no event, even with no bytes left: an empty body's `.end` needs none.
        while true {
            let event: HTTPResponseEvent?
            let consumed: Int
            do {
                (event, consumed) = try self.parser.next(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                connection.abort(.protocolViolation("bad HTTP response: \(error)"))
                return
            }
            offset += consumed
            guard let event else { return }
            self.handle(event, connection: connection)
            if self.isClosed { return }
        }
    }

    private func handle(_ event: HTTPResponseEvent, connection: Connection) {
        switch event {
        case .head(let head):
            guard case .awaitingHead(let continuation) = self.state else {
                connection.abort(.protocolViolation("response without a request"))
                return
            }
            self.timer?.cancel()
            self.timer = nil
            self.keepAlive = self.keepAlive && head.isKeepAlive
            let loop = connection.loop
            let bound = LoopBound(connection, loop: loop)
            let storage = HTTPBodyStream.Storage(
                highWatermark: 256 * 1024,
                resume: { loop.execute { bound.value.resumeReading() } },
                cancel: { loop.execute { bound.value.abort(.reset("body consumer cancelled")) } }
            )
            self.state = .streamingBody(storage)
            continuation.resume(returning: HTTPClientResponse(head: head, body: HTTPBodyStream(storage: storage)))
        case .body(let chunk):
            guard case .streamingBody(let storage) = self.state else { return }
            if storage.yield(chunk) { connection.pauseReading() }
        case .end:
            guard case .streamingBody(let storage) = self.state else { return }
            self.state = .idle
            storage.finish(nil)
            if !self.keepAlive { connection.close() }
        }
    }

    func connectionDidReadEOF(_ connection: Connection) {
        // A close-delimited body ends here; anything else in flight is cut short.
        if case .streamingBody = self.state {
            do {
                if let event = try self.parser.finish() { self.handle(event, connection: connection) }
            } catch {
                self.failPending(HTTPClientError.connectionClosed("response truncated: \(error)"))
            }
        }
        connection.close()
    }

    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {
        self.timer?.cancel()
        self.timer = nil
        let clientError: HTTPClientError
        switch error?.shortDescription {
        case "timed_out": clientError = HTTPClientError(.timedOut, error!.detail, connectionError: error)
        case "connect_failed", "tls_failure": clientError = HTTPClientError(.connectFailed, error!.description, connectionError: error)
        default: clientError = HTTPClientError(.connectionClosed, error?.description ?? "closed by peer", connectionError: error)
        }
        self.failPending(clientError)
        self.state = .closed
        self.connection = nil
    }

    private func failPending(_ error: HTTPClientError) {
        switch self.state {
        case .connecting(let continuation):
            self.pendingBound = nil
            continuation.resume(throwing: error)
        case .awaitingHead(let continuation):
            continuation.resume(throwing: error)
        case .streamingBody(let storage):
            storage.finish(error)
        case .idle, .closed:
            break
        }
        self.state = .closed
    }
}
