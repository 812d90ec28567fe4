import Foundation
import Glibc
import HTTP
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import TestKit
import Testing
import WebSocketCore

/// Answers `/hello` with a fixed body and upgrades `/echo` to an echoing WebSocket.
final class TestResponder: HTTPResponder {
    func respond(to request: HTTPRequest, with writer: HTTPResponseWriter) {
        switch request.head.path {
        case "/echo":
            WebSocketUpgrade.upgrade(request, with: writer, configuration: WebSocketConfiguration(), delegate: TestEcho())
        case "/body":
            writer.send(status: 200, body: request.body)
        default:
            writer.send(status: 200, text: "hello")
        }
    }
}

final class TestEcho: WebSocketDelegate {
    func webSocket(_ webSocket: WebSocketConnection, didReceiveText text: ByteBuffer) { webSocket.send(text: text) }
    func webSocketDidClose(_ webSocket: WebSocketConnection, code: WebSocketCloseCode?, error: ConnectionError?) {}
}

func withHTTPServer(
    tls: TLSServerContext? = nil,
    configure: (inout HTTPServerConfiguration, inout ServerConfiguration) -> Void = { _, _ in },
    _ body: (TCPServer, EventLoopGroup) async throws -> Void
) async throws {
    ProcessSetup.ignoreSIGPIPE()
    let group = try EventLoopGroup(loopCount: 1)
    var http = HTTPServerConfiguration()
    var server = ServerConfiguration(host: "127.0.0.1", port: 0, tls: tls)
    configure(&http, &server)
    let tcp = try HTTPServer.start(group: group, server: server, http: http) { _ in TestResponder() }
    do {
        try await body(tcp, group)
    } catch {
        await tcp.shutdown(gracePeriod: .zero)
        group.shutdown()
        throw error
    }
    await tcp.shutdown(gracePeriod: .milliseconds(100))
    group.shutdown()
}

/// A blocking socket for raw HTTP exchanges.
final class RawClient {
    let fd: Int32
    init(port: Int) throws {
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        guard address.withSockAddr({ Glibc.connect(self.fd, $0, $1) }) == 0 else { throw IOError(errno: errno, syscall: "connect") }
    }
    deinit { close(self.fd) }
    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    func send(_ text: String) { self.send(Array(text.utf8)) }
    /// Everything until EOF or the 3 s receive timeout.
    func receiveAll() -> (text: String, eof: Bool) {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (String(decoding: data, as: UTF8.self), n == 0) }
            data += chunk[0..<n]
        }
    }
    func receive(count: Int) -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, min($0.count, count - data.count), 0) }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return data
    }
}

@Suite("HTTP server over loopback")
struct HTTPServerTests {
    @Test func slowHeaders_areAnsweredWith408_andClosed() async throws {
        try await withHTTPServer(configure: { http, _ in http.headerReadTimeout = .milliseconds(200) }) { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let start = ContinuousClock.now
            let (answer, eof) = client.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 408 "))
            #expect(eof)
            #expect(ContinuousClock.now - start < .seconds(10))  // loose: CI machines are loaded
        }
    }

    @Test func idleKeepAliveConnection_isClosedAfterTheIdleTimeout() async throws {
        try await withHTTPServer(configure: { http, _ in http.idleTimeout = .milliseconds(200) }) { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let (answer, eof) = client.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 200 "))
            #expect(answer.hasSuffix("hello"))
            #expect(eof)
        }
    }

    @Test func requestSplitIntoSingleBytes_isServed() async throws {
        // The head trickles in over ~80 sleeps, which on a loaded machine (and with other tests blocking the
        // cooperative pool) can add up to more than the default header deadline: that is not what is tested here.
        try await withHTTPServer(configure: { http, _ in http.headerReadTimeout = .seconds(300) }) { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            for byte in Array("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping".utf8) {
                client.send([byte])
                try await Task.sleep(for: .milliseconds(1))
            }
            let (answer, _) = client.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 200 "))
            #expect(answer.hasSuffix("\r\n\r\nping"))
        }
    }

    @Test func webSocketFrame_inTheSamePacketAsTheUpgrade_isEchoed() async throws {
        try await withHTTPServer { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            var packet = ByteBuffer(string: "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            WebSocketFrame.write(opcode: .text, payload: ByteBuffer(string: "early"), maskingKey: WebSocketMaskingKey(1, 2, 3, 4), into: &packet)
            client.send(packet.readableBytesArray)
            let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
            let answer = client.receive(count: head.utf8.count + 7)
            #expect(String(decoding: answer.prefix(head.utf8.count), as: UTF8.self) == head)
            #expect(Array(answer.suffix(7)) == [0x81, 5] + Array("early".utf8))
        }
    }

    @Test func wrongWebSocketVersion_gets426_withTheSupportedVersion() async throws {
        try await withHTTPServer { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            client.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\nConnection: close\r\n\r\n")
            let (answer, _) = client.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 426 "))
            #expect(answer.contains("Sec-WebSocket-Version: 13"))
        }
    }
}

@Suite("HTTPS with our TLS on the event loop")
struct HTTPSTests {
    @Test func httpsRequest_withVerifiedCertificate_succeeds() async throws {
        let certificates = try CertificateFixtures.shared.get()
        try await withHTTPServer(tls: try certificates.serverContext()) { server, group in
            let client = try await HTTPClientConnection.connect(
                host: "localhost", port: server.localAddress.port, tls: try certificates.clientContext(), on: group.loops[0]
            )
            let response = try await client.execute(HTTPClientRequest(method: .get, target: "/hello"))
            #expect(response.head.statusCode == 200)
            #expect(text(try await response.body.collect(upTo: 1024)) == "hello")
            // Keep-alive over TLS: a second request on the same connection.
            let again = try await client.execute(HTTPClientRequest(method: .post, target: "/body", body: ByteBuffer(string: String(repeating: "x", count: 100_000))))
            #expect(try await again.body.collect(upTo: 1 << 20).readableBytes == 100_000)
        }
    }

    @Test func wrongHostname_isRefusedByOurClient() async throws {
        let certificates = try CertificateFixtures.shared.get()
        try await withHTTPServer(tls: try certificates.serverContext(certificates.wrongNameLeaf)) { server, group in
            await #expect(throws: HTTPClientError.connectFailed("")) {
                _ = try await HTTPClientConnection.connect(
                    host: "localhost", port: server.localAddress.port, tls: try certificates.clientContext(), on: group.loops[0]
                )
            }
        }
    }

    @Test func untrustedCertificate_isRefusedByOurClient() async throws {
        let certificates = try CertificateFixtures.shared.get()
        try await withHTTPServer(tls: try certificates.serverContext(certificates.untrustedLeaf)) { server, group in
            await #expect(throws: HTTPClientError.connectFailed("")) {
                _ = try await HTTPClientConnection.connect(
                    host: "localhost", port: server.localAddress.port, tls: try certificates.clientContext(), on: group.loops[0]
                )
            }
        }
    }

    @Test func silentClient_isDroppedAtTheHandshakeDeadline() async throws {
        let certificates = try CertificateFixtures.shared.get()
        try await withHTTPServer(
            tls: try certificates.serverContext(),
            configure: { _, server in server.connection.handshakeTimeout = .milliseconds(200) }
        ) { server, _ in
            let client = try RawClient(port: server.localAddress.port)
            let start = ContinuousClock.now
            let (_, eof) = client.receiveAll()
            #expect(eof)
            #expect(ContinuousClock.now - start < .seconds(10))  // loose: CI machines are loaded
            #expect(await server.openConnectionCount() == 0)
        }
    }
}
