import Foundation
import Glibc
import IOCore
@testable import IOPosix
import Testing

@Suite("TCP server over loopback")
struct TCPServerTests {
    @Test func echo_oneMegabyte_roundTripsIntact() async throws {
        let recorder = Recorder()
        try await withServer(handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port)
            let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            // Send from another thread while this one reads, so neither side's buffers fill up and block.
            let sender = Thread { try? client.send(payload) }
            sender.start()
            let echoed = try client.receive(exactly: payload.count)
            #expect(echoed == payload)
        }
    }

    @Test func ipv6Loopback_acceptsConnections() async throws {
        let recorder = Recorder()
        try await withServer(configure: { $0.host = "::1" }, handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port, host: "::1")
            try client.send("hello")
            #expect(try client.receive(exactly: 5) == Array("hello".utf8))
        }
    }

    @Test func halfClose_serverSeesEOF_andStillDeliversItsReply() async throws {
        let recorder = Recorder()
        try await withServer(handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port)
            try client.send("last words")
            client.shutdownWrite()
            let (bytes, eof) = client.receiveUntilEOF()
            #expect(bytes == Array("last words".utf8))
            #expect(eof)
            #expect(await eventually { recorder.events.contains("closed") })
            #expect(recorder.events.contains("eof"))
            #expect(recorder.closeErrors == [nil])
        }
    }

    @Test func peerReset_closesTheConnectionWithoutCrashing() async throws {
        let recorder = Recorder()
        try await withServer(handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port)
            try client.send("x")
            _ = try client.receive(exactly: 1)
            client.reset()
            #expect(await eventually { recorder.events.contains("closed") })
            #expect(await server.openConnectionCount() == 0)
        }
    }

    @Test func manyConnections_spreadOverTwoLoops_allEcho() async throws {
        let recorder = Recorder()
        try await withServer(loops: 2, handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            var clients: [BlockingClient] = []
            for _ in 0..<200 { clients.append(try BlockingClient(port: server.localAddress.port)) }
            for (i, client) in clients.enumerated() { try client.send("\(i % 10)") }
            for (i, client) in clients.enumerated() { #expect(try client.receive(exactly: 1) == Array("\(i % 10)".utf8)) }
            #expect(await server.openConnectionCount() == 200)
            clients.removeAll()
            #expect(await eventually { await server.openConnectionCount() == 0 })
        }
    }

    @Test func gracefulShutdown_drainsCooperativeConnections_andAbortsStuckOnes() async throws {
        let recorder = Recorder()
        try await withServer(handler: { connection in
            connection.remoteAddress!.port % 2 == 0
                ? EchoHandler(recorder: recorder) as any ConnectionHandler : StubbornHandler(recorder: recorder)
        }) { server, _ in
            var clients: [BlockingClient] = []
            for _ in 0..<10 { clients.append(try BlockingClient(port: server.localAddress.port)) }
            #expect(await eventually { await server.openConnectionCount() == 10 })
            let stubborn = clients.filter { Posix.localAddress($0.fd)!.port % 2 == 1 }.count
            let aborted = await server.shutdown(gracePeriod: .milliseconds(300))
            #expect(aborted == stubborn)
            #expect(await server.openConnectionCount() == 0)
            // New connections are refused once the listener is closed.
            #expect(throws: IOError.self) { try BlockingClient(port: server.localAddress.port) }
        }
    }

    @Test func acceptOutOfDescriptors_pausesAccepting_thenRecovers() async throws {
        let recorder = Recorder()
        try await withServer(handler: { _ in EchoHandler(recorder: recorder) }) { server, _ in
            let listener = server.listenersForTesting[0]
            let calls = Locked(0)
            let failuresLeft = Locked(3)
            await onLoop(listener.loop) {
                listener.value.accept = { fd throws(IOError) in
                    calls.withLock { $0 += 1 }
                    if failuresLeft.withLock({ value in defer { value -= 1 }; return value > 0 }) {
                        throw IOError(errno: EMFILE, syscall: "accept4")
                    }
                    return try Posix.accept(fd)
                }
            }
            let client = try BlockingClient(port: server.localAddress.port)
            try client.send("ok")
            // Three failures with a 100 ms pause each, then the pending connection is accepted.
            #expect(try client.receive(exactly: 2) == Array("ok".utf8))
            // While paused the listener was not polled in a tight loop: a handful of calls, not thousands.
            #expect(calls.withLock { $0 } < 10)
        }
    }
}

/// Ignores drain requests, so shutdown must abort it.
final class StubbornHandler: ConnectionHandler {
    let recorder: Recorder
    init(recorder: Recorder) { self.recorder = recorder }
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {}
    func connectionShouldDrain(_ connection: Connection) {}
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) { self.recorder.closed(error) }
}
