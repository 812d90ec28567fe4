import Synchronization

/// What was stored when a segment was appended.
public enum SegmentAppend: Sendable, Hashable {
    /// Stored; `count` segments now.
    case stored(count: Int)
    /// The id was known; nothing changed.
    case duplicate
    /// The conversation is full.
    case full
}

/// A store failure (the backing service is down or answered nonsense).
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { self.message }
}

/// Where conversation context lives: segments (deduplicated by id) of each conversation. In memory for one
/// node; a shared store (Redis) lets another node take over a conversation. Methods run in the caller's
/// isolation; an implementation that answers from memory never suspends.
public protocol ConversationStore: Sendable {
    /// A short name for health output (`memory`, `redis`).
    var kind: String { get }
    /// Appends `segment` unless its id is known or the conversation already holds `limit` segments.
    func append(_ segment: Segment, to conversationID: String, limit: Int, isolation: isolated (any Actor)?) async throws(StoreError) -> SegmentAppend
    /// The last `count` segments, oldest first.
    func recentSegments(of conversationID: String, count: Int, isolation: isolated (any Actor)?) async throws(StoreError) -> [Segment]
    /// Forgets a conversation's segments.
    func remove(_ conversationID: String, isolation: isolated (any Actor)?) async throws(StoreError)
    /// Whether the store answers now (readiness).
    func isReady(isolation: isolated (any Actor)?) async -> Bool
}

/// The outcome of taking one unit from a rate limit.
public struct RateDecision: Sendable, Hashable {
    public var allowed: Bool
    /// When refused: how long until the window has room again.
    public var retryAfterMs: Int

    public init(allowed: Bool, retryAfterMs: Int) {
        self.allowed = allowed
        self.retryAfterMs = retryAfterMs
    }
}

/// Rate limits shared by every node (per API key, per client address). Fixed windows.
public protocol RateLimiter: Sendable {
    func consume(_ key: String, rule: RateRule, isolation: isolated (any Actor)?) async throws(StoreError) -> RateDecision
}

/// ``ConversationStore`` in this process's memory, sharded to keep lock contention between loops low.
public final class InMemoryConversationStore: ConversationStore {
    private struct Record {
        var ids: Set<String> = []
        var segments: [Segment] = []

        mutating func append(_ segment: Segment, limit: Int) -> SegmentAppend {
            if self.ids.contains(segment.id) { return .duplicate }
            guard self.segments.count < limit else { return .full }
            self.ids.insert(segment.id)
            self.segments.append(segment)
            return .stored(count: self.segments.count)
        }
    }

    /// One lock and the conversations hashed to it.
    private final class Shard: Sendable {
        let records = Mutex<[String: Record]>([:])
    }

    private let shards: [Shard]

    public init(shardCount: Int = 16) {
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
    }

    public var kind: String { "memory" }

    private func shard(_ id: String) -> Shard {
        self.shards[Int(UInt(bitPattern: id.hashValue) % UInt(self.shards.count))]
    }

    public func append(_ segment: Segment, to conversationID: String, limit: Int, isolation: isolated (any Actor)?) async throws(StoreError) -> SegmentAppend {
        self.shard(conversationID).records.withLock { records in
            records[conversationID, default: Record()].append(segment, limit: limit)
        }
    }

    public func recentSegments(of conversationID: String, count: Int, isolation: isolated (any Actor)?) async throws(StoreError) -> [Segment] {
        self.shard(conversationID).records.withLock { records in
            guard let segments = records[conversationID]?.segments else { return [] }
            return Array(segments.suffix(count))
        }
    }

    public func remove(_ conversationID: String, isolation: isolated (any Actor)?) async throws(StoreError) {
        _ = self.shard(conversationID).records.withLock { $0.removeValue(forKey: conversationID) }
    }

    public func isReady(isolation: isolated (any Actor)?) async -> Bool { true }
}

/// ``RateLimiter`` in this process's memory: fixed windows per key, swept as they expire.
public final class InMemoryRateLimiter: RateLimiter {
    private struct Window {
        var startMs: Int
        var count: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    private let nowMs: @Sendable () -> Int

    /// - Parameter nowMs: a monotonic clock in milliseconds (replaceable in tests).
    public init(nowMs: @escaping @Sendable () -> Int = MonotonicClock.milliseconds) {
        self.nowMs = nowMs
    }

    public func consume(_ key: String, rule: RateRule, isolation: isolated (any Actor)?) async throws(StoreError) -> RateDecision {
        self.consumeNow(key, rule: rule)
    }

    /// The synchronous core of ``consume(_:rule:isolation:)``.
    public func consumeNow(_ key: String, rule: RateRule) -> RateDecision {
        let now = self.nowMs()
        return self.windows.withLock { windows in
            if windows.count > 10_000 { windows = windows.filter { now - $0.value.startMs < 3_600_000 } }
            var window = windows[key] ?? Window(startMs: now, count: 0)
            if now - window.startMs >= rule.windowMs { window = Window(startMs: now, count: 0) }
            guard window.count < rule.limit else {
                windows[key] = window
                return RateDecision(allowed: false, retryAfterMs: max(1, window.startMs + rule.windowMs - now))
            }
            window.count += 1
            windows[key] = window
            return RateDecision(allowed: true, retryAfterMs: 0)
        }
    }
}

/// A token bucket for limits that belong to one owner (a connection, a conversation): no store, no lock.
struct TokenBucket {
    private let capacity: Double
    private let refillPerMs: Double
    private var tokens: Double
    private var lastMs: Int

    init(_ rule: RateRule, nowMs: Int) {
        self.capacity = Double(max(1, rule.limit))
        self.refillPerMs = Double(max(1, rule.limit)) / Double(max(1, rule.windowMs))
        self.tokens = self.capacity
        self.lastMs = nowMs
    }

    /// Takes one token; when empty, says how long until one is back.
    mutating func take(nowMs: Int) -> RateDecision {
        self.tokens = min(self.capacity, self.tokens + Double(max(0, nowMs - self.lastMs)) * self.refillPerMs)
        self.lastMs = nowMs
        guard self.tokens >= 1 else {
            return RateDecision(allowed: false, retryAfterMs: max(1, Int(((1 - self.tokens) / self.refillPerMs).rounded(.up))))
        }
        self.tokens -= 1
        return RateDecision(allowed: true, retryAfterMs: 0)
    }
}

/// Milliseconds on the monotonic clock, for durations and rate windows.
public enum MonotonicClock {
    @Sendable public static func milliseconds() -> Int {
        let (seconds, attoseconds) = (ContinuousClock.now - ContinuousClock.Instant.origin).components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

extension ContinuousClock.Instant {
    static let origin = ContinuousClock.now
}
