/// What one call on a ``SecureTransport`` achieved.
public enum SecureTransportResult: Sendable, Equatable {
    /// `count` plaintext bytes were read or written (for a handshake: it completed, count 0).
    case done(Int)
    /// Nothing more until the socket is readable.
    case wantRead
    /// Nothing more until the socket is writable.
    case wantWrite
    /// The peer closed the stream cleanly (TLS close_notify, or EOF).
    case closed
    /// The stream failed; the connection must be closed.
    case failed(ConnectionError)
}

/// An encrypted byte stream over a non-blocking socket, as the event loop sees it.
///
/// The loop owns the socket and its readiness; the transport does the reads and writes on the file
/// descriptor it was made for and reports what it needs next. Implemented by `IOTLS` over OpenSSL;
/// the loop never knows which library is behind it.
public protocol SecureTransport: AnyObject {
    /// Drives the handshake one step.
    func handshake() -> SecureTransportResult
    /// Reads decrypted bytes into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> SecureTransportResult
    /// Encrypts and writes bytes from `buffer`; may write fewer than offered.
    func write(_ buffer: UnsafeRawBufferPointer) -> SecureTransportResult
    /// Whether decrypted bytes are buffered inside the transport, so the loop must read again without
    /// waiting for the socket (level-triggered epoll does not fire for them).
    var hasBufferedPlaintext: Bool { get }
    /// Sends close_notify, best effort; never blocks.
    func shutdown()
    /// The application protocol agreed through ALPN, if any.
    var negotiatedApplicationProtocol: String? { get }
}

/// Makes a ``SecureTransport`` for each accepted or connected socket.
public protocol SecureTransportFactory: Sendable {
    /// A server-side transport for an accepted socket.
    func makeServerTransport(fileDescriptor: Int32) throws -> any SecureTransport
}

/// Makes a client-side ``SecureTransport`` for each outgoing connection.
public protocol SecureClientTransportFactory: Sendable {
    /// A client transport for a connected socket that will verify `serverHostname` (a DNS name or
    /// an IP literal) against the peer's certificate.
    func makeClientTransport(fileDescriptor: Int32, serverHostname: String) throws -> any SecureTransport
}
