import IOCore
import IOTLS
import TestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Called first by every test: the process must survive OpenSSL writing to a closed socket.
func ignoreSIGPIPE() {
    signal(SIGPIPE, SIG_IGN)
}

/// Two connected non-blocking sockets, closed when released.
final class SocketPair {
    let first: Int32
    let second: Int32
    private var isFirstOpen = true
    private var isSecondOpen = true

    /// A `socketpair(AF_UNIX, SOCK_STREAM)`, both ends non-blocking.
    init() throws {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            throw FixtureError("socketpair failed: errno \(errno)")
        }
        self.first = fds[0]
        self.second = fds[1]
    }

    /// Two ends of a loopback TCP connection, both non-blocking.
    init(tcpLoopback: Void) throws {
        let listener = try TCPListener()
        defer { listener.close() }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard client >= 0 else { throw FixtureError("socket failed: errno \(errno)") }
        var address = TCPListener.loopbackAddress(port: listener.port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 || errno == EINPROGRESS else {
            Glibc.close(client)
            throw FixtureError("connect failed: errno \(errno)")
        }
        guard let server = listener.accept(timeoutMilliseconds: 5000) else {
            Glibc.close(client)
            throw FixtureError("accept timed out")
        }
        self.first = client
        self.second = server
    }

    /// Closes the first end now (an abrupt close as the peer of `second` sees it).
    func closeFirst() {
        if self.isFirstOpen {
            self.isFirstOpen = false
            Glibc.close(self.first)
        }
    }

    deinit {
        if self.isFirstOpen { Glibc.close(self.first) }
        if self.isSecondOpen { Glibc.close(self.second) }
    }
}

/// A non-blocking TCP listener on 127.0.0.1 with a kernel-chosen port.
final class TCPListener {
    let fileDescriptor: Int32
    let port: UInt16
    private var isOpen = true

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed: errno \(errno)") }
        var address = Self.loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(fd)
            throw FixtureError("bind/listen failed: errno \(errno)")
        }
        self.fileDescriptor = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// Waits up to `timeoutMilliseconds` for a connection and returns it non-blocking.
    func accept(timeoutMilliseconds: Int32) -> Int32? {
        var poller = pollfd(fd: self.fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        let fd = Glibc.accept(self.fileDescriptor, nil, nil)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    func close() {
        if self.isOpen {
            self.isOpen = false
            Glibc.close(self.fileDescriptor)
        }
    }

    deinit { self.close() }
}

/// What one step of a pumped party achieved.
enum PumpStep {
    /// Made progress; call again without waiting.
    case progressed
    /// Blocked until `events` (POLLIN/POLLOUT) on `fileDescriptor`.
    case waiting(fileDescriptor: Int32, events: Int16)
    /// Nothing more to do.
    case finished
}

/// Runs `parties` until all are finished, polling when none can progress.
/// Bounded by `maximumIterations` rounds and `timeout`; throws when either is exceeded.
func pump(
    _ parties: [() throws -> PumpStep],
    timeout: Duration = .seconds(20),
    maximumIterations: Int = 1_000_000
) throws {
    var finished = Array(repeating: false, count: parties.count)
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    for _ in 0..<maximumIterations {
        var progressed = false
        var waits: [pollfd] = []
        for (index, party) in parties.enumerated() where !finished[index] {
            switch try party() {
            case .progressed:
                progressed = true
            case .waiting(let fd, let events):
                waits.append(pollfd(fd: fd, events: events, revents: 0))
            case .finished:
                finished[index] = true
                progressed = true
            }
        }
        if finished.allSatisfy({ $0 }) { return }
        if clock.now > deadline { throw FixtureError("pump timed out") }
        if !progressed {
            _ = poll(&waits, nfds_t(waits.count), 100)
        }
    }
    throw FixtureError("pump exceeded \(maximumIterations) iterations")
}

/// Drives both handshakes to their end. When one side fails or closes, its socket is shut down, as
/// the event loop would do, so the other side sees EOF instead of waiting forever.
/// - Returns: each side's final result (`.done(0)` on success).
func handshake(
    client: TLSConnection,
    clientFD: Int32,
    server: TLSConnection,
    serverFD: Int32
) throws -> (client: SecureTransportResult, server: SecureTransportResult) {
    var outcomes: [SecureTransportResult?] = [nil, nil]
    let sides: [(TLSConnection, Int32)] = [(client, clientFD), (server, serverFD)]
    try pump(
        sides.indices.map { index in
            {
                let (connection, fd) = sides[index]
                let result = connection.handshake()
                switch result {
                case .wantRead: return .waiting(fileDescriptor: fd, events: Int16(POLLIN))
                case .wantWrite: return .waiting(fileDescriptor: fd, events: Int16(POLLOUT))
                case .done:
                    outcomes[index] = result
                    return .finished
                case .closed, .failed:
                    outcomes[index] = result
                    Glibc.shutdown(fd, Int32(SHUT_RDWR))
                    return .finished
                }
            }
        }
    )
    return (outcomes[0]!, outcomes[1]!)
}

/// Sends `payload` over `connection`, recording how many bytes each successful write took.
final class Sender {
    let connection: TLSConnection
    let fileDescriptor: Int32
    let payload: [UInt8]
    private(set) var offset = 0
    private(set) var writeSizes: [Int] = []
    private(set) var partialWrites = 0

    init(_ connection: TLSConnection, fileDescriptor: Int32, payload: [UInt8]) {
        self.connection = connection
        self.fileDescriptor = fileDescriptor
        self.payload = payload
    }

    func step() throws -> PumpStep {
        if self.offset == self.payload.count { return .finished }
        let result = self.payload.withUnsafeBytes { bytes in
            self.connection.write(UnsafeRawBufferPointer(rebasing: bytes[self.offset...]))
        }
        switch result {
        case .done(let count):
            if count < self.payload.count - self.offset { self.partialWrites += 1 }
            self.offset += count
            self.writeSizes.append(count)
            return .progressed
        case .wantRead: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLIN))
        case .wantWrite: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLOUT))
        case .closed, .failed: throw FixtureError("write ended with \(result)")
        }
    }
}

/// Reads until `expectedCount` bytes arrived (or, with `untilClosed`, until the stream ends).
final class Receiver {
    let connection: TLSConnection
    let fileDescriptor: Int32
    let expectedCount: Int
    let chunkSize: Int
    private(set) var received: [UInt8] = []
    private(set) var finalResult: SecureTransportResult?
    private(set) var sawBufferedPlaintext = false

    init(_ connection: TLSConnection, fileDescriptor: Int32, expectedCount: Int, chunkSize: Int = 65536) {
        self.connection = connection
        self.fileDescriptor = fileDescriptor
        self.expectedCount = expectedCount
        self.chunkSize = chunkSize
    }

    func step() throws -> PumpStep {
        if self.received.count >= self.expectedCount { return .finished }
        var chunk = [UInt8](repeating: 0, count: self.chunkSize)
        let result = chunk.withUnsafeMutableBytes { self.connection.read(into: $0) }
        switch result {
        case .done(let count):
            self.received.append(contentsOf: chunk[0..<count])
            if self.connection.hasBufferedPlaintext { self.sawBufferedPlaintext = true }
            return .progressed
        case .wantRead:
            // Level-triggered contract: after WANT_READ nothing decrypted may be left behind.
            if self.connection.hasBufferedPlaintext { throw FixtureError("WANT_READ with plaintext buffered") }
            return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLIN))
        case .wantWrite:
            return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLOUT))
        case .closed, .failed:
            self.finalResult = result
            return .finished
        }
    }
}

/// Reads once the bytes already available and returns what the read reported, without pumping.
func readOnce(
    _ connection: TLSConnection,
    fileDescriptor: Int32,
    timeoutMilliseconds: Int32 = 2000
)
    -> SecureTransportResult
{
    var buffer = [UInt8](repeating: 0, count: 4096)
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int(timeoutMilliseconds))
    while true {
        let result = buffer.withUnsafeMutableBytes { connection.read(into: $0) }
        guard case .wantRead = result, clock.now < deadline else { return result }
        var poller = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, 100)
    }
}

/// A handshaked client/server pair over a socketpair.
struct ConnectedPair {
    let sockets: SocketPair
    let client: TLSConnection
    let server: TLSConnection

    /// Connects `clientContext` to `serverContext` for `hostname` and requires the handshake to succeed.
    init(
        client clientContext: TLSClientContext,
        server serverContext: TLSServerContext,
        hostname: String = "localhost",
        sockets: SocketPair? = nil
    ) throws {
        let sockets = try sockets ?? SocketPair()
        let client = try clientContext.makeConnection(fileDescriptor: sockets.first, serverHostname: hostname)
        let server = try serverContext.makeConnection(fileDescriptor: sockets.second)
        let outcome = try handshake(client: client, clientFD: sockets.first, server: server, serverFD: sockets.second)
        guard outcome.client == .done(0), outcome.server == .done(0) else {
            throw FixtureError("handshake failed: client \(outcome.client), server \(outcome.server)")
        }
        self.sockets = sockets
        self.client = client
        self.server = server
    }

    /// Sends `payload` each way at the same time and returns what each side received.
    func exchange(_ payload: [UInt8]) throws -> (atServer: [UInt8], atClient: [UInt8], senders: [Sender]) {
        let toServer = Sender(self.client, fileDescriptor: self.sockets.first, payload: payload)
        let toClient = Sender(self.server, fileDescriptor: self.sockets.second, payload: payload.reversed())
        let atServer = Receiver(self.server, fileDescriptor: self.sockets.second, expectedCount: payload.count)
        let atClient = Receiver(self.client, fileDescriptor: self.sockets.first, expectedCount: payload.count)
        try pump([toServer.step, toClient.step, atServer.step, atClient.step])
        return (atServer.received, atClient.received, [toServer, toClient])
    }
}
