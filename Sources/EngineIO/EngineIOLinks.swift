import EngineIOCore
import HTTP
import HTTPCore
import IOCore
import IOPosix
import WebSocketCore

/// A session's WebSocket, which may live on another loop than the session: every call hops to the
/// socket's loop when needed, in order.
struct WebSocketLink: Sendable {
    let socket: LoopBound<WebSocketConnection>
    /// Identifies the socket across loops (compared, never dereferenced).
    let id: ObjectIdentifier

    init(_ socket: WebSocketConnection, loop: EventLoop) {
        self.socket = LoopBound(socket, loop: loop)
        self.id = ObjectIdentifier(socket)
    }

    private func onSocketLoop(_ body: @escaping @Sendable (WebSocketConnection) -> Void) {
        if self.socket.loop.inEventLoop {
            body(self.socket.value)
        } else {
            let socket = self.socket
            socket.loop.execute { body(socket.value) }
        }
    }

    func sendText(prefix: UInt8, payload: ByteBuffer) {
        self.onSocketLoop { $0.send(textPrefix: prefix, payload: payload) }
    }

    func sendBinary(_ data: ByteBuffer) {
        self.onSocketLoop { $0.send(binary: data) }
    }

    func close(goingAway: Bool = false) {
        self.onSocketLoop { $0.close(code: goingAway ? .goingAway : .normalClosure) }
    }

    /// Below the high watermark. From another loop the answer would be stale anyway: assume yes.
    var isWritable: Bool {
        self.socket.loop.inEventLoop ? self.socket.value.isWritable : true
    }
}

/// An HTTP request waiting for its answer (a poll or a POST), answerable from any loop.
struct PollSink: Sendable {
    let writer: LoopBound<HTTPResponseWriter>
    /// Headers every answer carries (CORS).
    let extraHeaders: HTTPHeaders
    /// Tells two sinks apart, so a late close notice for an old poll is ignored.
    let serial: UInt64

    func answer(status: Int, contentType: String?, body: ByteBuffer) {
        let writer = self.writer
        var headers = self.extraHeaders
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Cache-Control", value: "no-store")
        let finalHeaders = headers
        let send: @Sendable () -> Void = { writer.value.send(status: status, headers: finalHeaders, body: body) }
        if writer.loop.inEventLoop { send() } else { writer.loop.execute(send) }
    }

    /// Drops the request's connection without answering, so the client sees a transport error.
    func abort() {
        let writer = self.writer
        let drop: @Sendable () -> Void = { writer.value.connection.abort(nil) }
        if writer.loop.inEventLoop { drop() } else { writer.loop.execute(drop) }
    }

    func answerError(_ error: EngineIORequestError) {
        let writer = self.writer
        let headers = self.extraHeaders
        let send: @Sendable () -> Void = { error.send(to: writer.value, extraHeaders: headers, asWebSocket: false) }
        if writer.loop.inEventLoop { send() } else { writer.loop.execute(send) }
    }

    /// Runs `body` on `sessionLoop` if the request's connection closes before it is answered.
    func onClose(sessionLoop: EventLoop, _ body: @escaping () -> Void) {
        let callback = LoopBound(body, loop: sessionLoop)
        let install: @Sendable () -> Void = { [writer] in
            writer.value.onConnectionClose = { callback.loop.execute { callback.value() } }
        }
        if self.writer.loop.inEventLoop { install() } else { self.writer.loop.execute(install) }
    }
}

/// Receives one Engine.IO WebSocket's messages on the socket's loop and hands them to the session.
final class EngineIOWebSocketDelegate: WebSocketDelegate {
    let session: LoopBound<EngineIOSession>
    init(session: LoopBound<EngineIOSession>) { self.session = session }

    private func onSessionLoop(_ body: @escaping @Sendable (EngineIOSession) -> Void) {
        if self.session.loop.inEventLoop {
            body(self.session.value)
        } else {
            let session = self.session
            session.loop.execute { body(session.value) }
        }
    }

    func webSocket(_ webSocket: WebSocketConnection, didReceiveText text: ByteBuffer) {
        let id = ObjectIdentifier(webSocket)
        self.onSessionLoop { $0.webSocketReceivedText(text, from: id) }
    }

    func webSocket(_ webSocket: WebSocketConnection, didReceiveBinary data: ByteBuffer) {
        let id = ObjectIdentifier(webSocket)
        self.onSessionLoop { $0.webSocketReceivedBinary(data, from: id) }
    }

    func webSocketDidClose(_ webSocket: WebSocketConnection, code: WebSocketCloseCode?, error: ConnectionError?) {
        let id = ObjectIdentifier(webSocket)
        self.onSessionLoop { $0.webSocketClosed(id) }
    }
}

extension EngineIORequestError {
    /// Answers `writer`: JSON `{"code":N,"message":"…"}` with the error's status for HTTP requests; a plain
    /// 400 that closes the connection for WebSocket upgrade requests, as the reference server does.
    func send(to writer: HTTPResponseWriter, extraHeaders: HTTPHeaders, asWebSocket: Bool) {
        var headers = extraHeaders
        if asWebSocket {
            headers.add(name: "Content-Type", value: "text/html")
            writer.send(status: 400, headers: headers, body: ByteBuffer(string: self.message), closeConnection: true)
        } else {
            headers.add(name: "Content-Type", value: "application/json")
            writer.send(status: self.httpStatus, headers: headers, body: self.jsonBody)
        }
    }
}
