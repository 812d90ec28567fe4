import IOPosix
import JSON
import SocketIOCore

/// Connection state recovery for one namespace: the packets broadcast recently (with their offsets) and
/// the sessions of sockets that disconnected recently, so a client that comes back within the window gets
/// its id, rooms and data back and the packets it missed.
final class RecoveryStore: Sendable {
    struct Session {
        var sid: String
        var rooms: Set<String>
        var data: JSONValue
        var disconnectedAt: ContinuousClock.Instant
    }

    struct StoredPacket {
        var offset: String
        var packet: SocketIOEncodedPacket
        var options: SocketIOBroadcastOptions
        var emittedAt: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [String: Session] = [:]
        var packets: [StoredPacket] = []
        var counter: UInt64 = 0
    }

    /// What a recovered socket gets back.
    struct Restored {
        var sid: String
        var rooms: Set<String>
        var data: JSONValue
        var missed: [SocketIOEncodedPacket]
    }

    let configuration: ConnectionStateRecovery
    private let state = Locked(State())

    init(configuration: ConnectionStateRecovery) {
        self.configuration = configuration
    }

    /// A new offset: unique within the namespace, increasing.
    func nextOffset() -> String {
        let value = self.state.withLock { state in
            state.counter &+= 1
            return state.counter
        }
        return String(value, radix: 36)
    }

    func record(offset: String, packet: SocketIOEncodedPacket, options: SocketIOBroadcastOptions) {
        let now = ContinuousClock.now
        self.state.withLock { state in
            state.packets.append(StoredPacket(offset: offset, packet: packet, options: options, emittedAt: now))
            self.expire(&state, now: now)
        }
    }

    func persist(pid: String, sid: String, rooms: Set<String>, data: JSONValue, expiresAfter: Duration) {
        let now = ContinuousClock.now
        self.state.withLock { state in
            state.sessions[pid] = Session(sid: sid, rooms: rooms, data: data, disconnectedAt: now)
            self.expire(&state, now: now)
        }
    }

    /// The session for `pid` if it is recent and `offset` is still in the log; it can be restored once.
    func restore(pid: String, offset: String) -> Restored? {
        let now = ContinuousClock.now
        return self.state.withLock { state -> Restored? in
            self.expire(&state, now: now)
            guard let session = state.sessions[pid],
                let index = state.packets.lastIndex(where: { $0.offset == offset })
            else { return nil }
            state.sessions[pid] = nil
            let own = session.rooms.union([session.sid])
            let missed = state.packets[(index + 1)...].filter { stored in
                (stored.options.rooms.isEmpty || !stored.options.rooms.isDisjoint(with: own))
                    && stored.options.except.isDisjoint(with: own)
            }.map(\.packet)
            return Restored(sid: session.sid, rooms: session.rooms, data: session.data, missed: missed)
        }
    }

    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        let window = self.configuration.maxDisconnectionDuration
        if state.packets.count > self.configuration.maximumStoredPackets {
            state.packets.removeFirst(state.packets.count - self.configuration.maximumStoredPackets)
        }
        if let first = state.packets.first, now - first.emittedAt > window {
            state.packets.removeAll { now - $0.emittedAt > window }
        }
        if state.sessions.count > 0 && state.counter % 64 == 0 {
            state.sessions = state.sessions.filter { now - $0.value.disconnectedAt <= window }
        }
    }
}
