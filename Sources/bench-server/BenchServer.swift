import Glibc
import HTTP
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import JSON
import SocketIO
import WebSocketCore

/// `bench-server`: the benchmark target. `GET /echo` upgrades to a WebSocket that echoes every message;
/// `GET /health` answers 200; `/socket.io/` serves the Socket.IO benchmark app: every client joins room
/// `r`, event `echo` acks its arguments back, event `bcast` emits its arguments as `bcast` to room `r`.
enum BenchServer {
    static let usage = """
        Usage: bench-server --port N [--host ADDRESS] [--loops N] [--pin] [--tls-cert FILE --tls-key FILE]
        """

    static func main(arguments: [String]) async -> Int32 {
        var options: [String: String] = [:]
        var pin = false
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            if name == "--pin" {
                pin = true
                index += 1
                continue
            }
            guard ["--port", "--host", "--loops", "--tls-cert", "--tls-key"].contains(name), index + 1 < arguments.count else {
                fail("bench-server: bad argument '\(name)'\n\(usage)")
                return 64
            }
            options[name] = arguments[index + 1]
            index += 2
        }
        guard let port = options["--port"].flatMap({ Int($0) }) else {
            fail(usage)
            return 64
        }
        ProcessSetup.ignoreSIGPIPE()
        ProcessSetup.raiseOpenFileLimit()
        let signals = SignalWaiter.signals([SIGTERM, SIGINT])
        do {
            var tls: TLSServerContext?
            if let certificate = options["--tls-cert"], let key = options["--tls-key"] {
                tls = try TLSServerContext(configuration: TLSServerConfiguration(certificateChainPath: certificate, privateKeyPath: key))
            }
            let loops = options["--loops"].flatMap { Int($0) } ?? 1
            let group = try EventLoopGroup(loopCount: loops, pinToCPUs: pin)
            var configuration = ServerConfiguration(host: options["--host"] ?? "127.0.0.1", port: port, tls: tls)
            configuration.backlog = 65535
            let io = SocketIOServer(group: group)
            io.main.onConnection { socket in socket.join("r") }
            io.main.on("echo") { _, event in event.ack?(event.arguments) }
            io.main.on("bcast") { _, event in try? io.main.to("r").emit("bcast", Array(event.arguments)) }
            let responder = BenchResponder(socketIO: io)
            let server = try HTTPServer.start(group: group, server: configuration) { _ in responder }
            print("bench-server listening on \(server.localAddress) tls=\(tls != nil) loops=\(loops)")
            for await _ in signals { break }
            await server.shutdown(gracePeriod: .seconds(1))
            group.shutdown()
            return 0
        } catch {
            fail("bench-server: \(error)")
            return 1
        }
    }

    static func fail(_ message: String) {
        let line = message + "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, line.utf8.count) }
    }
}

/// Routes the benchmark endpoints.
final class BenchResponder: HTTPResponder, @unchecked Sendable {
    // @unchecked Sendable: immutable; the Socket.IO server is thread-safe.
    let socketIO: SocketIOServer
    init(socketIO: SocketIOServer) { self.socketIO = socketIO }

    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter) {
        if self.socketIO.matches(request) {
            self.socketIO.handle(request, writer: writer)
            return
        }
        switch request.head.path {
        case "/echo":
            WebSocketUpgrade.upgrade(request, with: writer, configuration: WebSocketConfiguration(), delegate: EchoDelegate.shared)
        case "/health":
            writer.send(status: 200, text: "ok")
        default:
            writer.send(status: 404, text: "Not Found")
        }
    }
}

/// Echoes every message back as it came. Stateless, so one instance serves every connection.
final class EchoDelegate: WebSocketDelegate, @unchecked Sendable {
    // @unchecked Sendable: no stored state.
    static let shared = EchoDelegate()

    func webSocket(_ webSocket: WebSocketConnection, didReceiveText text: ByteBuffer) {
        webSocket.send(text: text)
    }

    func webSocket(_ webSocket: WebSocketConnection, didReceiveBinary data: ByteBuffer) {
        webSocket.send(binary: data)
    }

    func webSocketDidClose(_ webSocket: WebSocketConnection, code: WebSocketCloseCode?, error: ConnectionError?) {}
}
