import Glibc
import HTTP
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import Logging

/// `earpiece serve`: wires the event loops, TLS and HTTP server, and runs until SIGTERM or SIGINT.
enum Serve {
    static func run(_ configuration: ServeConfiguration) async -> Int32 {
        let logger = Logger(label: "earpiece")
        ProcessSetup.ignoreSIGPIPE()
        let openFiles = ProcessSetup.raiseOpenFileLimit()
        let signals = SignalWaiter.signals([SIGTERM, SIGINT, SIGHUP])

        var tls: TLSServerContext?
        if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
            do {
                tls = try TLSServerContext(configuration: TLSServerConfiguration(certificateChainPath: certificate, privateKeyPath: key))
            } catch {
                logger.critical("cannot load TLS certificate", metadata: ["tls.error": "\(error)"])
                return 1
            }
        }

        let group: EventLoopGroup
        let server: TCPServer
        do {
            group = try EventLoopGroup(loopCount: configuration.eventLoops ?? ProcessSetup.availableCPUCount)
            var serverConfiguration = ServerConfiguration(host: configuration.host, port: configuration.port, tls: tls)
            serverConfiguration.backlog = 4096
            let responder = SharedResponder(HealthResponder())
            server = try HTTPServer.start(group: group, server: serverConfiguration) { _ in responder.value }
        } catch {
            logger.critical("cannot start server", metadata: ["error": "\(error)"])
            return 1
        }
        logger.notice(
            "listening",
            metadata: [
                "server.address": "\(server.localAddress)", "server.tls": "\(tls != nil)",
                "server.loops": "\(group.loops.count)", "server.open_files": "\(openFiles)",
            ]
        )

        for await signal in signals {
            if signal == SIGHUP {
                do {
                    try tls?.reload()
                    logger.notice("TLS certificate reloaded")
                } catch {
                    logger.error("TLS certificate reload failed; keeping the old one", metadata: ["tls.error": "\(error)"])
                }
                continue
            }
            logger.notice("draining", metadata: ["signal": "\(signal)"])
            break
        }
        let aborted = await server.shutdown(gracePeriod: .seconds(10))
        group.shutdown()
        logger.notice("stopped", metadata: ["server.aborted_connections": "\(aborted)"])
        return 0
    }
}

/// A responder that every loop may use because it holds no mutable state.
struct SharedResponder: @unchecked Sendable {
    // @unchecked Sendable: the wrapped responder is immutable, so concurrent calls from loops are safe.
    let value: any HTTPResponder
    init(_ value: any HTTPResponder) { self.value = value }
}

/// Answers `GET /health` and 404 for everything else.
final class HealthResponder: HTTPResponder {
    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter) {
        guard request.head.path == "/health" else {
            writer.send(status: 404, text: "Not Found")
            return
        }
        guard request.head.method == .get || request.head.method == .head else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD")
            writer.send(status: 405, text: "Method Not Allowed", headers: headers)
            return
        }
        var body = ByteBuffer()
        body.writeString(#"{"status":"healthy","timestamp":"#)
        body.writeDecimal(WallClock.millisecondsSinceEpoch())
        body.writeString(#","activeConversations":0}"#)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-store")
        writer.send(status: 200, headers: headers, body: body)
    }
}
