import HTTP
import HTTPCore
import IOCore
import IOPosix

/// Keep-alive connections to the client's one endpoint (host, port, TLS), bounded in count and age.
///
/// A connection goes back to the pool only when its response was read to the end and both sides
/// kept it alive (``HTTPClientConnection/isReusable`` is checked again on checkout, because the server
/// may close an idle connection at any time). The most recently used connection is reused first: it
/// is the least likely to have been closed by the server. Thread-safe.
final class ConnectionPool: Sendable {
    /// An idle connection and when it went idle.
    private struct Idle {
        var connection: HTTPClientConnection
        var since: ContinuousClock.Instant
    }

    /// The pool's mutable state; only touched under its lock.
    private struct State {
        var idle: [Idle] = []
        var isShutDown = false
        /// Connections opened (or attempted) over the pool's life, for tests and metrics.
        var opened = 0
    }

    private let state = Locked(State())
    private let endpoint: OpenAIEndpoint
    private let tls: (any SecureClientTransportFactory)?
    let group: EventLoopGroup
    private let policy: ConnectionPoolPolicy
    /// Response parser limits, with the body limit from the configuration.
    private let parserLimits: HTTPParserLimits

    init(endpoint: OpenAIEndpoint, tls: (any SecureClientTransportFactory)?, group: EventLoopGroup, policy: ConnectionPoolPolicy, maximumBodySize: Int) {
        self.endpoint = endpoint
        self.tls = tls
        self.group = group
        self.policy = policy
        var limits = HTTPParserLimits.responseDefaults
        limits.maximumBodySize = maximumBodySize
        self.parserLimits = limits
    }

    /// How many connections the pool has opened (or tried to) so far.
    var openedConnectionCount: Int { self.state.withLock { $0.opened } }

    /// How many idle connections the pool holds.
    var idleConnectionCount: Int { self.state.withLock { $0.idle.count } }

    /// A connection ready for a request: a reusable idle one, or a new one.
    /// - Returns: the connection and whether it was reused.
    func checkout(connectTimeout: Duration) async throws(OpenAIError) -> (HTTPClientConnection, reused: Bool) {
        while true {
            let now = ContinuousClock.now
            let (candidate, expired): (HTTPClientConnection?, [HTTPClientConnection]) = self.state.withLock { state in
                let expired = Self.removeExpired(&state.idle, now: now, idleTimeout: self.policy.idleTimeout)
                return (state.idle.popLast()?.connection, expired)
            }
            for connection in expired { connection.close() }
            guard let candidate else { break }
            if await candidate.isReusable { return (candidate, true) }
            candidate.close()
        }
        let connection = try await self.connect(timeout: connectTimeout)
        return (connection, false)
    }

    /// Gives `connection` back after a request; it is kept only when `reusable` (its response was
    /// read to the end) and the pool has room, otherwise closed.
    func release(_ connection: HTTPClientConnection, reusable: Bool) {
        guard reusable else {
            connection.close()
            return
        }
        let now = ContinuousClock.now
        let toClose: [HTTPClientConnection] = self.state.withLock { state in
            var toClose = Self.removeExpired(&state.idle, now: now, idleTimeout: self.policy.idleTimeout)
            if state.isShutDown || state.idle.count >= self.policy.maximumIdleConnections {
                toClose.append(connection)
            } else {
                state.idle.append(Idle(connection: connection, since: now))
            }
            return toClose
        }
        for connection in toClose { connection.close() }
    }

    /// Closes every idle connection; connections released later are closed too.
    func shutdown() {
        let idle = self.state.withLock { state in
            state.isShutDown = true
            defer { state.idle = [] }
            return state.idle
        }
        for entry in idle { entry.connection.close() }
    }

    private static func removeExpired(_ idle: inout [Idle], now: ContinuousClock.Instant, idleTimeout: Duration) -> [HTTPClientConnection] {
        // Oldest first: the expired ones form a prefix.
        var count = 0
        while count < idle.count && now - idle[count].since > idleTimeout { count += 1 }
        guard count > 0 else { return [] }
        let expired = idle[..<count].map(\.connection)
        idle.removeFirst(count)
        return expired
    }

    /// Opens a connection. `HTTPClientConnection.connect` cannot be cancelled (only its own timeout
    /// ends it), so it runs in a task of its own: when the caller is cancelled it gets
    /// ``OpenAIError/cancelled`` at once, and a connection that completes later is closed.
    private func connect(timeout: Duration) async throws(OpenAIError) -> HTTPClientConnection {
        let handoff = ConnectHandoff()
        let endpoint = self.endpoint
        let tls = self.tls
        let loop = self.group.next()
        let limits = self.parserLimits
        self.state.withLock { $0.opened += 1 }
        let result: Result<HTTPClientConnection, OpenAIError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard handoff.setWaiter(continuation) else { return }
                Task {
                    let result: Result<HTTPClientConnection, OpenAIError>
                    do {
                        result = .success(
                            try await HTTPClientConnection.connect(
                                host: endpoint.host, port: endpoint.port, tls: tls, on: loop, timeout: timeout, limits: limits
                            )
                        )
                    } catch {
                        result = .failure(OpenAIClient.map(error, phase: .connect))
                    }
                    if !handoff.complete(result), case .success(let connection) = result { connection.close() }
                }
            }
        } onCancel: {
            handoff.cancel()
        }
        return try result.get()
    }
}

/// Hands a connect result to the waiting caller exactly once, or tells the connecting task that the
/// caller left (cancelled) so it closes what it opened.
private final class ConnectHandoff: Sendable {
    private enum State {
        case initial
        case waiting(CheckedContinuation<Result<HTTPClientConnection, OpenAIError>, Never>)
        case cancelled
        case done
    }

    private let state = Locked(State.initial)

    /// Registers the caller; false when it was cancelled already (and has been resumed).
    func setWaiter(_ continuation: CheckedContinuation<Result<HTTPClientConnection, OpenAIError>, Never>) -> Bool {
        let proceed: Bool = self.state.withLock { state in
            guard case .initial = state else { return false }
            state = .waiting(continuation)
            return true
        }
        if !proceed { continuation.resume(returning: .failure(.cancelled)) }
        return proceed
    }

    /// Delivers the result; false when the caller is gone.
    func complete(_ result: Result<HTTPClientConnection, OpenAIError>) -> Bool {
        let waiter: CheckedContinuation<Result<HTTPClientConnection, OpenAIError>, Never>? = self.state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = .done
            return continuation
        }
        waiter?.resume(returning: result)
        return waiter != nil
    }

    /// The caller was cancelled: resume it now with ``OpenAIError/cancelled``.
    func cancel() {
        let waiter: CheckedContinuation<Result<HTTPClientConnection, OpenAIError>, Never>? = self.state.withLock { state in
            switch state {
            case .initial:
                state = .cancelled
                return nil
            case .waiting(let continuation):
                state = .cancelled
                return continuation
            case .cancelled, .done:
                return nil
            }
        }
        waiter?.resume(returning: .failure(.cancelled))
    }
}
