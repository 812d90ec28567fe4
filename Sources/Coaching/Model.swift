/// Who spoke a transcript segment.
public enum Speaker: String, Sendable, Hashable, CaseIterable {
    /// The sales rep Earpiece coaches.
    case agent
    /// The person the rep is selling to.
    case customer
}

/// One final transcript segment of a call, as the client sent it.
public struct Segment: Sendable, Hashable {
    public var id: String
    public var speaker: Speaker
    public var text: String
    /// Milliseconds from the start of the call, when the client knows them.
    public var startMs: Int?
    public var endMs: Int?

    public init(id: String, speaker: Speaker, text: String, startMs: Int? = nil, endMs: Int? = nil) {
        self.id = id
        self.speaker = speaker
        self.text = text
        self.startMs = startMs
        self.endMs = endMs
    }

    /// Speaking time when both ends are known (never negative, even for times the protocol would refuse).
    public var durationMs: Int? {
        guard let start = self.startMs, let end = self.endMs else { return nil }
        let (duration, overflow) = end.subtractingReportingOverflow(start)
        return overflow ? 0 : max(0, duration)
    }

    /// Whitespace-separated words: the fallback measure of speaking time.
    public var wordCount: Int {
        var count = 0
        var inWord = false
        for scalar in self.text.unicodeScalars {
            let isSpace = scalar == " " || scalar == "\n" || scalar == "\t" || scalar == "\r"
            if !isSpace && !inWord { count += 1 }
            inWord = !isSpace
        }
        return count
    }
}

/// How a conversation produces tips: on a timer, or when the rep asks.
public enum ConversationMode: String, Sendable, Hashable {
    case auto
    case event
}

/// What a tip is about. The wire names are the raw values.
public enum TipKind: String, Sendable, Hashable, CaseIterable {
    case objection
    case competitor
    case question
    case discovery
    case nextStep = "next_step"
    case closing
    case pacing
    case rapport
}

/// Where a tip came from.
public enum TipSource: String, Sendable, Hashable {
    case llm
    case rules
}

/// What started a tip.
public enum TipTrigger: String, Sendable, Hashable {
    /// The auto-mode timer.
    case auto
    /// `REQUEST_NEXT_TIP` (or the warm-up tick of event mode).
    case request
}

/// One thing the rep can say next.
public struct TipOption: Sendable, Hashable {
    /// Unique within its tip (`opt-1`, `opt-2`, ...).
    public var id: String
    /// 1 to 80 characters.
    public var label: String
    /// The words the rep can say, 1 to 600 characters.
    public var script: String

    public init(id: String, label: String, script: String) {
        self.id = id
        self.label = label
        self.script = script
    }
}

/// A tip as a coach writes it, before the conversation gives it an id and timing.
public struct TipDraft: Sendable, Hashable {
    public var kind: TipKind
    public var headline: String
    public var suggestion: String
    public var options: [TipOption]
    /// 0 to 1.
    public var confidence: Double
    /// The playbook entry or signal that produced a rule-based tip (for logs and for not repeating it).
    public var ruleID: String?

    public init(kind: TipKind, headline: String, suggestion: String, options: [TipOption], confidence: Double, ruleID: String? = nil) {
        self.kind = kind
        self.headline = headline
        self.suggestion = suggestion
        self.options = options
        self.confidence = confidence
        self.ruleID = ruleID
    }

    /// The draft with every field cut to the protocol's limits, options renumbered `opt-1`... and at most
    /// four of them, and confidence clamped to 0...1. Coaches may return anything; clients get this.
    public func normalized() -> TipDraft {
        var draft = self
        draft.headline = Self.clip(self.headline, to: 120, fallback: "Coaching tip")
        draft.suggestion = Self.clip(self.suggestion, to: 1000, fallback: draft.headline)
        draft.options = self.options.prefix(4).enumerated().map { index, option in
            TipOption(
                id: "opt-\(index + 1)",
                label: Self.clip(option.label, to: 80, fallback: "Option \(index + 1)"),
                script: Self.clip(option.script, to: 600, fallback: option.label)
            )
        }
        if draft.options.isEmpty {
            draft.options = [TipOption(id: "opt-1", label: "Go ahead", script: Self.clip(draft.suggestion, to: 600, fallback: "Go ahead"))]
        }
        draft.confidence = self.confidence.isFinite ? min(1, max(0, self.confidence)) : 0.5
        return draft
    }

    static func clip(_ text: String, to limit: Int, fallback: String) -> String {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return fallback.isEmpty ? "-" : String(fallback.unicodeScalars.prefix(limit)) }
        let scalars = trimmed.unicodeScalars
        if scalars.count <= limit { return trimmed }
        var cut = String(String.UnicodeScalarView(scalars.prefix(limit - 1)))
        cut.append("…")
        return cut
    }
}

/// A tip as sent to the client in `AI_TIP`.
public struct Tip: Sendable, Hashable {
    public var id: String
    public var draft: TipDraft
    public var source: TipSource
    /// From the trigger to the moment the tip was ready.
    public var latencyMs: Int
    public var trigger: TipTrigger
    public var requestID: String?
    public var lastSegmentID: String?

    public init(id: String, draft: TipDraft, source: TipSource, latencyMs: Int, trigger: TipTrigger, requestID: String?, lastSegmentID: String?) {
        self.id = id
        self.draft = draft
        self.source = source
        self.latencyMs = latencyMs
        self.trigger = trigger
        self.requestID = requestID
        self.lastSegmentID = lastSegmentID
    }
}

/// The option the rep picked for a tip.
public struct OptionPick: Sendable, Hashable {
    public var tipID: String
    public var optionID: String

    public init(tipID: String, optionID: String) {
        self.tipID = tipID
        self.optionID = optionID
    }
}

/// Shares of speaking time (or of words, when some segment lacks times), each 0 to 1.
public struct TalkRatio: Sendable, Hashable {
    public var agent: Double
    public var customer: Double

    public init(agent: Double, customer: Double) {
        self.agent = agent
        self.customer = customer
    }
}

/// Notes and action items for the end-of-call summary, written by a coach.
public struct SummaryNotes: Sendable, Hashable {
    public var notes: String
    public var actionItems: [String]

    public init(notes: String, actionItems: [String]) {
        self.notes = notes
        self.actionItems = actionItems
    }

    /// Cut to the protocol's limits: notes 4,000 characters, at most 20 action items of 1 to 500.
    public func normalized() -> SummaryNotes {
        SummaryNotes(
            notes: TipDraft.clip(self.notes, to: 4000, fallback: "No notes."),
            actionItems: self.actionItems.lazy
                .map { $0.trimmingWhitespace() }
                .filter { !$0.isEmpty }
                .prefix(20)
                .map { TipDraft.clip($0, to: 500, fallback: "-") }
        )
    }
}

/// `CONVERSATION_ENDED.summary`.
public struct ConversationSummary: Sendable, Hashable {
    public var durationMs: Int
    public var talkRatio: TalkRatio
    public var segments: Int
    public var tipsShown: Int
    public var optionsPicked: [OptionPick]
    public var notes: SummaryNotes
    public var source: TipSource

    public init(durationMs: Int, talkRatio: TalkRatio, segments: Int, tipsShown: Int, optionsPicked: [OptionPick], notes: SummaryNotes, source: TipSource) {
        self.durationMs = durationMs
        self.talkRatio = talkRatio
        self.segments = segments
        self.tipsShown = tipsShown
        self.optionsPicked = optionsPicked
        self.notes = notes
        self.source = source
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[first...last])
    }
}
