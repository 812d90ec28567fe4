import CLinux
import Glibc
public import IOCore
import Logging

/// What a ``TCPServer`` listens on and how it treats its connections.
public struct ServerConfiguration: Sendable {
    /// The address to bind: an IPv4 or IPv6 literal; `::` accepts both families.
    public var host: String
    /// The port; 0 picks a free one (read it back from ``TCPServer/localAddress``).
    public var port: Int
    /// The kernel's accept queue length.
    public var backlog: Int32 = 1024
    /// TLS for every accepted connection, or nil for plain TCP.
    public var tls: (any SecureTransportFactory)?
    /// Per-connection limits.
    public var connection = ConnectionOptions()
    /// How long accepting pauses after running out of file descriptors.
    public var acceptBackoff: Duration = .milliseconds(100)

    /// Listens on `host`:`port`.
    public init(host: String = "0.0.0.0", port: Int, tls: (any SecureTransportFactory)? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}

/// A listening TCP server spread over an event loop group: one `SO_REUSEPORT` listening socket per loop,
/// so the kernel balances new connections and each stays on the loop that accepted it.
public final class TCPServer: Sendable {
    /// The bound address (with the real port when 0 was asked for).
    public let localAddress: SocketAddress
    private let listeners: [LoopBound<Listener>]
    private let id: UInt32

    /// Makes a handler for each new connection; called on the connection's loop.
    public typealias HandlerFactory = @Sendable (Connection) -> any ConnectionHandler

    private static let nextID = Locked<UInt32>(1)

    /// Binds and starts accepting on every loop of `group`.
    public init(group: EventLoopGroup, configuration: ServerConfiguration, handlerFactory: @escaping HandlerFactory) throws {
        let id = TCPServer.nextID.withLock { value in
            defer { value &+= 1 }
            return value
        }
        var address = try SocketAddress(ipAddress: configuration.host, port: configuration.port)
        var listeners: [LoopBound<Listener>] = []
        do {
            for loop in group.loops {
                let fd = try TCPServer.makeListeningSocket(address: address, backlog: configuration.backlog)
                if address.port == 0, let bound = Posix.localAddress(fd) { address = bound }
                let listener = Listener(loop: loop, fd: fd, configuration: configuration, ownerID: id, handlerFactory: handlerFactory)
                let bound = LoopBound(listener, loop: loop)
                listeners.append(bound)
                try TCPServer.onLoop(loop) { () throws(IOError) in try bound.value.start() }
            }
        } catch {
            for bound in listeners { TCPServer.onLoopIgnoringErrors(bound.loop) { bound.value.stop() } }
            throw error
        }
        self.id = id
        self.localAddress = address
        self.listeners = listeners
    }

    private static func makeListeningSocket(address: SocketAddress, backlog: Int32) throws(IOError) -> Int32 {
        let fd = try Posix.socket(family: address.family)
        do {
            try Posix.setOption(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1))
            try Posix.setOption(fd, SOL_SOCKET, SO_REUSEPORT, Int32(1))
            if address.family == AF_INET6 {
                // `::` serves IPv4 too, through mapped addresses.
                try Posix.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, Int32(0))
            }
            try Posix.bind(fd, address)
            try Posix.listen(fd, backlog: backlog)
            return fd
        } catch {
            Posix.close(fd)
            throw error
        }
    }

    /// Stops accepting at once, asks every connection to drain, waits up to `gracePeriod` for them to
    /// close, then aborts the rest. Returns how many connections had to be aborted.
    @discardableResult
    public func shutdown(gracePeriod: Duration) async -> Int {
        for bound in self.listeners {
            await TCPServer.onLoopAsync(bound.loop) {
                let listener = bound.value
                listener.stop()
                for connection in listener.loop.registered(Connection.self) where connection.ownerID == listener.ownerID {
                    if let handler = connection.handler { handler.connectionShouldDrain(connection) } else { connection.close() }
                }
            }
        }
        let deadline = ContinuousClock.now + gracePeriod
        while ContinuousClock.now < deadline, await self.openConnectionCount() > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var aborted = 0
        for bound in self.listeners {
            aborted += await TCPServer.onLoopAsync(bound.loop) {
                let listener = bound.value
                let remaining = listener.loop.registered(Connection.self).filter { $0.ownerID == listener.ownerID }
                for connection in remaining { connection.abort(.shuttingDown) }
                return remaining.count
            }
        }
        return aborted
    }

    /// The per-loop listeners, for tests that play the kernel.
    var listenersForTesting: [LoopBound<Listener>] { self.listeners }

    /// Connections this server accepted that are still open.
    public func openConnectionCount() async -> Int {
        var total = 0
        for bound in self.listeners {
            total += await TCPServer.onLoopAsync(bound.loop) {
                let listener = bound.value
                return listener.loop.registered(Connection.self).count { $0.ownerID == listener.ownerID }
            }
        }
        return total
    }

    // MARK: Running code on a loop from outside

    private static func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () throws(IOError) -> T) throws(IOError) -> T {
        if loop.inEventLoop { return try body() }
        let result = Locked<Result<T, IOError>?>(nil)
        let done = Semaphore()
        loop.execute {
            let value: Result<T, IOError>
            do throws(IOError) { value = .success(try body()) } catch { value = .failure(error) }
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    private static func onLoopIgnoringErrors(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) {
        _ = try? onLoop(loop) { () throws(IOError) in body() }
    }

    static func onLoopAsync<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: body()) }
        }
    }
}

/// One listening socket on one loop.
final class Listener: Selectable {
    unowned let loop: EventLoop
    let fd: Int32
    let configuration: ServerConfiguration
    let ownerID: UInt32
    let handlerFactory: TCPServer.HandlerFactory
    private var token: UInt64 = 0
    private var registered = false
    private var closed = false
    private var backoffTimer: ScheduledTimer?
    /// The accept system call; tests replace it to play a kernel that runs out of descriptors.
    var accept: (Int32) throws(IOError) -> IOResult<(Int32, SocketAddress?)> = Posix.accept

    init(loop: EventLoop, fd: Int32, configuration: ServerConfiguration, ownerID: UInt32, handlerFactory: @escaping TCPServer.HandlerFactory) {
        self.loop = loop
        self.fd = fd
        self.configuration = configuration
        self.ownerID = ownerID
        self.handlerFactory = handlerFactory
    }

    func start() throws(IOError) {
        self.token = try self.loop.register(self, fd: self.fd, interest: .read)
        self.registered = true
    }

    func stop() {
        guard !self.closed else { return }
        self.closed = true
        self.backoffTimer?.cancel()
        if self.registered { self.loop.deregister(fd: self.fd, token: self.token) }
        self.registered = false
        Posix.close(self.fd)
    }

    func handleEvent(_ bits: UInt32) {
        // Accept a bounded batch per wake-up so a connection storm cannot starve existing connections.
        for _ in 0..<64 {
            let accepted: IOResult<(Int32, SocketAddress?)>
            do {
                accepted = try self.accept(self.fd)
            } catch {
                self.acceptFailed(error)
                return
            }
            guard case .processed(let (fd, address)) = accepted else { return }
            self.adopt(fd: fd, address: address)
        }
    }

    private func acceptFailed(_ error: IOError) {
        switch error.errno {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            // Out of descriptors or memory: the pending connection stays in the backlog and epoll would
            // report it again at once, so stop listening for a moment instead of spinning.
            self.loop.logger.warning(
                "accept paused: out of resources",
                metadata: ["io.errno": "\(error.errno)", "io.backoff_ms": "\(self.configuration.acceptBackoff.components.seconds * 1000 + self.configuration.acceptBackoff.components.attoseconds / 1_000_000_000_000_000)"]
            )
            self.loop.deregister(fd: self.fd, token: self.token)
            self.registered = false
            self.backoffTimer = self.loop.scheduleTimer(after: self.configuration.acceptBackoff) { [weak self] in
                guard let self, !self.closed else { return }
                self.backoffTimer = nil
                do {
                    try self.start()
                } catch {
                    self.loop.logger.error("accept resume failed", metadata: ["io.error": "\(error)"])
                }
            }
        case ECONNABORTED, EPROTO, EPERM:
            break  // The peer gave up before we accepted; the next accept goes on.
        default:
            self.loop.logger.error("accept failed", metadata: ["io.error": "\(error)"])
        }
    }

    private func adopt(fd: Int32, address: SocketAddress?) {
        try? Posix.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, Int32(1))
        var tls: (any SecureTransport)?
        if let factory = self.configuration.tls {
            do {
                tls = try factory.makeServerTransport(fileDescriptor: fd)
            } catch {
                self.loop.logger.error("TLS setup failed", metadata: ["io.error": "\(error)"])
                Posix.close(fd)
                return
            }
        }
        let connection = Connection(
            loop: self.loop, fd: fd, remoteAddress: address, state: tls == nil ? .open : .handshaking, tls: tls,
            options: self.configuration.connection, ownerID: self.ownerID, handler: nil
        )
        do {
            try connection.register(initialInterest: .read)
        } catch {
            Posix.close(fd)
            return
        }
        connection.handler = self.handlerFactory(connection)
        if tls != nil {
            connection.startHandshakeTimer()
        } else {
            connection.handler?.connectionDidOpen(connection)
        }
    }
}

/// A counting semaphore for the rare blocking waits outside any loop (start-up and tests).
final class Semaphore: @unchecked Sendable {
    // @unchecked Sendable: all state is behind the pthread mutex and condition variable.
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var count = 0

    init() {
        pthread_mutex_init(&self.mutex, nil)
        pthread_cond_init(&self.condition, nil)
    }

    deinit {
        pthread_cond_destroy(&self.condition)
        pthread_mutex_destroy(&self.mutex)
    }

    func signal() {
        pthread_mutex_lock(&self.mutex)
        self.count += 1
        pthread_cond_signal(&self.condition)
        pthread_mutex_unlock(&self.mutex)
    }

    func wait() {
        pthread_mutex_lock(&self.mutex)
        while self.count == 0 { pthread_cond_wait(&self.condition, &self.mutex) }
        self.count -= 1
        pthread_mutex_unlock(&self.mutex)
    }
}
