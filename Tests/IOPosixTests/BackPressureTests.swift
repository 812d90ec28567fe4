import Foundation
import IOCore
@testable import IOPosix
import Testing

/// Writes 64 KiB blocks while the connection is writable, as a well-behaved producer does.
final class PoliteProducer: ConnectionHandler, @unchecked Sendable {
    // @unchecked Sendable: one connection uses it, on its loop; the test thread reads only the Locked counters.
    let maxQueued = Locked(0)
    let writes = Locked(0)
    static let block = ByteBuffer(bytes: [UInt8](repeating: 7, count: 64 * 1024))
    func connectionDidOpen(_ connection: Connection) { self.produce(connection) }
    func connectionWritabilityDidChange(_ connection: Connection) { self.produce(connection) }
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {}
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {}
    private func produce(_ connection: Connection) {
        while connection.isWritable && connection.isOpen {
            connection.write(Self.block)
            self.writes.withLock { $0 += 1 }
            self.maxQueued.withLock { $0 = max($0, connection.queuedOutputBytes) }
        }
    }
}

/// Ignores back-pressure and keeps writing every millisecond.
final class Firehose: ConnectionHandler {
    let recorder: Recorder
    init(recorder: Recorder) { self.recorder = recorder }
    func connectionDidOpen(_ connection: Connection) { self.tick(connection) }
    private func tick(_ connection: Connection) {
        guard connection.isOpen else { return }
        connection.write(PoliteProducer.block)
        connection.loop.scheduleTimer(after: .milliseconds(1)) { [weak self] in self?.tick(connection) }
    }
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {}
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) { self.recorder.closed(error) }
}

/// Answers every read with a 4 KiB block and remembers its connection, so a test can look at its output storage.
final class BlockWriter: ConnectionHandler, @unchecked Sendable {
    // @unchecked Sendable: the connection is set and used on its loop; the test reads it through `onLoop`.
    var connection: Connection?
    func connectionDidOpen(_ connection: Connection) { self.connection = connection }
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        connection.write(ByteBuffer(bytes: [UInt8](repeating: 1, count: 4096)))
    }
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {}
}

@Suite("Output storage")
struct OutputStorageTests {
    @Test func largeOutputStorage_isKeptAfterAFlush_andReleasedOnceTheConnectionIsQuiet() async throws {
        let writer = BlockWriter()
        try await withServer(handler: { _ in writer }) { server, group in
            let client = try BlockingClient(port: server.localAddress.port)
            try client.send("x")
            _ = try client.receive(exactly: 4096)
            let loop = group.loops[0]
            // Sent in full, yet kept: a busy connection fills it again on its next tick.
            let kept = await onLoop(loop) { writer.connection.map { ($0.queuedOutputBytes, $0.bufferedCapacity) } }
            #expect(kept?.0 == 0)
            #expect((kept?.1 ?? 0) >= 4096)
            // Quiet for longer than the release delay: the storage goes, so idle connections stay small.
            #expect(await eventually {
                await onLoop(loop) { (writer.connection?.bufferedCapacity ?? .max) <= ByteBuffer.retainedCapacity }
            })
            try client.send("y")
            _ = try client.receive(exactly: 4096)
        }
    }
}

@Suite("Back-pressure against a peer that never reads")
struct BackPressureTests {
    @Test func politeProducer_staysUnderTheHighWatermark_whileThePeerDoesNotRead() async throws {
        let producer = PoliteProducer()
        try await withServer(handler: { _ in producer }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port)
            // Let the kernel buffers fill and the producer hit the watermark.
            try await Task.sleep(for: .milliseconds(500))
            let options = ConnectionOptions()
            #expect(producer.maxQueued.withLock { $0 } <= options.highWatermark + 64 * 1024)
            let writesWhileStuck = producer.writes.withLock { $0 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(producer.writes.withLock { $0 } == writesWhileStuck)  // paused, not spinning
            // Once the peer reads, production resumes.
            _ = try client.receive(exactly: 8 * 1024 * 1024)
            #expect(await eventually { producer.writes.withLock { $0 } > writesWhileStuck })
        }
    }

    @Test func producerIgnoringBackPressure_isAbortedAtTheOutputCap() async throws {
        let recorder = Recorder()
        try await withServer(configure: { $0.connection.maximumQueuedOutput = 1 << 20 }, handler: { _ in Firehose(recorder: recorder) }) { server, _ in
            let client = try BlockingClient(port: server.localAddress.port)
            #expect(await eventually { !recorder.closeErrors.isEmpty })
            #expect(recorder.closeErrors.first == .some(.outputOverflow))
            _ = client
        }
    }
}
