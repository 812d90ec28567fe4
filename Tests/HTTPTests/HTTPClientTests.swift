import Foundation
import HTTP
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import TestKit
import Testing

/// Answers every request with canned bytes, optionally in timed pieces, so the client meets exactly the
/// framing a test wants.
final class CannedResponder: ConnectionHandler {
    let pieces: [(delayMilliseconds: Int, bytes: String)]
    let closeAfter: Bool
    init(_ pieces: [(Int, String)], closeAfter: Bool = false) {
        self.pieces = pieces
        self.closeAfter = closeAfter
    }
    private var requestBytes = 0
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        // One canned answer per request head (each ends with an empty line).
        let text = String(decoding: bytes, as: UTF8.self)
        let requests = text.components(separatedBy: "\r\n\r\n").count - 1
        for _ in 0..<requests { self.answer(connection) }
    }
    private func answer(_ connection: Connection) {
        var delay = 0
        for (index, piece) in self.pieces.enumerated() {
            delay += piece.delayMilliseconds
            let last = index == self.pieces.count - 1
            let send = { [closeAfter] in
                connection.write(ByteBuffer(string: piece.bytes))
                if last && closeAfter { connection.close() }
            }
            if delay == 0 { send() } else { connection.loop.scheduleTimer(after: .milliseconds(delay)) { send() } }
        }
    }
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {}
}

func withCannedServer(
    _ pieces: [(Int, String)], closeAfter: Bool = false, _ body: (Int, EventLoopGroup) async throws -> Void
) async throws {
    ProcessSetup.ignoreSIGPIPE()
    let group = try EventLoopGroup(loopCount: 1)
    let server = try TCPServer(group: group, configuration: ServerConfiguration(host: "127.0.0.1", port: 0)) { _ in
        CannedResponder(pieces, closeAfter: closeAfter)
    }
    do {
        try await body(server.localAddress.port, group)
    } catch {
        await server.shutdown(gracePeriod: .zero)
        group.shutdown()
        throw error
    }
    await server.shutdown(gracePeriod: .zero)
    group.shutdown()
}

func text(_ buffer: ByteBuffer) -> String {
    buffer.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
}

@Suite("HTTP client over loopback")
struct HTTPClientTests {
    @Test func contentLengthBody_isDelivered_andTheConnectionIsReused() async throws {
        try await withCannedServer([(0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            for _ in 0..<3 {
                let response = try await client.execute(HTTPClientRequest(method: .get, target: "/"))
                #expect(response.head.statusCode == 200)
                #expect(text(try await response.body.collect(upTo: 1024)) == "hello")
                #expect(await client.isReusable)
            }
            client.close()
        }
    }

    @Test func chunkedBody_streamsEachChunkAsItArrives() async throws {
        // The server sends the head and one chunk, then nothing: the chunk must reach the caller without
        // waiting for more (no timing involved, so a loaded machine cannot make this flaky).
        let pieces = [(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")]
        try await withCannedServer(pieces) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            let response = try await client.execute(HTTPClientRequest(method: .post, target: "/v1/stream", body: ByteBuffer(string: "{}")))
            let body = response.body
            let first = try await withThrowingTaskGroup(of: ByteBuffer?.self) { tasks in
                tasks.addTask {
                    var iterator = body.makeAsyncIterator()
                    return try await iterator.next()
                }
                tasks.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return nil
                }
                defer { tasks.cancelAll() }
                return try await tasks.next() ?? nil
            }
            #expect(first.map(text) == "first", "the first chunk was held back")
            client.close()
        }
    }

    @Test func chunkedBody_inTimedPieces_isDeliveredWhole() async throws {
        let pieces = [
            (0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"),
            (100, "6\r\nsecond\r\n0\r\n\r\n"),
        ]
        try await withCannedServer(pieces) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            let response = try await client.execute(HTTPClientRequest(method: .post, target: "/v1/stream", body: ByteBuffer(string: "{}")))
            #expect(text(try await response.body.collect(upTo: 1024)) == "firstsecond")
            #expect(await client.isReusable)
        }
    }

    @Test func closeDelimitedBody_endsAtEOF() async throws {
        try await withCannedServer([(0, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")], closeAfter: true) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            let response = try await client.execute(HTTPClientRequest(method: .get, target: "/"))
            #expect(text(try await response.body.collect(upTo: 1024)) == "until the end")
            #expect(await client.isReusable == false)
        }
    }

    @Test func truncatedBody_failsWithConnectionClosed() async throws {
        try await withCannedServer([(0, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")], closeAfter: true) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            let response = try await client.execute(HTTPClientRequest(method: .get, target: "/"))
            await #expect(throws: HTTPClientError.connectionClosed("")) { _ = try await response.body.collect(upTo: 1024) }
        }
    }

    @Test func serverThatNeverAnswers_hitsTheFirstByteDeadline() async throws {
        try await withCannedServer([]) { port, group in
            let client = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
            let start = ContinuousClock.now
            await #expect(throws: HTTPClientError.timedOut("")) {
                _ = try await client.execute(HTTPClientRequest(method: .get, target: "/"), firstByteTimeout: .milliseconds(200))
            }
            #expect(ContinuousClock.now - start < .seconds(10))  // loose: CI machines are loaded
        }
    }

    @Test func refusedPort_failsWithConnectFailed() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        // Bind and close a socket to learn a port nobody listens on.
        let server = try TCPServer(group: group, configuration: ServerConfiguration(host: "127.0.0.1", port: 0)) { _ in
            CannedResponder([])
        }
        let port = server.localAddress.port
        await server.shutdown(gracePeriod: .zero)
        await #expect(throws: HTTPClientError.connectFailed("")) {
            _ = try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, tls: nil, on: group.loops[0])
        }
    }
}
