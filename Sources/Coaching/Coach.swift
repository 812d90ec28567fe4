public import JSON

/// Running totals over every segment of a conversation, kept as segments arrive.
public struct TranscriptStats: Sendable, Hashable {
    public var segments = 0
    public var agentMs = 0
    public var customerMs = 0
    public var agentWords = 0
    public var customerWords = 0
    /// False once a segment without both times arrived: talk ratio then counts words.
    public var allTimed = true
    /// The latest `endMs` (or `startMs`) seen: the call's clock as the transcript tells it.
    public var lastMs: Int?

    public init() {}

    public mutating func add(_ segment: Segment) {
        self.segments += 1
        let words = segment.wordCount
        switch segment.speaker {
        case .agent: self.agentWords += words
        case .customer: self.customerWords += words
        }
        if let duration = segment.durationMs {
            switch segment.speaker {
            case .agent: self.agentMs += duration
            case .customer: self.customerMs += duration
            }
        } else {
            self.allTimed = false
        }
        if let end = segment.endMs ?? segment.startMs { self.lastMs = max(self.lastMs ?? 0, end) }
    }

    /// Shares of speaking time when every segment had both times, otherwise shares of words; both 0
    /// without segments. Rounded to two decimals, summing to 1.
    public var talkRatio: TalkRatio {
        let (agent, customer) = self.allTimed && self.agentMs + self.customerMs > 0
            ? (self.agentMs, self.customerMs) : (self.agentWords, self.customerWords)
        guard agent + customer > 0 else { return TalkRatio(agent: 0, customer: 0) }
        let share = (Double(agent) / Double(agent + customer) * 100).rounded() / 100
        return TalkRatio(agent: share, customer: ((1 - share) * 100).rounded() / 100)
    }
}

/// Everything a coach may look at to write the next tip. Built by the conversation at the trigger.
public struct CoachingContext: Sendable {
    public var conversationID: String
    public var mode: ConversationMode
    public var trigger: TipTrigger
    /// The client's call metadata (`accountName`, `competitors`, ...), if any.
    public var metadata: JSONObject?
    /// Milliseconds since the conversation started.
    public var elapsedMs: Int
    /// The latest segments, oldest first (at most ``CoachingLimits/contextSegments``).
    public var recentSegments: [Segment]
    public var stats: TranscriptStats
    /// Earlier tips of this conversation, oldest first (at most the last ten).
    public var previousTips: [Tip]
    /// The option picked for the latest tip, if the rep picked one.
    public var lastPick: PickedOption?
    /// With `REQUEST_NEXT_TIP`: what the rep said and how the customer reacted.
    public var agentUtterance: String?
    public var customerReaction: String?

    public init(
        conversationID: String, mode: ConversationMode, trigger: TipTrigger, metadata: JSONObject? = nil,
        elapsedMs: Int, recentSegments: [Segment], stats: TranscriptStats, previousTips: [Tip] = [],
        lastPick: PickedOption? = nil, agentUtterance: String? = nil, customerReaction: String? = nil
    ) {
        self.conversationID = conversationID
        self.mode = mode
        self.trigger = trigger
        self.metadata = metadata
        self.elapsedMs = elapsedMs
        self.recentSegments = recentSegments
        self.stats = stats
        self.previousTips = previousTips
        self.lastPick = lastPick
        self.agentUtterance = agentUtterance
        self.customerReaction = customerReaction
    }
}

/// A tip and the option of it the rep picked.
public struct PickedOption: Sendable, Hashable {
    public var tip: Tip
    public var option: TipOption

    public init(tip: Tip, option: TipOption) {
        self.tip = tip
        self.option = option
    }
}

/// What a coach may look at to write the end-of-call notes.
public struct SummaryContext: Sendable {
    public var conversationID: String
    public var metadata: JSONObject?
    public var durationMs: Int
    public var stats: TranscriptStats
    /// The latest segments, oldest first (at most ``CoachingLimits/summarySegments``).
    public var recentSegments: [Segment]
    public var tips: [Tip]
    public var picks: [OptionPick]

    public init(conversationID: String, metadata: JSONObject?, durationMs: Int, stats: TranscriptStats, recentSegments: [Segment], tips: [Tip], picks: [OptionPick]) {
        self.conversationID = conversationID
        self.metadata = metadata
        self.durationMs = durationMs
        self.stats = stats
        self.recentSegments = recentSegments
        self.tips = tips
        self.picks = picks
    }
}

/// Writes tips and end-of-call notes. Two live here: ``RuleCoach`` (embedded, instant) and
/// ``LLMCoach`` (a language model, with the rule coach as its fallback).
///
/// Methods run in the caller's isolation (the conversation), so a coach that only computes never hops
/// threads and `partial` is called where the conversation can use it.
public protocol Coach: Sendable {
    /// Where this coach's tips come from.
    var source: TipSource { get }
    /// False while the coach would fail at once (an open circuit): the conversation goes to the fallback.
    var isAvailable: Bool { get }
    /// The next tip, or nil when there is nothing new worth saying. `partial` receives the suggestion
    /// written so far (cumulative), for coaches that stream.
    func tip(for context: CoachingContext, isolation: isolated (any Actor)?, partial: (String) -> Void) async throws -> TipDraft?
    /// Notes and action items for the end of the call.
    func summary(for context: SummaryContext, isolation: isolated (any Actor)?) async throws -> SummaryNotes
}

extension Coach {
    public var isAvailable: Bool { true }
}

/// Bounds on what the conversation keeps and hands to coaches.
public enum CoachingLimits {
    /// Segments kept in memory for tips.
    public static let contextSegments = 40
    /// Segments handed to the summary.
    public static let summarySegments = 120
}
