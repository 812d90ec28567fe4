/// A conversation's own settings, fixed at START_CONVERSATION.
public struct ConversationSettings: Sendable, Hashable {
    public var mode: ConversationMode
    public var warmupSeconds: Int
    public var intervalSeconds: Int
    public var metadata: JSONObject?

    public init(mode: ConversationMode, warmupSeconds: Int = 180, intervalSeconds: Int = 30, metadata: JSONObject? = nil) {
        self.mode = mode
        self.warmupSeconds = warmupSeconds
        self.intervalSeconds = intervalSeconds
        self.metadata = metadata
    }
}

/// A number of events allowed per window.
public struct RateRule: Sendable, Hashable {
    public var limit: Int
    public var windowMs: Int

    public init(limit: Int, windowMs: Int) {
        self.limit = limit
        self.windowMs = windowMs
    }

    public static func perSecond(_ limit: Int) -> RateRule { RateRule(limit: limit, windowMs: 1000) }
    public static func perMinute(_ limit: Int) -> RateRule { RateRule(limit: limit, windowMs: 60_000) }
}

/// The copilot's knobs: timings, quotas and rates. Defaults are the protocol's.
public struct CoachingConfiguration: Sendable, Hashable {
    /// Multiplies every conversation timing (warm-up, interval, resume grace, idle timeout, ended retention):
    /// 0.01 makes a 180 s warm-up last 1.8 s. For tests and benchmarks; 1 in production.
    public var timeScale = 1.0
    /// How long a detached conversation waits for its client to resume it.
    public var resumeGrace: Duration = .seconds(120)
    /// A conversation with no event for this long is ended (as if its grace period expired).
    public var idleTimeout: Duration = .seconds(1800)
    /// How long an ended conversation is remembered (its summary is sent again on request).
    public var endedRetention: Duration = .seconds(3600)
    /// How long the LLM coach may take before the rule coach answers instead. Not scaled.
    public var llmDeadline: Duration = .seconds(4)
    public var maximumSegments = 5000
    public var maximumTips = 1000
    public var maximumConversationsPerKey = 20
    /// Per key, shared by every node through the store.
    public var startRate = RateRule.perMinute(30)
    /// Tips per API key, timed and requested, shared by every node through the store.
    public var keyTipRate = RateRule.perMinute(600)
    /// Per conversation (its owner node).
    public var transcriptRate = RateRule.perSecond(20)
    public var tipRequestRate = RateRule.perMinute(30)
    /// Per connection.
    public var eventRate = RateRule.perSecond(50)

    public init() {}

    /// `duration` times ``timeScale``.
    func scaled(_ duration: Duration) -> Duration { duration * self.timeScale }
}

public import JSON
