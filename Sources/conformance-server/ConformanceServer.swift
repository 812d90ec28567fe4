import EngineIO
import Glibc
import HTTP
import HTTPCore
import IOCore
import IOPosix
import JSON
import SocketIO

/// `conformance-server --port N`: the configuration the official Engine.IO v4 and Socket.IO v5 test
/// suites expect (their specs' "Test suite" sections): ping interval 300 ms, ping timeout 200 ms,
/// max payload 1,000,000, CORS `*`; an Engine.IO echo at `/engine.io/` and, at `/socket.io/`, the Socket.IO
/// test app (namespaces `/` and `/custom`, connect timeout 1 s).
enum ConformanceServer {
    static func main(arguments: [String]) async -> Int32 {
        var port = 3000
        var loops = 1
        var recovery = false
        var pingInterval = 300
        var pingTimeout = 200
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--recovery" {
                recovery = true
                index += 1
                continue
            }
            switch (arguments[index], index + 1 < arguments.count ? arguments[index + 1] : nil) {
            case ("--port", let value?) where Int(value) != nil:
                port = Int(value)!
            case ("--loops", let value?) where Int(value) != nil:
                loops = Int(value)!
            case ("--ping-interval", let value?) where Int(value).map({ $0 > 0 }) == true:
                pingInterval = Int(value)!
            case ("--ping-timeout", let value?) where Int(value).map({ $0 > 0 }) == true:
                pingTimeout = Int(value)!
            default:
                let message = "usage: conformance-server --port N [--loops N] [--recovery] [--ping-interval MS] [--ping-timeout MS]\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                return 64
            }
            index += 2
        }
        ProcessSetup.ignoreSIGPIPE()
        let signals = SignalWaiter.signals([SIGTERM, SIGINT])
        do {
            var engine = EngineIOConfiguration()
            // The suites' heartbeat by default; tests of slower clients may relax it.
            engine.pingInterval = .milliseconds(pingInterval)
            engine.pingTimeout = .milliseconds(pingTimeout)
            engine.maxPayload = 1_000_000
            engine.cors = CORSPolicy(origins: .any)
            let echo = EngineIOServer(configuration: engine) { session in session.delegate = EchoSession.shared }
            let group = try EventLoopGroup(loopCount: loops)
            var socketIO = SocketIOConfiguration()
            socketIO.engine = engine
            socketIO.engine.path = "/socket.io/"
            socketIO.connectTimeout = .seconds(1)
            // Off by default: the suites expect CONNECT answers without a `pid`.
            if recovery { socketIO.connectionStateRecovery = ConnectionStateRecovery() }
            let io = SocketIOServer(group: group, configuration: socketIO)
            Self.installTestApp(on: io)
            Self.installInteropApp(on: io)
            var http = HTTPServerConfiguration()
            http.limits.maximumBodySize = 2_000_000
            let router = Router(engineIO: echo, socketIO: io)
            let server = try HTTPServer.start(group: group, server: ServerConfiguration(host: "127.0.0.1", port: port), http: http) { _ in router }
            print("conformance-server listening on \(server.localAddress)")
            for await _ in signals { break }
            await server.shutdown(gracePeriod: .seconds(1))
            group.shutdown()
            return 0
        } catch {
            print("conformance-server: \(error)")
            return 1
        }
    }
}

extension ConformanceServer {
    /// The app the Socket.IO v5 suite talks to.
    static func installTestApp(on io: SocketIOServer) {
        let main = io.main
        main.onConnection { socket in try? socket.emit("auth", [socket.handshake.auth]) }
        main.on("message") { socket, event in try? socket.emit("message-back", Array(event.arguments)) }
        main.on("message-with-ack") { _, event in event.ack?(event.arguments) }
        io.of("/custom").onConnection { socket in try? socket.emit("auth", [socket.handshake.auth]) }
    }
}

/// Sends the Engine.IO and Socket.IO paths to their servers; 404 elsewhere.
final class Router: HTTPResponder, @unchecked Sendable {
    // @unchecked Sendable: immutable; the servers it routes to are thread-safe.
    let engineIO: EngineIOServer
    let socketIO: SocketIOServer
    init(engineIO: EngineIOServer, socketIO: SocketIOServer) {
        self.engineIO = engineIO
        self.socketIO = socketIO
    }

    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter) {
        if self.engineIO.matches(request) {
            self.engineIO.handle(request, writer: writer)
        } else if self.socketIO.matches(request) {
            self.socketIO.handle(request, writer: writer)
        } else {
            writer.send(status: 404, text: "Not Found")
        }
    }
}

/// Echoes every Engine.IO message back unchanged, text as text and binary as binary.
final class EchoSession: EngineIOSessionDelegate, @unchecked Sendable {
    // @unchecked Sendable: no stored state.
    static let shared = EchoSession()
    func engineIOSession(_ session: EngineIOSession, didReceiveText text: ByteBuffer) { session.send(text: text) }
    func engineIOSession(_ session: EngineIOSession, didReceiveBinary data: ByteBuffer) { session.send(binary: data) }
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {}
}
