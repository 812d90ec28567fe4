import CLinux
import Glibc
public import IOCore

extension EventLoop {
    /// Opens an outgoing TCP connection (optionally TLS) to `address`. Loop thread only.
    ///
    /// The handler hears `connectionDidOpen` once connected (and handshaken), or `connectionDidClose` with a
    /// `connectFailed` / `timedOut` / `tlsFailure` error. `options.handshakeTimeout` bounds connect and
    /// handshake together.
    /// - Parameters:
    ///   - address: a resolved address (see ``Resolver``).
    ///   - tls: a client TLS factory and the hostname to verify, or nil for plain TCP.
    ///   - options: output limits and the connect deadline.
    ///   - handler: the protocol logic for the connection.
    public func connect(
        to address: SocketAddress,
        tls: (factory: any SecureClientTransportFactory, serverHostname: String)? = nil,
        options: ConnectionOptions = ConnectionOptions(),
        handler: any ConnectionHandler
    ) throws -> Connection {
        self.assertInEventLoop()
        let fd = try Posix.socket(family: address.family)
        let transport: (any SecureTransport)?
        do {
            try? Posix.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, Int32(1))
            transport = try tls.map { try $0.factory.makeClientTransport(fileDescriptor: fd, serverHostname: $0.serverHostname) }
        } catch {
            Posix.close(fd)
            throw error
        }
        let connected: Bool
        do {
            connected = try Posix.connect(fd, address)
        } catch {
            Posix.close(fd)
            throw ConnectionError.connectFailed(error.description)
        }
        let connection = Connection(
            loop: self, fd: fd, remoteAddress: address, state: .connecting, tls: transport,
            options: options, ownerID: 0, handler: handler
        )
        do {
            try connection.register(initialInterest: .write)
        } catch {
            Posix.close(fd)
            throw error
        }
        // Even a connect that completed at once (common on loopback) is reported through epoll's
        // writable event, so the handler never hears of it re-entrantly.
        _ = connected
        connection.startHandshakeTimer()
        return connection
    }
}

/// Name resolution with `getaddrinfo`, run on a short-lived thread so no event loop ever blocks on DNS.
public enum Resolver {
    /// Resolves `host` (a name or an IP literal) to TCP addresses, IPv4 first.
    public static func resolve(host: String, port: Int) async throws(IOError) -> [SocketAddress] {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return [literal] }
        let result: Result<[SocketAddress], IOError> = await withCheckedContinuation { continuation in
            let job = ResolveJob(host: host, port: port) { continuation.resume(returning: $0) }
            let box = Unmanaged.passRetained(job).toOpaque()
            var thread = pthread_t()
            if pthread_create(&thread, nil, resolverThreadMain, box) != 0 {
                Unmanaged<ResolveJob>.fromOpaque(box).release()
                continuation.resume(returning: .failure(IOError(errno: EAGAIN, syscall: "pthread_create")))
                return
            }
            pthread_detach(thread)
        }
        return try result.get()
    }

    static func blockingResolve(host: String, port: Int) -> Result<[SocketAddress], IOError> {
        var hints = addrinfo()
        hints.ai_socktype = CLinux_SOCK_STREAM
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else {
            // EAI_* codes are not errnos; report them under their own syscall name.
            return .failure(IOError(errno: rc, syscall: "getaddrinfo(\(String(cString: gai_strerror(rc))))"))
        }
        defer { freeaddrinfo(list) }
        var v4: [SocketAddress] = []
        var v6: [SocketAddress] = []
        var node = list
        while let entry = node {
            if let sockaddr = entry.pointee.ai_addr, let address = SocketAddress(sockaddr, length: Int(entry.pointee.ai_addrlen)) {
                if address.family == AF_INET { v4.append(address) } else { v6.append(address) }
            }
            node = entry.pointee.ai_next
        }
        return .success(v4 + v6)
    }
}

private final class ResolveJob {
    let host: String
    let port: Int
    let completion: (Result<[SocketAddress], IOError>) -> Void
    init(host: String, port: Int, completion: @escaping (Result<[SocketAddress], IOError>) -> Void) {
        self.host = host
        self.port = port
        self.completion = completion
    }
}

private func resolverThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let job = Unmanaged<ResolveJob>.fromOpaque(argument!).takeRetainedValue()
    job.completion(Resolver.blockingResolve(host: job.host, port: job.port))
    return nil
}
