import Coaching
import HTTP
import HTTPCore
import IOCore
import IOPosix
import JSON
import Metrics
import SocketIO
import Synchronization

/// Routes `/socket.io/` to the Socket.IO server and answers the operations endpoints:
/// `GET /health` (liveness), `GET /health/ready` (store and LLM state; 503 when not ready or draining)
/// and `GET /metrics` (Prometheus text format).
final class OpsResponder: HTTPResponder, Sendable {
    private let io: SocketIOServer
    private let copilot: Copilot
    private let metrics: ServerMetrics
    private let llmState: @Sendable () -> String
    private let draining = Atomic<Bool>(false)

    /// - Parameter llmState: `disabled`, `closed` or `open` (the LLM client's circuit breaker).
    init(io: SocketIOServer, copilot: Copilot, metrics: ServerMetrics, llmState: @escaping @Sendable () -> String) {
        self.io = io
        self.copilot = copilot
        self.metrics = metrics
        self.llmState = llmState
    }

    /// From now on readiness answers 503, so a load balancer sends new calls elsewhere.
    func startDraining() { self.draining.store(true, ordering: .relaxed) }

    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter) {
        if self.io.matches(request) {
            self.io.handle(request, writer: writer)
            return
        }
        let path = request.head.path
        guard ["/health", "/health/ready", "/metrics"].contains(path) else {
            writer.send(status: 404, text: "Not Found")
            return
        }
        guard request.head.method == .get || request.head.method == .head else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD")
            writer.send(status: 405, text: "Method Not Allowed", headers: headers)
            return
        }
        switch path {
        case "/health":
            Self.sendJSON(["status": "healthy", "timestamp": JSONValue(WallClock.millisecondsSinceEpoch()), "activeConversations": JSONValue(self.copilot.activeConversations)], status: 200, to: writer)
        case "/health/ready":
            self.ready(writer)
        default:
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: MetricsRegistry.contentType)
            headers.add(name: "Cache-Control", value: "no-store")
            writer.send(status: 200, headers: headers, body: ByteBuffer(string: self.metrics.registry.exposition()))
        }
    }

    private func ready(_ writer: HTTPResponseWriter) {
        let store = self.copilot.services.store
        let llm = self.llmState()
        let draining = self.draining.load(ordering: .relaxed)
        let loop = writer.connection.loop
        let bound = LoopBound(writer, loop: loop)
        Task {
            let storeReady = await store.isReady(isolation: nil)
            let ready = storeReady && !draining
            let body: JSONObject = [
                "status": .string(draining ? "draining" : ready ? "ready" : "not_ready"),
                "store": .string(store.kind), "storeReady": .bool(storeReady), "llm": .string(llm),
                "activeConversations": JSONValue(self.copilot.activeConversations),
            ]
            loop.execute { Self.sendJSON(body, status: ready ? 200 : 503, to: bound.value) }
        }
    }

    private static func sendJSON(_ object: JSONObject, status: Int, to writer: HTTPResponseWriter) {
        var body = ByteBuffer(capacity: 128)
        try? JSONWriter.write(.object(object), into: &body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-store")
        writer.send(status: status, headers: headers, body: body)
    }
}
