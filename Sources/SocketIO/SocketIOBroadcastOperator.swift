import IOCore
import IOPosix
public import JSON
import SocketIOCore

/// A broadcast being described: `namespace.to("r").except("s").volatile.emit(...)`.
///
/// A value; each modifier returns a new operator. Usable from any thread.
public struct SocketIOBroadcastOperator: Sendable {
    let namespace: SocketIONamespace
    /// Who is reached.
    public private(set) var options = SocketIOBroadcastOptions()

    init(namespace: SocketIONamespace) {
        self.namespace = namespace
    }

    /// Also targets `room`.
    public func to(_ room: String) -> Self {
        var copy = self
        copy.options.rooms.insert(room)
        return copy
    }

    /// Also targets every room in `rooms`.
    public func to(_ rooms: some Sequence<String>) -> Self {
        var copy = self
        copy.options.rooms.formUnion(rooms)
        return copy
    }

    /// Leaves out the sockets in `room`.
    public func except(_ room: String) -> Self {
        var copy = self
        copy.options.except.insert(room)
        return copy
    }

    /// Drops the event for clients that cannot take it right now.
    public var volatile: Self {
        var copy = self
        copy.options.volatile = true
        return copy
    }

    /// Stays on this server.
    public var local: Self {
        var copy = self
        copy.options.local = true
        return copy
    }

    /// Sends `event` to every target; the packet is encoded once.
    public func emit(_ event: String, _ arguments: [JSONValue] = []) throws(SocketIOEmitError) {
        guard !reservedEventNames.contains(event) else { throw .reservedEventName(event) }
        if self.namespace.recoveryStore != nil && !self.options.volatile {
            self.emitStored(event, arguments)
            return
        }
        self.namespace.adapter.broadcast(self.namespace.encodeEvent(event, arguments), options: self.options)
    }

    /// With connection state recovery: appends an offset to the arguments and keeps the packet for replay.
    func emitStored(_ event: String, _ arguments: [JSONValue]) {
        guard let store = self.namespace.recoveryStore else { return }
        let offset = store.nextOffset()
        let packet = self.namespace.encodeEvent(event, arguments + [.string(offset)])
        store.record(offset: offset, packet: packet, options: self.options)
        self.namespace.adapter.broadcast(packet, options: self.options)
    }

    /// Sends `event` to every target and waits for all their acknowledgements, up to `timeout`.
    /// - Throws: ``SocketIOAckError`` on timeout, carrying the answers that did arrive.
    public func emitWithAck(_ event: String, _ arguments: [JSONValue] = [], timeout: Duration) async throws -> [JSONValue] {
        guard !reservedEventNames.contains(event) else { throw SocketIOEmitError.reservedEventName(event) }
        let id = self.namespace.nextAckID()
        let packet = self.namespace.encodeEvent(event, arguments, id: id)
        let collector = AckCollector()
        let volatile = self.options.volatile
        let targets = await self.namespace.adapter.forEachSocket(self.options) { socket in
            socket.expectAck(id: id, timeout: timeout) { collector.add($0) }
            socket.deliver(packet, volatile: volatile)
        }
        return try await collector.wait(expected: targets)
    }

    /// The ids of the target sockets.
    public func socketIDs() async -> Set<String> {
        let ids = Locked(Set<String>())
        _ = await self.namespace.adapter.forEachSocket(self.options) { socket in
            let id = socket.id
            ids.withLock { _ = $0.insert(id) }
        }
        return ids.withLock { $0 }
    }

    /// Makes every target join `room`.
    public func socketsJoin(_ room: String) async {
        _ = await self.namespace.adapter.forEachSocket(self.options) { $0.join(room) }
    }

    /// Makes every target leave `room`.
    public func socketsLeave(_ room: String) async {
        _ = await self.namespace.adapter.forEachSocket(self.options) { $0.leave(room) }
    }

    /// Disconnects every target (closing their whole connections with `closeTransport`).
    public func disconnectSockets(closeTransport: Bool = false) async {
        _ = await self.namespace.adapter.forEachSocket(self.options) { $0.disconnect(closeTransport: closeTransport) }
    }
}

/// Gathers the answers to a broadcast with ack, from any loop.
final class AckCollector: Sendable {
    private struct State {
        var responses: [JSONValue] = []
        var finished = 0
        var failed = false
        var expected: Int?
        var continuation: CheckedContinuation<[JSONValue], any Error>?
    }

    private let state = Locked(State())

    func add(_ result: Result<[JSONValue], SocketIOAckError>) {
        self.state.withLock { state in
            state.finished += 1
            switch result {
            case .success(let arguments): state.responses.append(arguments.first ?? .null)
            case .failure: state.failed = true
            }
        }
        self.resumeIfDone()
    }

    func wait(expected: Int) async throws -> [JSONValue] {
        try await withCheckedThrowingContinuation { continuation in
            self.state.withLock {
                $0.expected = expected
                $0.continuation = continuation
            }
            self.resumeIfDone()
        }
    }

    private func resumeIfDone() {
        let outcome: (CheckedContinuation<[JSONValue], any Error>, [JSONValue], Bool)? = self.state.withLock { state in
            guard let expected = state.expected, state.finished >= expected, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.responses, state.failed)
        }
        guard let (continuation, responses, failed) = outcome else { return }
        if failed {
            continuation.resume(throwing: SocketIOAckError.timedOut(partial: responses))
        } else {
            continuation.resume(returning: responses)
        }
    }
}
