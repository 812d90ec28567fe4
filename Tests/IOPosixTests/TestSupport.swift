import Foundation
import Glibc
import IOCore
@testable import IOPosix

/// A blocking TCP client for tests: the independent peer of our non-blocking server.
final class BlockingClient: @unchecked Sendable {
    // @unchecked Sendable: a file descriptor; tests use one direction per thread.
    let fd: Int32
    /// Set once the descriptor is closed, so it is never closed twice: tests run in parallel in one process,
    /// and a second close could hit a descriptor another test (or an event loop) reused in between.
    private var closed = false

    init(port: Int, host: String = "127.0.0.1", receiveTimeout: Double = 5) throws {
        let address = try SocketAddress(ipAddress: host, port: port)
        self.fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        precondition(self.fd >= 0)
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(self.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = address.withSockAddr { Glibc.connect(self.fd, $0, $1) }
        if rc != 0 {
            let e = errno
            Glibc.close(self.fd)
            throw IOError(errno: e, syscall: "connect")
        }
    }

    deinit { if !self.closed { Glibc.close(self.fd) } }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { throw IOError(errno: errno, syscall: "send") }
            offset += n
        }
    }

    func send(_ string: String) throws { try self.send(Array(string.utf8)) }

    /// Reads until `count` bytes arrived, EOF, or the receive timeout.
    func receive(exactly count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(self.fd, $0.baseAddress, min($0.count, count - result.count), 0) }
            if n < 0 { throw IOError(errno: errno, syscall: "recv") }
            if n == 0 { break }
            result += chunk[0..<n]
        }
        return result
    }

    /// Reads until EOF (or timeout); returns what arrived and whether EOF was seen.
    func receiveUntilEOF() -> (bytes: [UInt8], eof: Bool) {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(self.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (result, n == 0) }
            result += chunk[0..<n]
        }
    }

    func shutdownWrite() { Glibc.shutdown(self.fd, Int32(SHUT_WR)) }

    /// Closes with RST instead of FIN.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(self.fd)
        self.closed = true
    }
}

/// Runs `body` on `loop` and returns its result.
func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        loop.execute { continuation.resume(returning: body()) }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

/// Thread-safe record of what handlers saw, for assertions from the test thread.
final class Recorder: @unchecked Sendable {
    // @unchecked Sendable: every field is behind `lock`.
    private let lock = NSLock()
    private var _events: [String] = []
    private var _bytes: [UInt8] = []
    private var _errors: [ConnectionError?] = []

    func event(_ e: String) { self.lock.withLock { self._events.append(e) } }
    func bytes(_ b: UnsafeRawBufferPointer) { self.lock.withLock { self._bytes += b } }
    func closed(_ e: ConnectionError?) { self.lock.withLock { self._errors.append(e) } }
    var events: [String] { self.lock.withLock { self._events } }
    var received: [UInt8] { self.lock.withLock { self._bytes } }
    var closeErrors: [ConnectionError?] { self.lock.withLock { self._errors } }
}

/// Echoes every byte back and records what happened.
final class EchoHandler: ConnectionHandler {
    let recorder: Recorder
    init(recorder: Recorder) { self.recorder = recorder }
    func connectionDidOpen(_ connection: Connection) { self.recorder.event("open") }
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        self.recorder.bytes(bytes)
        connection.write(bytes)
    }
    func connectionDidReadEOF(_ connection: Connection) {
        self.recorder.event("eof")
        connection.close()
    }
    func connectionDidClose(_ connection: Connection, error: ConnectionError?) {
        self.recorder.event("closed")
        self.recorder.closed(error)
    }
}

/// Starts a server with `handler` per connection on a fresh group; stops both after `body`.
func withServer(
    loops: Int = 1,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    handler: @escaping TCPServer.HandlerFactory,
    _ body: (TCPServer, EventLoopGroup) async throws -> Void
) async throws {
    ProcessSetup.ignoreSIGPIPE()
    let group = try EventLoopGroup(loopCount: loops)
    var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = try TCPServer(group: group, configuration: configuration, handlerFactory: handler)
    do {
        try await body(server, group)
    } catch {
        await server.shutdown(gracePeriod: .zero)
        group.shutdown()
        throw error
    }
    await server.shutdown(gracePeriod: .milliseconds(200))
    group.shutdown()
}
