public import IOCore

/// The protocol logic on top of a ``Connection``: HTTP, WebSocket, a Redis or HTTP client.
///
/// Every method is called on the connection's loop thread. A handler may call back into the connection
/// (write, close, swap `connection.handler`) from any of them. `connectionDidClose` is always delivered
/// after the callback that caused the close has returned, never re-entrantly.
public protocol ConnectionHandler: AnyObject {
    /// The connection is ready: accepted (and, with TLS, handshaken) or connected.
    func connectionDidOpen(_ connection: Connection)
    /// Bytes arrived. `bytes` is only valid during the call: parse or copy it.
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer)
    /// The peer closed its sending side. The default closes the connection once output is flushed.
    func connectionDidReadEOF(_ connection: Connection)
    /// Output dropped below the low watermark after having passed the high watermark.
    func connectionWritabilityDidChange(_ connection: Connection)
    /// The server is draining: finish what is in flight and close. The default closes at once (gracefully).
    func connectionShouldDrain(_ connection: Connection)
    /// The connection is closed; `error` says why when it was not a clean close.
    func connectionDidClose(_ connection: Connection, error: ConnectionError?)
}

extension ConnectionHandler {
    public func connectionDidOpen(_ connection: Connection) {}
    public func connectionDidReadEOF(_ connection: Connection) { connection.close() }
    public func connectionWritabilityDidChange(_ connection: Connection) {}
    public func connectionShouldDrain(_ connection: Connection) { connection.close() }
}

/// Limits that keep one connection's memory bounded.
public struct ConnectionOptions: Sendable {
    /// Above this many queued output bytes the connection stops reading and reports not writable.
    public var highWatermark: Int = 256 * 1024
    /// Below this many queued output bytes it reads again and reports writable.
    public var lowWatermark: Int = 64 * 1024
    /// Above this many queued output bytes the peer is deemed stuck and the connection is aborted.
    public var maximumQueuedOutput: Int = 4 * 1024 * 1024
    /// How long a graceful close may wait for queued output to drain before aborting.
    public var closeLinger: Duration = .seconds(10)
    /// Deadline for the TLS handshake (and for an outgoing TCP connect).
    public var handshakeTimeout: Duration = .seconds(10)

    /// The defaults.
    public init() {}
}
