public import IOPosix
public import SocketIOCore

/// Which sockets a broadcast reaches.
public struct SocketIOBroadcastOptions: Sendable, Hashable {
    /// The rooms whose members are targeted; empty means every socket of the namespace.
    public var rooms: Set<String> = []
    /// Sockets in any of these rooms are left out (a socket id is a room holding that socket).
    public var except: Set<String> = []
    /// Drop the packet for sockets whose transport cannot take it right now.
    public var volatile = false
    /// Stay on this server (meaningful for cross-node adapters).
    public var local = false

    /// Every socket.
    public init() {}
}

/// Keeps a namespace's sockets and rooms and delivers broadcasts: the seam where a cross-node adapter
/// (Redis pub/sub) plugs in, with no change to the server API above it.
///
/// `add`, `join`, `leave` and `remove` are called on the socket's own loop.
public protocol SocketIOAdapter: Sendable {
    /// A socket joined the namespace (it is in the room named by its id).
    func add(_ socket: SocketIOSocket)
    /// A socket joined `room`.
    func join(_ socket: SocketIOSocket, room: String)
    /// A socket left `room`.
    func leave(_ socket: SocketIOSocket, room: String)
    /// A socket left the namespace, and with it every room.
    func remove(_ socket: SocketIOSocket)
    /// Delivers an encoded packet to the targets, without waiting.
    func broadcast(_ packet: SocketIOEncodedPacket, options: SocketIOBroadcastOptions)
    /// Runs `body` for each target socket, on the socket's loop, and returns how many there were.
    func forEachSocket(_ options: SocketIOBroadcastOptions, _ body: @escaping @Sendable (SocketIOSocket) -> Void) async -> Int
    /// How many servers share this namespace (1 for a single node).
    func serverCount() async -> Int
}

/// The single-node adapter: rooms kept per event loop, so joining, leaving and delivering to the sockets of
/// one loop never takes a lock; a broadcast visits each loop once with the packet encoded once.
public final class InMemoryAdapter: SocketIOAdapter {
    private let shards: [LoopBound<Shard>]

    /// The sockets and rooms of one loop.
    final class Shard {
        var sockets: [String: SocketIOSocket] = [:]
        var rooms: [String: Set<String>] = [:]

        /// The sockets a broadcast with `options` reaches on this loop.
        func targets(_ options: SocketIOBroadcastOptions) -> [SocketIOSocket] {
            var result: [SocketIOSocket] = []
            func excluded(_ socket: SocketIOSocket) -> Bool {
                guard !options.except.isEmpty else { return false }
                if options.except.contains(socket.id) { return true }
                return !socket.rooms.isDisjoint(with: options.except)
            }
            if options.rooms.isEmpty {
                result.reserveCapacity(self.sockets.count)
                for socket in self.sockets.values where !excluded(socket) { result.append(socket) }
                return result
            }
            var seen = Set<String>()
            for room in options.rooms {
                if let socket = self.sockets[room], seen.insert(socket.id).inserted, !excluded(socket) {
                    result.append(socket)
                }
                for id in self.rooms[room] ?? [] where seen.insert(id).inserted {
                    if let socket = self.sockets[id], !excluded(socket) { result.append(socket) }
                }
            }
            return result
        }
    }

    /// An adapter for a namespace served by `group`'s loops.
    public init(group: EventLoopGroup) {
        self.shards = group.loops.map { LoopBound(Shard(), loop: $0) }
    }

    private func shard(of socket: SocketIOSocket) -> Shard {
        self.shards[socket.loop.index].value
    }

    public func add(_ socket: SocketIOSocket) {
        self.shard(of: socket).sockets[socket.id] = socket
    }

    public func join(_ socket: SocketIOSocket, room: String) {
        self.shard(of: socket).rooms[room, default: []].insert(socket.id)
    }

    public func leave(_ socket: SocketIOSocket, room: String) {
        let shard = self.shard(of: socket)
        shard.rooms[room]?.remove(socket.id)
        if shard.rooms[room]?.isEmpty == true { shard.rooms[room] = nil }
    }

    public func remove(_ socket: SocketIOSocket) {
        let shard = self.shard(of: socket)
        shard.sockets[socket.id] = nil
        for room in socket.rooms {
            shard.rooms[room]?.remove(socket.id)
            if shard.rooms[room]?.isEmpty == true { shard.rooms[room] = nil }
        }
    }

    public func broadcast(_ packet: SocketIOEncodedPacket, options: SocketIOBroadcastOptions) {
        for shard in self.shards {
            let deliver: @Sendable () -> Void = {
                for socket in shard.value.targets(options) { socket.deliver(packet, volatile: options.volatile) }
            }
            if shard.loop.inEventLoop { deliver() } else { shard.loop.execute(deliver) }
        }
    }

    public func forEachSocket(_ options: SocketIOBroadcastOptions, _ body: @escaping @Sendable (SocketIOSocket) -> Void) async -> Int {
        var total = 0
        for shard in self.shards {
            total += await withCheckedContinuation { continuation in
                shard.loop.execute {
                    let targets = shard.value.targets(options)
                    for socket in targets { body(socket) }
                    continuation.resume(returning: targets.count)
                }
            }
        }
        return total
    }

    public func serverCount() async -> Int { 1 }
}
