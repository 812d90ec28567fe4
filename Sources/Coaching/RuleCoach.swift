import JSON

/// The embedded, rule-based coach: the default when no language model is configured, and the fallback
/// when the model fails, is slow or its circuit is open.
///
/// A tip is pure computation over the ``CoachingContext`` (no clock, no I/O, no randomness), so the same
/// context always gives the same tip. The coach folds the recent transcript once, finds every playbook
/// phrase in one pass (``PhraseMatcher``), derives the live signals (talk ratio, monologue, silence,
/// open questions, next step, reactions), scores every candidate rule, and writes only the winner.
///
/// Choosing: each candidate has a base weight (a wrap-up without a next step outranks a buying signal,
/// which outranks an objection, ...). Phrase evidence loses 0.03 per utterance of age and 0.15 when an
/// earlier tip already saw it and chose something else, so the newest, most specific signal wins. A
/// rule used by one of the last three tips is skipped unless a newer segment triggered it again. The
/// rep's last pick shapes the next tip: a positive reaction moves to the next step or closing, a negative
/// one to another answer of the same objection, and otherwise the picked option's `followUp` is offered.
public struct RuleCoach: Coach {
    /// Where the coach's knowledge comes from.
    public let playbook: Playbook

    /// - Parameter playbook: the sales playbook; the embedded one by default.
    public init(playbook: Playbook = .standard) {
        self.playbook = playbook
    }

    /// Always ``TipSource/rules``.
    public var source: TipSource { .rules }

    /// The next tip, or nil when an automatic tick finds nothing new worth saying. A requested tip
    /// (``TipTrigger/request``) always gets one, at worst the playbook's fallback.
    public func tip(for context: CoachingContext) -> TipDraft? {
        var session = TipSession(playbook: self.playbook, context: context)
        return session.bestTip()
    }

    /// Notes and action items from the transcript, the tips and the picks: the objections and
    /// competitors raised, questions left open, the talk ratio, whether a next step was agreed, the
    /// options picked; action items from commitments ("I'll send ..."), open questions and a missing
    /// next step. Quotes are at most a few words.
    public func summary(for context: SummaryContext) -> SummaryNotes {
        SummaryWriter(playbook: self.playbook, context: context).notes().normalized()
    }

    /// ``Coach`` conformance: the synchronous ``tip(for:)``; `partial` is never called.
    public func tip(
        for context: CoachingContext,
        isolation: isolated (any Actor)?,
        partial: (String) -> Void
    ) async throws -> TipDraft? {
        self.tip(for: context)
    }

    /// ``Coach`` conformance: the synchronous ``summary(for:)``.
    public func summary(for context: SummaryContext, isolation: isolated (any Actor)?) async throws -> SummaryNotes {
        self.summary(for: context)
    }
}

// MARK: - Call metadata

/// What the client told about the call (`metadata`), cleaned for use in scripts.
struct CallFacts {
    var account: String?
    var agent: String?
    var product: String?
    var competitors: [String] = []
    var plannedDurationMinutes: Double?

    init(_ metadata: JSONObject?) {
        guard let metadata else { return }
        func text(_ key: String) -> String? {
            guard let value = metadata[key]?.stringValue?.trimmingWhitespace(), !value.isEmpty else { return nil }
            // Metadata is the client's: keep names short enough to sit in a headline.
            return value.unicodeScalars.count <= 60 ? value : nil
        }
        self.account = text("accountName")
        self.agent = text("agentName")
        self.product = text("product")
        if let names = metadata["competitors"]?.arrayValue {
            for name in names.prefix(20) {
                guard let name = name.stringValue?.trimmingWhitespace(), !name.isEmpty, name.unicodeScalars.count <= 64
                else { continue }
                self.competitors.append(name)
            }
        }
        if let minutes = metadata["plannedDurationMinutes"]?.doubleValue, minutes.isFinite, minutes > 0, minutes <= 1440
        {
            self.plannedDurationMinutes = minutes
        }
    }
}

extension CallFacts {
    /// A share as a whole percentage, clamped to 0...100 (stats built from odd segment times can hold
    /// any ratio, and `Int(_:)` traps on values out of range).
    static func percent(_ share: Double) -> Int {
        guard share.isFinite else { return 0 }
        return Int((min(1, max(0, share)) * 100).rounded())
    }
}

/// Values for a template's `{placeholders}`.
struct TemplateValues {
    var account = "your team"
    var agent = "you"
    var product = "our solution"
    var competitor = "the other vendor"
    var phrase = "that"
    var name = "this"
    var question = "a question"
    var topic = "that"
    var label = "your last answer"
    var share = "0"
    var seconds = "0"
    var minutes = "0"

    init(facts: CallFacts) {
        if let account = facts.account { self.account = account }
        if let agent = facts.agent { self.agent = agent }
        if let product = facts.product { self.product = product }
        if let competitor = facts.competitors.first { self.competitor = competitor }
    }

    func value(of name: Substring) -> String? {
        switch name {
        case "account": self.account
        case "agent": self.agent
        case "product": self.product
        case "competitor": self.competitor
        case "phrase": self.phrase
        case "name": self.name
        case "question": self.question
        case "topic": self.topic
        case "label": self.label
        case "share": self.share
        case "seconds": self.seconds
        case "minutes": self.minutes
        default: nil
        }
    }

    /// `template` with every known `{placeholder}` replaced and its first letter capitalised.
    func fill(_ template: String) -> String {
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var result = ""
        result.reserveCapacity(template.utf8.count + 32)
        var rest = Substring(template)
        var atStart = true
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}"),
                let value = self.value(of: rest[rest.index(after: open)..<close])
            else {
                result += "{"
                rest = rest[rest.index(after: open)...]
                continue
            }
            if atStart && result.isEmpty, let first = value.first {
                result += first.uppercased() + value.dropFirst()
            } else {
                result += value
            }
            atStart = false
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return result
    }
}

// MARK: - Choosing a tip

/// How a rule may repeat.
enum RepeatPolicy {
    /// Skipped while one of the last three tips used it, unless its evidence is newer than that tip.
    case newEvidence
    /// Skipped while one of the last `tips` tips used it.
    case notWithin(tips: Int)
    /// Never skipped (follow-ups, fallbacks).
    case always
}

/// What a candidate tip is made from; written only for the winner.
enum TipRecipe {
    /// An objection or competitor category, with the phrase that triggered it.
    case objection(category: Int, phrase: String, competitor: String?)
    /// Another answer for an objection the customer still pushes back on.
    case retry(category: Int, pickedLabel: String?)
    /// The follow-up of a picked option.
    case followUp(template: TipTemplate, option: Int)
    /// A template with values set by the rule.
    case template(TipTemplate, TemplateValues)
}

/// One rule's proposal, scored.
struct Candidate {
    var kind: TipKind
    var ruleID: String
    var score: Double
    var confidence: Double
    /// The utterance that triggered it (for freshness and repetition).
    var evidence: Int
    var policy: RepeatPolicy
    var recipe: TipRecipe
}

/// The work of one ``RuleCoach/tip(for:)`` call.
struct TipSession {
    let playbook: Playbook
    let context: CoachingContext
    let facts: CallFacts
    let analysis: TranscriptAnalysis
    /// The utterance index of the last tip's last segment, or -1.
    let lastTipPosition: Int
    /// The last three tips' rule ids and the position each had seen up to.
    let recentRules: [(ruleID: String, position: Int)]
    /// Every earlier tip's rule id.
    let allRules: [String]
    var candidates: [Candidate] = []

    /// Per utterance of age, phrase evidence loses this much.
    static let agePenalty = 0.03
    /// Evidence an earlier tip saw (and chose something else over) loses this much.
    static let stalePenalty = 0.15

    init(playbook: Playbook, context: CoachingContext) {
        self.playbook = playbook
        self.context = context
        self.facts = CallFacts(context.metadata)
        let segments = context.recentSegments.suffix(CoachingLimits.contextSegments)
        self.analysis = TranscriptAnalysis(
            playbook: playbook,
            segments: Array(segments),
            agentUtterance: context.agentUtterance.flatMap { $0.isEmpty ? nil : $0 },
            customerReaction: context.customerReaction.flatMap { $0.isEmpty ? nil : $0 },
            extraCompetitors: self.facts.competitors
        )
        func position(of tip: Tip) -> Int {
            guard let id = tip.lastSegmentID else { return -1 }
            // The window is small (40); search from the newest end, where a recent tip's segment is.
            return segments.lastIndex { $0.id == id }.map { $0 - segments.startIndex } ?? -1
        }
        self.lastTipPosition = context.previousTips.last.map(position(of:)) ?? -1
        self.recentRules = context.previousTips.suffix(3).compactMap { tip in
            tip.draft.ruleID.map { (Self.baseRule($0), position(of: tip)) }
        }
        self.allRules = context.previousTips.compactMap { $0.draft.ruleID.map(Self.baseRule) }
    }

    /// A rule id without its variant suffix (`objection.price+retry` is `objection.price`).
    static func baseRule(_ id: String) -> String {
        guard let plus = id.firstIndex(of: "+") else { return id }
        return String(id[..<plus])
    }

    var lastIndex: Int { self.analysis.utterances.count - 1 }
    var freshStart: Int { self.lastTipPosition + 1 }

    /// `base` less the age and staleness of `evidence`.
    func score(_ base: Double, evidence: Int) -> Double {
        var score = base - Self.agePenalty * Double(max(0, self.lastIndex - evidence))
        if evidence < self.freshStart { score -= Self.stalePenalty }
        return score
    }

    func isSuppressed(_ candidate: Candidate) -> Bool {
        let rule = Self.baseRule(candidate.ruleID)
        switch candidate.policy {
        case .always:
            return false
        case .newEvidence:
            return self.recentRules.contains { $0.ruleID == rule && candidate.evidence <= $0.position }
        case .notWithin(let tips):
            return self.allRules.suffix(tips).contains(rule)
        }
    }

    mutating func bestTip() -> TipDraft? {
        let thresholds = self.playbook.thresholds
        let utterances = self.analysis.utterances
        let agreed = self.analysis.nextStepAgreed().agreed
        let isRequest = self.context.trigger == .request
        let window = max(0, utterances.count - thresholds.evidenceWindow)..<utterances.count
        let nearWindow = max(0, utterances.count - 6)..<utterances.count

        if !utterances.isEmpty {
            self.addObjections(in: window)
            self.addQuestions(isRequest: isRequest)
            self.addPhraseRules(in: nearWindow, agreed: agreed)
            self.addReaction(agreed: agreed)
            self.addTiming()
        }
        self.addNearEnd(agreed: agreed)
        self.addFollowUp()
        self.addDiscovery(isRequest: isRequest, agreed: agreed)
        if isRequest {
            self.candidates.append(
                Candidate(
                    kind: .discovery,
                    ruleID: "fallback",
                    score: 0.05,
                    confidence: 0.3,
                    evidence: self.lastIndex,
                    policy: .always,
                    recipe: .template(self.playbook.fallback, TemplateValues(facts: self.facts))
                )
            )
        }
        // Highest score first; on a tie the rule added first (the more specific) wins.
        var best: Candidate? = nil
        for candidate in self.candidates where !self.isSuppressed(candidate) {
            if best == nil || candidate.score > best!.score { best = candidate }
        }
        guard let best else { return nil }
        return self.write(best)
    }

    // MARK: Rules

    /// Objection and competitor phrases in customer utterances of `window`.
    mutating func addObjections(in window: Range<Int>) {
        let analysis = self.analysis
        var newest: [Int: (utterance: Int, range: Range<Int>, count: Int)] = [:]
        var competitorName: (utterance: Int, name: String)? = nil
        let competitorCategory = self.playbook.competitorCategory
        for index in window where analysis.utterances[index].speaker == .customer {
            for hit in analysis.hits[analysis.utterances[index].hits] {
                switch hit.group {
                case .objectionTrigger:
                    let count = (newest[hit.index]?.count ?? 0) + 1
                    newest[hit.index] = (index, hit.range, count)
                case .competitorName:
                    let count = (newest[competitorCategory]?.count ?? 0) + 1
                    newest[competitorCategory] = (index, hit.range, count)
                    if hit.index < self.playbook.competitorNames.count {
                        competitorName = (index, self.playbook.competitorNames[hit.index].display)
                    }
                default:
                    break
                }
            }
        }
        for hit in analysis.metadataCompetitorHits where window.contains(hit.utterance) {
            if competitorName == nil || hit.utterance >= competitorName!.utterance { competitorName = hit }
            let previous = newest[competitorCategory]
            if previous == nil || previous!.utterance <= hit.utterance {
                // An empty range marks a metadata name: the quote is then the name itself.
                newest[competitorCategory] = (hit.utterance, 0..<0, (previous?.count ?? 0) + 1)
            }
        }
        // In playbook order: a dictionary's order changes from run to run, and ties go to the first added.
        for category in newest.keys.sorted() {
            let found = newest[category]!
            let objection = self.playbook.objections[category]
            let isCompetitor = objection.kind == .competitor
            let named = isCompetitor ? competitorName?.name : nil
            let phrase =
                found.range.isEmpty ? (named ?? objection.name) : analysis.phrase(found.range, in: found.utterance)
            let base = isCompetitor ? (competitorName?.utterance == found.utterance ? 0.85 : 0.78) : 0.80
            let confidence = min(
                0.95,
                (isCompetitor && named != nil ? 0.85 : 0.75) + 0.05 * Double(min(found.count - 1, 3))
            )
            // Raised again after a tip already handled it: the same card would be noise, so offer the
            // answers the rep has not used, under a "try another angle" headline.
            let raisedAgain = !isCompetitor && self.allRules.contains(objection.ruleID)
            let recipe: TipRecipe =
                raisedAgain
                ? .retry(category: category, pickedLabel: self.pickedLabel(forRule: objection.ruleID))
                : .objection(
                    category: category,
                    phrase: TranscriptAnalysis.shorten(phrase, maximumWords: 8),
                    competitor: named
                )
            self.candidates.append(
                Candidate(
                    kind: objection.kind,
                    ruleID: raisedAgain ? "\(objection.ruleID)+again" : objection.ruleID,
                    score: self.score(base, evidence: found.utterance),
                    confidence: confidence,
                    evidence: found.utterance,
                    policy: .newEvidence,
                    recipe: recipe
                )
            )
        }
    }

    /// Customer questions left unanswered, or just asked when the rep requests a tip.
    mutating func addQuestions(isRequest: Bool) {
        let analysis = self.analysis
        let window = max(0, analysis.utterances.count - 16)..<analysis.utterances.count
        let silenceMs = self.playbook.thresholds.silenceSeconds * 1000
        for question in analysis.openQuestions(in: window).reversed() {
            var base = 0.84
            if question.isPending {
                // Nobody has answered yet: worth a tip when the rep asks for help, or when the line has
                // gone quiet since (times must exist and agree with the conversation clock).
                guard question.utterance == analysis.utterances.lastIndex(where: { !$0.isVirtual }) else { continue }
                let end = analysis.utterances[question.utterance].endMs
                let waited = end.map { TranscriptAnalysis.difference(self.context.elapsedMs, $0) } ?? 0
                guard isRequest || (waited >= silenceMs && waited < 600_000) else { continue }
                base = 0.80
            }
            var values = TemplateValues(facts: self.facts)
            values.question = analysis.quote(question.sentence.range, in: question.utterance, maximumWords: 12)
            if !values.question.hasSuffix("?") && !values.question.hasSuffix("…") { values.question += "?" }
            values.topic = analysis.topic(of: question.sentence, in: question.utterance)
            self.candidates.append(
                Candidate(
                    kind: .question,
                    ruleID: "question.unanswered",
                    score: self.score(base, evidence: question.utterance),
                    confidence: question.isPending ? 0.7 : 0.75,
                    evidence: question.utterance,
                    policy: .newEvidence,
                    recipe: .template(self.playbook.unansweredQuestion, values)
                )
            )
            // The newest open question is the one to raise.
            break
        }
    }

    /// Wrap-up cues, buying signals and emotion in the latest utterances.
    mutating func addPhraseRules(in window: Range<Int>, agreed: Bool) {
        let analysis = self.analysis
        var wrapUp: (Int, Range<Int>)? = nil
        var buying: (Int, Range<Int>)? = nil
        var rapport: (Int, Range<Int>)? = nil
        for index in window {
            let isCustomer = analysis.utterances[index].speaker == .customer
            for hit in analysis.hits[analysis.utterances[index].hits] {
                switch hit.group {
                case .wrapUp: wrapUp = (index, hit.range)
                case .buyingSignal where isCustomer: buying = (index, hit.range)
                case .rapport where isCustomer: rapport = (index, hit.range)
                default: break
                }
            }
        }
        if let (index, range) = wrapUp {
            var values = TemplateValues(facts: self.facts)
            values.phrase = analysis.phrase(range, in: index)
            if !agreed {
                self.candidates.append(
                    Candidate(
                        kind: .nextStep,
                        ruleID: "next_step.wrap_up",
                        score: self.score(0.90, evidence: index),
                        confidence: 0.8,
                        evidence: index,
                        policy: .newEvidence,
                        recipe: .template(self.playbook.nextSteps.wrapUp, values)
                    )
                )
            } else {
                self.candidates.append(
                    Candidate(
                        kind: .closing,
                        ruleID: "closing.confirm",
                        score: self.score(0.55, evidence: index),
                        confidence: 0.6,
                        evidence: index,
                        policy: .notWithin(tips: 3),
                        recipe: .template(self.playbook.confirmClosing, values)
                    )
                )
            }
        }
        if let (index, range) = buying {
            var values = TemplateValues(facts: self.facts)
            values.phrase = analysis.phrase(range, in: index)
            self.candidates.append(
                Candidate(
                    kind: .closing,
                    ruleID: "closing.buying_signal",
                    score: self.score(0.86, evidence: index),
                    confidence: 0.8,
                    evidence: index,
                    policy: .newEvidence,
                    recipe: .template(self.playbook.closing, values)
                )
            )
        }
        if let (index, range) = rapport {
            var values = TemplateValues(facts: self.facts)
            values.phrase = analysis.phrase(range, in: index)
            self.candidates.append(
                Candidate(
                    kind: .rapport,
                    ruleID: "rapport.emotion",
                    score: self.score(0.70, evidence: index),
                    confidence: 0.65,
                    evidence: index,
                    policy: .newEvidence,
                    recipe: .template(self.playbook.rapport, values)
                )
            )
        }
    }

    /// How the customer took the rep's last move: the request's `customerReaction`, or a reaction phrase
    /// in a customer utterance since the last tip when that tip asked for a move (an objection, a
    /// competitor, a question, a next step or a close) or the rep picked an option.
    mutating func addReaction(agreed: Bool) {
        let analysis = self.analysis
        let lastTip = self.context.previousTips.last
        let movingKinds: Set<TipKind> = [.objection, .competitor, .question, .nextStep, .closing]
        var source: Int? = nil
        if let last = analysis.utterances.indices.last, analysis.utterances[last].isVirtual,
            analysis.utterances[last].speaker == .customer
        {
            source = last
        } else if let lastTip, self.context.lastPick != nil || movingKinds.contains(lastTip.draft.kind) {
            source = analysis.utterances.indices.last { index in
                index >= self.freshStart && analysis.utterances[index].speaker == .customer
                    && (analysis.has(.positive, in: index) || analysis.has(.negative, in: index))
            }
        }
        guard let source else { return }
        let negative = analysis.has(.negative, in: source)
        let positive = !negative && analysis.has(.positive, in: source)
        if positive {
            let values = TemplateValues(facts: self.facts)
            if !agreed {
                self.candidates.append(
                    Candidate(
                        kind: .nextStep,
                        ruleID: "next_step.momentum",
                        score: self.score(0.79, evidence: source),
                        confidence: 0.7,
                        evidence: source,
                        policy: .newEvidence,
                        recipe: .template(self.playbook.nextSteps.momentum, values)
                    )
                )
            } else {
                self.candidates.append(
                    Candidate(
                        kind: .closing,
                        ruleID: "closing.confirm",
                        score: self.score(0.70, evidence: source),
                        confidence: 0.6,
                        evidence: source,
                        policy: .notWithin(tips: 3),
                        recipe: .template(self.playbook.confirmClosing, values)
                    )
                )
            }
        } else if negative, let lastTip, lastTip.draft.kind == .objection || lastTip.draft.kind == .competitor,
            let category = self.objectionCategory(of: lastTip)
        {
            let picked = self.context.lastPick.flatMap { $0.tip.id == lastTip.id ? $0.option.label : nil }
            self.candidates.append(
                Candidate(
                    kind: lastTip.draft.kind,
                    ruleID: "\(self.playbook.objections[category].ruleID)+retry",
                    score: self.score(0.83, evidence: source),
                    confidence: 0.7,
                    evidence: source,
                    policy: .always,
                    recipe: .retry(category: category, pickedLabel: picked)
                )
            )
        }
    }

    /// Monologue, talk ratio and silence.
    mutating func addTiming() {
        let thresholds = self.playbook.thresholds
        let analysis = self.analysis
        let lastReal = analysis.utterances.lastIndex { !$0.isVirtual }
        if let monologue = analysis.newestMonologue(thresholdMs: thresholds.monologueSeconds * 1000),
            monologue.last >= self.freshStart
        {
            var values = TemplateValues(facts: self.facts)
            values.seconds = String(monologue.milliseconds / 1000)
            let ongoing = monologue.last == lastReal
            self.candidates.append(
                Candidate(
                    kind: .pacing,
                    ruleID: "pacing.monologue",
                    score: self.score(ongoing ? 0.82 : 0.76, evidence: monologue.last),
                    confidence: 0.85,
                    evidence: monologue.last,
                    policy: .newEvidence,
                    recipe: .template(self.playbook.pacing.monologue, values)
                )
            )
        }

        let stats = self.context.stats
        let talkMs = stats.agentMs + stats.customerMs
        if stats.segments >= thresholds.minimumSegments
            || (stats.allTimed && talkMs > thresholds.minimumTalkSeconds * 1000)
        {
            let share = stats.talkRatio.agent
            let high = share > thresholds.talkRatioHigh
            if high || share < thresholds.talkRatioLow {
                var values = TemplateValues(facts: self.facts)
                values.share = String(CallFacts.percent(share))
                self.candidates.append(
                    Candidate(
                        kind: .pacing,
                        ruleID: high ? "pacing.talk_ratio.high" : "pacing.talk_ratio.low",
                        score: high ? 0.55 : 0.45,
                        confidence: high ? 0.75 : 0.6,
                        evidence: self.lastIndex,
                        policy: .notWithin(tips: 3),
                        recipe: .template(
                            high ? self.playbook.pacing.talkingTooMuch : self.playbook.pacing.talkingTooLittle,
                            values
                        )
                    )
                )
            }
        }

        let silenceMs = thresholds.silenceSeconds * 1000
        var silence: (utterance: Int, milliseconds: Int, base: Double)? = nil
        if let gap = analysis.newestGap(thresholdMs: silenceMs), gap.utterance >= self.freshStart {
            silence = (gap.utterance, gap.milliseconds, 0.65)
        }
        // Quiet since the last segment: only well past a long utterance's length (a segment arrives when
        // it ends, so a speaker mid-sentence looks silent), and only when the clocks plausibly agree.
        if let lastReal, let end = analysis.utterances[lastReal].endMs {
            let quiet = TranscriptAnalysis.difference(self.context.elapsedMs, end)
            if quiet >= 2 * silenceMs, quiet < 600_000, silence == nil || silence!.utterance < lastReal {
                silence = (lastReal, quiet, 0.60)
            }
        }
        if let silence {
            var values = TemplateValues(facts: self.facts)
            values.seconds = String(silence.milliseconds / 1000)
            self.candidates.append(
                Candidate(
                    kind: .pacing,
                    ruleID: "pacing.silence",
                    score: self.score(silence.base, evidence: silence.utterance),
                    confidence: 0.6,
                    evidence: silence.utterance,
                    policy: .newEvidence,
                    recipe: .template(self.playbook.pacing.silence, values)
                )
            )
        }
    }

    /// No next step late in the call: past `nearEndFraction` of `metadata.plannedDurationMinutes`, or past
    /// `longCallMinutes` without a plan.
    mutating func addNearEnd(agreed: Bool) {
        guard !agreed else { return }
        let thresholds = self.playbook.thresholds
        let elapsedMinutes = Double(self.context.elapsedMs) / 60_000
        let nearEnd: Bool
        if let planned = self.facts.plannedDurationMinutes {
            nearEnd = elapsedMinutes >= planned * thresholds.nearEndFraction
        } else {
            nearEnd = elapsedMinutes >= Double(thresholds.longCallMinutes)
        }
        guard nearEnd else { return }
        var values = TemplateValues(facts: self.facts)
        values.minutes = String(Int(elapsedMinutes))
        self.candidates.append(
            Candidate(
                kind: .nextStep,
                ruleID: "next_step.near_end",
                score: 0.72,
                confidence: 0.7,
                evidence: self.lastIndex,
                policy: .notWithin(tips: 10),
                recipe: .template(self.playbook.nextSteps.nearEnd, values)
            )
        )
    }

    /// The follow-up of the option the rep picked for the latest tip.
    mutating func addFollowUp() {
        guard let pick = self.context.lastPick, let ruleID = pick.tip.draft.ruleID,
            let template = self.template(forRule: ruleID)
        else { return }
        let optionIndex =
            template.options.firstIndex { $0.label.lowercased() == pick.option.label.lowercased() }
            ?? Self.optionNumber(pick.option.id).flatMap { template.options.indices.contains($0) ? $0 : nil }
        guard let optionIndex, template.options[optionIndex].followUp != nil else { return }
        self.candidates.append(
            Candidate(
                kind: pick.tip.draft.kind,
                ruleID: "\(Self.baseRule(ruleID))+follow_up",
                score: 0.62,
                confidence: 0.65,
                evidence: self.lastIndex,
                policy: .always,
                recipe: .followUp(template: template, option: optionIndex)
            )
        )
    }

    /// The first discovery topic the rep has not asked about and no tip suggested yet. On automatic
    /// ticks it waits until the last tip was something else or the call moved on (six new utterances),
    /// so discovery does not crowd out every tick.
    mutating func addDiscovery(isRequest: Bool, agreed: Bool) {
        guard !agreed else { return }
        if !isRequest, let last = self.context.previousTips.last, last.draft.kind == .discovery,
            self.lastIndex - self.lastTipPosition < 6
        {
            return
        }
        let covered = Set(self.analysis.coveredDiscoveryTopics())
        let suggested = Set(self.allRules)
        for (index, topic) in self.playbook.discovery.enumerated()
        where !covered.contains(index) && !suggested.contains(topic.ruleID) {
            self.candidates.append(
                Candidate(
                    kind: .discovery,
                    ruleID: topic.ruleID,
                    score: isRequest ? 0.35 : 0.30,
                    confidence: 0.55,
                    evidence: self.lastIndex,
                    policy: .notWithin(tips: 10),
                    recipe: .template(topic.tip, TemplateValues(facts: self.facts))
                )
            )
            return
        }
    }

    // MARK: Writing

    /// The template a rule id was written from, to find a picked option's follow-up.
    func template(forRule ruleID: String) -> TipTemplate? {
        let rule = Self.baseRule(ruleID)
        if let category = self.playbook.objections.first(where: { $0.ruleID == rule }) { return category.tip }
        if let topic = self.playbook.discovery.first(where: { $0.ruleID == rule }) { return topic.tip }
        switch rule {
        case "question.unanswered": return self.playbook.unansweredQuestion
        case "next_step.wrap_up": return self.playbook.nextSteps.wrapUp
        case "next_step.near_end": return self.playbook.nextSteps.nearEnd
        case "next_step.momentum": return self.playbook.nextSteps.momentum
        case "closing.buying_signal": return self.playbook.closing
        case "closing.confirm": return self.playbook.confirmClosing
        case "rapport.emotion": return self.playbook.rapport
        case "pacing.monologue": return self.playbook.pacing.monologue
        case "pacing.talk_ratio.high": return self.playbook.pacing.talkingTooMuch
        case "pacing.talk_ratio.low": return self.playbook.pacing.talkingTooLittle
        case "pacing.silence": return self.playbook.pacing.silence
        case "fallback": return self.playbook.fallback
        default: return nil
        }
    }

    /// The label the rep picked on the latest tip, when that tip was written by `ruleID`.
    func pickedLabel(forRule ruleID: String) -> String? {
        guard let pick = self.context.lastPick, let pickedRule = pick.tip.draft.ruleID,
            Self.baseRule(pickedRule) == Self.baseRule(ruleID)
        else { return nil }
        return pick.option.label
    }

    func objectionCategory(of tip: Tip) -> Int? {
        guard let ruleID = tip.draft.ruleID else {
            return tip.draft.kind == .competitor ? self.playbook.competitorCategory : nil
        }
        let rule = Self.baseRule(ruleID)
        return self.playbook.objections.firstIndex { $0.ruleID == rule }
    }

    /// `opt-3` is option index 2.
    static func optionNumber(_ id: String) -> Int? {
        guard id.hasPrefix("opt-"), let number = Int(id.dropFirst(4)), number >= 1 else { return nil }
        return number - 1
    }

    func write(_ candidate: Candidate) -> TipDraft {
        var values = TemplateValues(facts: self.facts)
        let headline: String
        let suggestion: String
        var options: [TipOption] = []
        func add(_ label: String, _ script: String) {
            guard options.count < 3 else { return }
            options.append(
                TipOption(id: "opt-\(options.count + 1)", label: values.fill(label), script: values.fill(script))
            )
        }
        switch candidate.recipe {
        case .objection(let category, let phrase, let competitor):
            let objection = self.playbook.objections[category]
            values.phrase = phrase
            values.name = objection.name
            if let competitor { values.competitor = competitor }
            headline = values.fill(objection.tip.headline)
            suggestion = values.fill(objection.tip.suggestion)
            for answer in objection.tip.options { add(answer.label, answer.script) }
        case .retry(let category, let pickedLabel):
            let objection = self.playbook.objections[category]
            values.name = objection.name
            if let pickedLabel { values.label = pickedLabel }
            headline = values.fill(self.playbook.objectionRetry.headline)
            suggestion = values.fill(self.playbook.objectionRetry.suggestion)
            var answers = objection.tip.options.filter { $0.label.lowercased() != pickedLabel?.lowercased() }
            if pickedLabel == nil, answers.count > 1 {
                // Nothing picked: lead with a different answer than the first tip did.
                answers.append(answers.removeFirst())
            }
            for answer in answers { add(answer.label, answer.script) }
        case .followUp(let template, let optionIndex):
            let picked = template.options[optionIndex]
            values.label = values.fill(picked.label)
            let followUp = picked.followUp!
            headline = values.fill(self.playbook.followUpHeadline)
            suggestion = values.fill(followUp.suggestion)
            add(TranscriptAnalysis.shorten("Continue: \(values.label)", maximumWords: 10), followUp.script)
            for (index, option) in template.options.enumerated() where index != optionIndex {
                add(option.label, option.script)
            }
        case .template(let template, let ruleValues):
            values = ruleValues
            headline = values.fill(template.headline)
            suggestion = values.fill(template.suggestion)
            for option in template.options { add(option.label, option.script) }
        }
        return TipDraft(
            kind: candidate.kind,
            headline: headline,
            suggestion: suggestion,
            options: options,
            confidence: (candidate.confidence * 100).rounded() / 100,
            ruleID: candidate.ruleID
        ).normalized()
    }
}

// MARK: - Summary

/// The work of one ``RuleCoach/summary(for:)`` call.
struct SummaryWriter {
    let playbook: Playbook
    let context: SummaryContext
    let facts: CallFacts
    let analysis: TranscriptAnalysis

    init(playbook: Playbook, context: SummaryContext) {
        self.playbook = playbook
        self.context = context
        self.facts = CallFacts(context.metadata)
        self.analysis = TranscriptAnalysis(
            playbook: playbook,
            segments: Array(context.recentSegments.suffix(CoachingLimits.summarySegments)),
            agentUtterance: nil,
            customerReaction: nil,
            extraCompetitors: self.facts.competitors
        )
    }

    /// Words skipped at the start of a commitment ("I'll send" becomes "Send ...").
    static let commitmentOpeners = TranscriptAnalysis.hashes([
        "i'll", "i", "will", "we'll", "we", "let", "me", "can", "i'd", "shall",
    ])

    func notes() -> SummaryNotes {
        let analysis = self.analysis
        var parts: [String] = []
        var actions: [String] = []
        let stats = self.context.stats
        let thresholds = self.playbook.thresholds

        if stats.segments == 0 || analysis.utterances.isEmpty {
            parts.append("No transcript was received.")
        } else {
            let ratio = stats.talkRatio
            let agent = CallFacts.percent(ratio.agent)
            let customer = CallFacts.percent(ratio.customer)
            let low = CallFacts.percent(thresholds.talkRatioLow)
            let high = CallFacts.percent(thresholds.talkRatioHigh)
            var talk = "Talk ratio: agent \(agent)%, customer \(customer)% (target \(low)–\(high)%)"
            if ratio.agent > thresholds.talkRatioHigh {
                talk += "; the rep talked more than the target"
            } else if ratio.agent < thresholds.talkRatioLow {
                talk += "; the rep talked less than the target"
            }
            parts.append(talk + ".")
        }

        // Objections and competitors.
        var objectionNotes: [String] = []
        var genericCompetitorPhrase: String? = nil
        var competitorNames: [String] = []
        var seenCategories = Set<Int>()
        for index in analysis.utterances.indices where analysis.utterances[index].speaker == .customer {
            for hit in analysis.hits[analysis.utterances[index].hits] {
                switch hit.group {
                case .objectionTrigger:
                    let category = self.playbook.objections[hit.index]
                    if category.kind == .competitor {
                        if genericCompetitorPhrase == nil {
                            genericCompetitorPhrase = analysis.phrase(hit.range, in: index)
                        }
                    } else if seenCategories.insert(hit.index).inserted {
                        let phrase = TranscriptAnalysis.shorten(analysis.phrase(hit.range, in: index), maximumWords: 6)
                        objectionNotes.append("\(category.name) (“\(phrase)”)")
                    }
                case .competitorName:
                    if hit.index < self.playbook.competitorNames.count {
                        let name = self.playbook.competitorNames[hit.index].display
                        if !competitorNames.contains(name) { competitorNames.append(name) }
                    }
                default:
                    break
                }
            }
        }
        for hit in analysis.metadataCompetitorHits where !competitorNames.contains(hit.name) {
            competitorNames.append(hit.name)
        }
        if !objectionNotes.isEmpty {
            parts.append("Objections raised: \(objectionNotes.joined(separator: ", ")).")
        } else if !analysis.utterances.isEmpty {
            parts.append("No objections detected.")
        }
        if !competitorNames.isEmpty {
            parts.append("Competitors mentioned: \(competitorNames.joined(separator: ", ")).")
        } else if let phrase = genericCompetitorPhrase {
            parts.append("A competing option came up (“\(TranscriptAnalysis.shorten(phrase, maximumWords: 6))”).")
        }

        // Questions left open.
        let open = analysis.openQuestions(in: analysis.utterances.indices)
        if !open.isEmpty {
            let quotes = open.prefix(2).map { question in
                var quote = analysis.quote(question.sentence.range, in: question.utterance, maximumWords: 10)
                if !quote.hasSuffix("…") { quote += "?" }
                return "“\(quote)”"
            }
            let more = open.count > 2 ? " and \(open.count - 2) more" : ""
            parts.append("Customer questions left open: \(open.count) (\(quotes.joined(separator: ", "))\(more)).")
            for question in open.prefix(3) {
                actions.append(
                    "Answer the open question about \(analysis.topic(of: question.sentence, in: question.utterance))"
                )
            }
        }

        // Pacing.
        if let monologue = analysis.newestMonologue(thresholdMs: thresholds.monologueSeconds * 1000) {
            parts.append("The rep spoke for \(monologue.milliseconds / 1000) s without a customer turn.")
        }

        // Discovery.
        let coveredTopics = analysis.coveredDiscoveryTopics()
        let coveredSet = Set(coveredTopics)
        let covered = coveredTopics.map { self.playbook.discovery[$0].topic }
        if !covered.isEmpty {
            let missing = self.playbook.discovery.indices.filter { !coveredSet.contains($0) }.prefix(3).map {
                self.playbook.discovery[$0].topic
            }
            var line = "Discovery covered: \(covered.joined(separator: ", "))"
            if !missing.isEmpty { line += "; not covered: \(missing.joined(separator: ", "))" }
            parts.append(line + ".")
        }

        // Next step.
        let agreed = analysis.nextStepAgreed()
        if agreed.agreed {
            parts.append("A next step was agreed.")
        } else if !analysis.utterances.isEmpty {
            parts.append("No next step was agreed.")
            actions.append("Agree a next step with \(self.facts.account ?? "the customer")")
        }

        // Tips and picks.
        let tips = self.context.tips
        if !tips.isEmpty {
            var kinds: [String] = []
            for tip in tips {
                let kind = tip.draft.kind.rawValue.replacingUnderscores()
                if !kinds.contains(kind) { kinds.append(kind) }
            }
            parts.append("\(tips.count) tip\(tips.count == 1 ? "" : "s") shown (\(kinds.joined(separator: ", "))).")
            var picked: [String] = []
            for pick in self.context.picks {
                guard let tip = tips.first(where: { $0.id == pick.tipID }),
                    let option = tip.draft.options.first(where: { $0.id == pick.optionID })
                else { continue }
                picked.append("“\(option.label)” (\(tip.draft.kind.rawValue.replacingUnderscores()))")
            }
            parts.append(picked.isEmpty ? "No options picked." : "Options picked: \(picked.joined(separator: ", ")).")
        }

        // Commitments become action items, before the generic ones.
        var commitments: [String] = []
        for index in analysis.utterances.indices {
            let speaker = analysis.utterances[index].speaker
            let group: PhraseGroup = speaker == .agent ? .agentCommitment : .customerCommitment
            var usedSentences: [Range<Int>] = []
            let sentences = analysis.sentences(of: index)
            for hit in analysis.hits(of: index, in: group) {
                guard let sentence = sentences.first(where: { $0.range.contains(hit.range.lowerBound) }),
                    !usedSentences.contains(sentence.range)
                else { continue }
                usedSentences.append(sentence.range)
                guard let item = self.commitment(hit: hit, sentence: sentence, in: index) else { continue }
                commitments.append(
                    speaker == .agent ? item : "Customer will \(item.prefix(1).lowercased())\(item.dropFirst())"
                )
            }
        }
        var items: [String] = []
        var seen = Set<String>()
        for item in commitments + actions where seen.insert(item.lowercased()).inserted {
            items.append(item)
        }
        return SummaryNotes(notes: parts.joined(separator: " "), actionItems: Array(items.prefix(20)))
    }

    /// "I'll send it by Thursday." becomes "Send it by Thursday": the sentence from the commitment's
    /// verb on, in the speaker's spelling, at most 14 words.
    func commitment(hit: PhraseHit, sentence: Sentence, in index: Int) -> String? {
        let analysis = self.analysis
        var verbStart: Int? = nil
        analysis.withBytes(hit.range) { text in
            TranscriptAnalysis.forEachWord(text) { hash, word in
                if Self.commitmentOpeners.contains(hash) { return true }
                verbStart = hit.range.lowerBound + word.lowerBound
                return false
            }
        }
        guard let verbStart, verbStart < sentence.range.upperBound else { return nil }
        var text = analysis.originalString(verbStart..<sentence.range.upperBound, in: index)
        while let last = text.last, last == "." || last == "!" || last == "," || last == ";" { text.removeLast() }
        text = TranscriptAnalysis.shorten(text, maximumWords: 14)
        guard text.unicodeScalars.count >= 3, let first = text.first else { return nil }
        return first.uppercased() + text.dropFirst()
    }
}

extension String {
    /// `next_step` as `next step`, for notes.
    func replacingUnderscores() -> String {
        String(self.map { $0 == "_" ? " " : $0 })
    }
}
