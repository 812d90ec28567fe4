import Foundation
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import TestKit
import Testing

/// One request as the fake server received it.
struct RecordedRequest: Sendable {
    var head: HTTPRequestHead
    var body: String
    /// Which connection (0, 1, ...) it arrived on.
    var connectionIndex: Int

    /// The body parsed as JSON (via Foundation: an independent parser from ours).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:]
    }
}

/// What the fake server does with one request.
enum FakeReply: Sendable {
    /// How a raw reply ends.
    enum Ending: Sendable {
        /// Leave the connection open (for keep-alive, or to hang mid-body).
        case keepOpen
        /// Close after the last piece.
        case close
        /// Abort without sending anything more (a reset in the middle of a response).
        case abort
    }

    /// Bytes written after `delay`, counted from the previous piece.
    struct Piece: Sendable {
        var delay: Duration
        var bytes: [UInt8]
    }

    /// Raw response bytes, written in pieces.
    case raw([Piece], then: Ending)
    /// Never answer.
    case hang

    /// A complete response with `Content-Length`.
    static func response(
        status: Int = 200, headers: [(String, String)] = [], body: String, contentType: String = "application/json"
    ) -> FakeReply {
        var head = "HTTP/1.1 \(status) \(HTTPStatus.standardReasonPhrase(forCode: status))\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let closes = headers.contains { $0.0.lowercased() == "connection" && $0.1.lowercased() == "close" }
        return .raw([Piece(delay: .zero, bytes: Array((head + body).utf8))], then: closes ? .close : .keepOpen)
    }

    /// A chat completion answer.
    static func completion(
        _ content: String, prompt: Int = 12, cached: Int = 0, completion: Int = 5, headers: [(String, String)] = []
    ) -> FakeReply {
        .response(headers: [("x-request-id", "req_fake")] + headers, body: completionJSON(content, prompt: prompt, cached: cached, completion: completion))
    }

    /// An API error.
    static func apiError(status: Int, message: String, type: String, code: String?, headers: [(String, String)] = []) -> FakeReply {
        let codeJSON = code.map { "\"\($0)\"" } ?? "null"
        return .response(
            status: status, headers: [("x-request-id", "req_err_\(status)")] + headers,
            body: #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":\#(codeJSON)}}"#
        )
    }

    /// A chunked response whose body is `body`, cut into HTTP chunks at `chunkCuts` (offsets into
    /// the body), and written to the socket in pieces cut at `wireCuts` (offsets into everything after
    /// the head), `gap` apart.
    static func chunked(
        status: Int = 200, contentType: String, headers: [(String, String)] = [], body: [UInt8], chunkCuts: [Int],
        wireCuts: [Int] = [], gap: Duration = .milliseconds(2), then ending: Ending = .keepOpen, omitTerminator: Bool = false
    ) -> FakeReply {
        var head = "HTTP/1.1 \(status) \(HTTPStatus.standardReasonPhrase(forCode: status))\r\n"
        head += "Content-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\nx-request-id: req_stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var framed: [UInt8] = []
        var start = 0
        for cut in (chunkCuts.filter { $0 > 0 && $0 < body.count }.sorted() + [body.count]) where cut > start {
            framed += Array(String(cut - start, radix: 16).utf8) + [13, 10] + body[start..<cut] + [13, 10]
            start = cut
        }
        if !omitTerminator { framed += Array("0\r\n\r\n".utf8) }
        var pieces = [Piece(delay: .zero, bytes: Array(head.utf8))]
        start = 0
        for cut in (wireCuts.filter { $0 > 0 && $0 < framed.count }.sorted() + [framed.count]) where cut > start {
            pieces.append(Piece(delay: gap, bytes: Array(framed[start..<cut])))
            start = cut
        }
        return .raw(pieces, then: ending)
    }
}

/// The JSON of a chat completion.
func completionJSON(_ content: String, prompt: Int = 12, cached: Int = 0, completion: Int = 5, finishReason: String = "stop") -> String {
    let escaped = String(data: try! JSONSerialization.data(withJSONObject: [content], options: []), encoding: .utf8)!.dropFirst().dropLast()
    return #"""
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",\#
        "choices":[{"index":0,"message":{"role":"assistant","content":\#(escaped),"refusal":null},"logprobs":null,\#
        "finish_reason":"\#(finishReason)"}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),\#
        "total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached),"audio_tokens":0},\#
        "completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_1"}
        """#
}

/// An event-stream body as OpenAI sends it: one chunk per delta, a finish chunk, a usage chunk, `[DONE]`.
func streamBody(_ deltas: [String], prompt: Int = 9, cached: Int = 0, completion: Int = 4, lineEnd: String = "\n") -> [UInt8] {
    func quoted(_ text: String) -> String {
        String(data: try! JSONSerialization.data(withJSONObject: [text], options: []), encoding: .utf8)!
            .dropFirst().dropLast().description
    }
    let prefix = #"{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","#
    var text = "data: " + prefix + #""choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"# + lineEnd + lineEnd
    text += ": keep-alive comment" + lineEnd + lineEnd
    for delta in deltas {
        text += "data: " + prefix + #""choices":[{"index":0,"delta":{"content":\#(quoted(delta))},"finish_reason":null}],"usage":null}"# + lineEnd + lineEnd
    }
    text += "data: " + prefix + #""choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"# + lineEnd + lineEnd
    text += "data: " + prefix + #""choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached)}}}"# + lineEnd + lineEnd
    text += "data: [DONE]" + lineEnd + lineEnd
    return Array(text.utf8)
}

/// A local server that speaks the chat completions wire format, scripted per request, over TLS with the
/// test CA (or plain TCP). It counts connections and records requests.
final class FakeOpenAIServer: Sendable {
    /// What the server has seen.
    struct Record {
        var connectionsOpened = 0
        var connectionsClosed = 0
        var requests: [RecordedRequest] = []
    }

    let record = Locked(Record())
    private let script: @Sendable (Int, RecordedRequest) -> FakeReply
    private let group: EventLoopGroup
    private let server: Locked<TCPServer?> = Locked(nil)
    let port: Int

    /// Starts a server on 127.0.0.1 and a free port; `script(index, request)` answers request `index`.
    init(tls: TLSServerContext?, script: @escaping @Sendable (Int, RecordedRequest) -> FakeReply) throws {
        ProcessSetup.ignoreSIGPIPE()
        self.script = script
        self.group = try EventLoopGroup(loopCount: 1)
        let box = Locked<FakeOpenAIServer?>(nil)
        let server = try TCPServer(group: self.group, configuration: ServerConfiguration(host: "127.0.0.1", port: 0, tls: tls)) { _ in
            FakeConnectionHandler(server: box.withLock { $0! })
        }
        self.port = server.localAddress.port
        self.server.withLock { $0 = server }
        box.withLock { $0 = self }
    }

    /// A TLS server presenting `pair` (the localhost leaf by default).
    static func tls(_ pair: CertificateFixtures.Pair? = nil, script: @escaping @Sendable (Int, RecordedRequest) -> FakeReply) throws -> FakeOpenAIServer {
        let fixtures = try CertificateFixtures.shared.get()
        return try FakeOpenAIServer(tls: try fixtures.serverContext(pair), script: script)
    }

    var requests: [RecordedRequest] { self.record.withLock { $0.requests } }
    var requestCount: Int { self.record.withLock { $0.requests.count } }
    var connectionsOpened: Int { self.record.withLock { $0.connectionsOpened } }
    var connectionsClosed: Int { self.record.withLock { $0.connectionsClosed } }

    /// Called by a connection for each complete request; returns the scripted reply.
    fileprivate func received(_ head: HTTPRequestHead, body: String, connectionIndex: Int) -> FakeReply {
        let request = RecordedRequest(head: head, body: body, connectionIndex: connectionIndex)
        let index = self.record.withLock { record in
            record.requests.append(request)
            return record.requests.count - 1
        }
        return self.script(index, request)
    }

    fileprivate func connectionOpened() -> Int {
        self.record.withLock { record in
            defer { record.connectionsOpened += 1 }
            return record.connectionsOpened
        }
    }

    fileprivate func connectionClosed() {
        self.record.withLock { $0.connectionsClosed += 1 }
    }

    func shutdown() async {
        if let server = self.server.withLock({ $0 }) { _ = await server.shutdown(gracePeriod: .zero) }
        self.group.shutdown()
    }
}

/// One connection of the fake server: parses requests, plays the scripted replies.
private final class FakeConnectionHandler: ConnectionHandler {
    let server: FakeOpenAIServer
    var parser = HTTPRequestParser()
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var index = -1
    var timers: [ScheduledTimer] = []

    init(server: FakeOpenAIServer) {
        self.server = server
    }

    func connectionDidOpen(_ connection: Connection) {
        self.index = self.server.connectionOpened()
    }

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while true {
            let event: HTTPRequestEvent?
            let consumed: Int
            do {
                (event, consumed) = try self.parser.next(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                connection.abort(.protocolViolation("fake server: bad request"))
                return
            }
            offset += consumed
            guard let event else { return }
            switch event {
            case .head(let head):
                self.head = head
                self.body = []
            case .body(let chunk):
                chunk.withUnsafeReadableBytes { self.body.append(contentsOf: $0) }
            case .end:
                guard let head = self.head else { return }
                let reply = self.server.received(head, body: String(decoding: self.body, as: UTF8.self), connectionIndex: self.index)
                self.play(reply, on: connection)
            }
        }
    }

    private func play(_ reply: FakeReply, on connection: Connection) {
        guard case .raw(let pieces, let ending) = reply else { return }
        var delay = Duration.zero
        for (position, piece) in pieces.enumerated() {
            delay += piece.delay
            let last = position == pieces.count - 1
            let send = {
                guard connection.isOpen else { return }
                connection.write(ByteBuffer(bytes: piece.bytes))
                if last {
                    switch ending {
                    case .keepOpen: break
                    case .close: connection.close()
                    case .abort: connection.loop.scheduleTimer(after: .milliseconds(5)) { connection.abort(.reset("fake reset")) }
                    }
                }
            }
            if delay == .zero { send() } else { self.timers.append(connection.loop.scheduleTimer(after: delay, send)) }
        }
    }

    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {
        for timer in self.timers { timer.cancel() }
        self.timers = []
        self.server.connectionClosed()
    }
}
