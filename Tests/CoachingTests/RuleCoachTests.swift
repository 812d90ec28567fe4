import Foundation
import JSON
import Testing

@testable import Coaching
import TestKit

/// A call written line by line, with realistic times: 400 ms a word and half a second between turns
/// unless a line says otherwise.
struct CallScript {
    var segments: [Segment] = []
    var clockMs = 1_000

    mutating func say(_ speaker: Speaker, _ text: String, pauseMs: Int = 500, durationMs: Int? = nil) {
        let words = text.split(separator: " ").count
        let start = self.clockMs + pauseMs
        let end = start + (durationMs ?? max(1, words) * 400)
        self.segments.append(
            Segment(id: "seg-\(self.segments.count + 1)", speaker: speaker, text: text, startMs: start, endMs: end)
        )
        self.clockMs = end
    }

    mutating func agent(_ text: String, pauseMs: Int = 500, durationMs: Int? = nil) {
        self.say(.agent, text, pauseMs: pauseMs, durationMs: durationMs)
    }

    mutating func customer(_ text: String, pauseMs: Int = 500, durationMs: Int? = nil) {
        self.say(.customer, text, pauseMs: pauseMs, durationMs: durationMs)
    }

    var stats: TranscriptStats {
        var stats = TranscriptStats()
        for segment in self.segments { stats.add(segment) }
        return stats
    }

    /// A context at the end of the script (the conversation clock half a second after the last segment).
    func context(
        trigger: TipTrigger = .auto,
        elapsedMs: Int? = nil,
        metadata: JSONObject? = nil,
        previousTips: [Tip] = [],
        lastPick: PickedOption? = nil,
        agentUtterance: String? = nil,
        customerReaction: String? = nil
    ) -> CoachingContext {
        CoachingContext(
            conversationID: "c_test",
            mode: trigger == .auto ? .auto : .event,
            trigger: trigger,
            metadata: metadata,
            elapsedMs: elapsedMs ?? self.clockMs + 500,
            recentSegments: Array(self.segments.suffix(CoachingLimits.contextSegments)),
            stats: self.stats,
            previousTips: previousTips,
            lastPick: lastPick,
            agentUtterance: agentUtterance,
            customerReaction: customerReaction
        )
    }

    /// A balanced opening: eight short turns, both sides about equal, no cue of any kind.
    static var opening: CallScript {
        var script = CallScript()
        script.agent("Hi Dana, thanks for joining the call today.")
        script.customer("Happy to be here, thanks for having me on.")
        script.agent("Could you tell me a little about your team and its work?")
        script.customer("We run support for a regional logistics company with twelve agents.")
        script.agent("Twelve agents, got it. And how is ticket volume trending this year?")
        script.customer("It grew a lot since spring because we added two new lanes.")
        script.agent("That makes sense with the new lanes coming online this spring.")
        script.customer("Yes, and the agents are working longer shifts to keep up.")
        return script
    }
}

/// A tip as the conversation would record it, seen up to the script's last segment.
func recordedTip(_ draft: TipDraft, id: String = "tip-1", lastSegmentID: String?) -> Tip {
    Tip(
        id: id,
        draft: draft,
        source: .rules,
        latencyMs: 1,
        trigger: .auto,
        requestID: nil,
        lastSegmentID: lastSegmentID
    )
}

@Suite("Rule coach: objections and competitors")
struct RuleCoachObjectionTests {
    let coach = RuleCoach()

    static let objectionSnippets: [(id: String, text: String)] = [
        ("price", "Honestly, that's a lot more than we expected for twelve seats."),
        ("price", "It's too expensive for us at the moment."),
        ("timing", "It's not a priority right now, we're in the middle of a migration."),
        ("timing", "Can we revisit this in a few months once things settle down?"),
        ("competitor", "To be fair, we're also looking at two other vendors."),
        ("authority", "I'd have to run it by my CFO before anything happens."),
        ("authority", "That's not my decision in the end, procurement owns it."),
        ("need", "Honestly, we're fine with spreadsheets, I'm not sure we need this."),
        ("trust", "How do we know you'll still be around in two years?"),
        ("trust", "We got burned before by a vendor that promised the same thing."),
        ("implementation", "We just don't have the bandwidth for another rollout this year."),
    ]

    @Test("each objection category triggers on a realistic customer line", arguments: objectionSnippets)
    func objectionTriggers(snippet: (id: String, text: String)) throws {
        var script = CallScript.opening
        script.customer(snippet.text)
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID == "objection.\(snippet.id)", "\(tip.headline)")
        #expect(tip.kind == (snippet.id == "competitor" ? .competitor : .objection))
        #expect((2...3).contains(tip.options.count))
        #expect(tip.confidence >= 0.75)
    }

    static let nearMisses: [String] = [
        "The reporting alone is priceless, and the prices page was clear.",
        "It looked inexpensive to run, which is nice.",
        "We shipped it last quarter and the timing worked out well.",
        "We looked at the dashboards together last week.",
        "I signed off on the last rollout myself.",
        "We really need better reporting for the leads.",
        "We trust the team that built the current setup.",
        "The bandwidth numbers from the network team looked fine.",
    ]

    @Test("near-miss lines trigger no objection (whole words only)", arguments: nearMisses)
    func nearMissesDoNotTrigger(text: String) {
        var script = CallScript.opening
        script.customer(text)
        let rule = self.coach.tip(for: script.context())?.ruleID ?? "none"
        #expect(!rule.hasPrefix("objection."), "\(rule)")
    }

    @Test("an objection said by the agent does not count as the customer's")
    func agentObjectionWordsDoNotTrigger() {
        var script = CallScript.opening
        script.agent("Some teams tell us it's too expensive until they see the numbers.")
        let rule = self.coach.tip(for: script.context())?.ruleID ?? "none"
        #expect(!rule.hasPrefix("objection."), "\(rule)")
    }

    @Test("a competitor from metadata is named in the tip and its scripts")
    func metadataCompetitorIsNamed() throws {
        var script = CallScript.opening
        script.customer("Acme Desk quoted us quite a bit less last week.")
        let metadata: JSONObject = ["accountName": "Carrow Freight", "competitors": ["Acme Desk", "Helpwise"]]
        let tip = try #require(self.coach.tip(for: script.context(metadata: metadata)))
        #expect(tip.kind == .competitor)
        #expect(tip.headline.hasPrefix("Acme Desk in play"))
        #expect(tip.options.contains { $0.script.contains("Acme Desk") })
        #expect(tip.suggestion.contains("Carrow Freight"))
        // Without the metadata the same line names nothing the coach knows.
        let plain = self.coach.tip(for: script.context())
        #expect(plain?.kind != .competitor)
    }

    @Test("a competitor name matches whole words only and ignores case")
    func metadataCompetitorWholeWords() {
        var script = CallScript.opening
        script.customer("We use gongfu breathing in our stand-ups, nothing else.")
        let metadata: JSONObject = ["competitors": ["Gong"]]
        #expect(self.coach.tip(for: script.context(metadata: metadata))?.kind != .competitor)
        script.customer("We already record everything with GONG.")
        #expect(self.coach.tip(for: script.context(metadata: metadata))?.kind == .competitor)
    }

    @Test("the newest objection wins over an older one")
    func newestObjectionWins() throws {
        var script = CallScript.opening
        script.customer("We're also talking to another vendor about this.")
        script.agent("Understood, thanks for telling me.")
        script.customer("And the price is too high for what we need right now.")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID == "objection.price")
    }

    @Test("an objection phrase in the request's customerReaction triggers the objection")
    func reactionObjection() throws {
        let script = CallScript.opening
        let tip = try #require(
            self.coach.tip(
                for: script.context(trigger: .request, customerReaction: "Said it's over budget for this year.")
            )
        )
        #expect(tip.ruleID == "objection.price")
    }
}

@Suite("Rule coach: live signals")
struct RuleCoachSignalTests {
    let coach = RuleCoach()

    @Test("agent talk share above 60% after enough talk gives a pacing tip")
    func talkRatioHigh() throws {
        var script = CallScript()
        for index in 0..<5 {
            script.agent(
                "Let me walk you through the next part of the platform and all of the reporting features in detail, number \(index)."
            )
            script.customer("Okay.")
        }
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID == "pacing.talk_ratio.high")
        #expect(tip.headline.contains("%"))
    }

    @Test("a lopsided talk share is not judged before enough talk")
    func talkRatioNeedsEnoughTalk() {
        var script = CallScript()
        script.agent("Let me walk you through the platform and all of the reporting features.")
        script.customer("Okay.")
        let rule = self.coach.tip(for: script.context())?.ruleID ?? "none"
        #expect(!rule.hasPrefix("pacing.talk_ratio"), "\(rule)")
    }

    @Test("agent talk share below 40% gives a take-the-lead pacing tip; a balanced call gives none")
    func talkRatioLowAndBalanced() throws {
        var script = CallScript()
        for _ in 0..<5 {
            script.agent("I see.")
            script.customer(
                "So the way it works for us is that every lead pulls a report by hand at the end of each month."
            )
        }
        #expect(self.coach.tip(for: script.context())?.ruleID == "pacing.talk_ratio.low")
        let balanced = CallScript.opening
        let rule = self.coach.tip(for: balanced.context())?.ruleID ?? "none"
        #expect(!rule.hasPrefix("pacing"), "\(rule)")
    }

    @Test("consecutive agent segments spanning more than 60 s are a monologue")
    func monologue() throws {
        var script = CallScript.opening
        for _ in 0..<4 { script.agent("And then there is another feature I want to show you.", durationMs: 16_000) }
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID == "pacing.monologue")
        #expect(tip.headline.contains("65 s"))
    }

    @Test("agent speech of 55 s, or broken by a customer turn, is no monologue")
    func noMonologue() {
        var script = CallScript.opening
        for _ in 0..<3 { script.agent("And then there is another feature I want to show you.", durationMs: 18_000) }
        #expect(self.coach.tip(for: script.context())?.ruleID != "pacing.monologue")
        var broken = CallScript.opening
        for _ in 0..<2 { broken.agent("And then there is another feature I want to show you.", durationMs: 18_000) }
        broken.customer("Right, I follow.")
        for _ in 0..<2 { broken.agent("And then there is another feature I want to show you.", durationMs: 18_000) }
        #expect(self.coach.tip(for: broken.context())?.ruleID != "pacing.monologue")
    }

    @Test("a gap of more than 10 s between segments is a long silence; 6 s is not")
    func silenceGap() throws {
        var script = CallScript.opening
        script.customer("Hmm, let me think about how we would even use that.", pauseMs: 12_000)
        #expect(self.coach.tip(for: script.context())?.ruleID == "pacing.silence")
        var short = CallScript.opening
        short.customer("Hmm, let me see how we would even use that.", pauseMs: 6_000)
        #expect(self.coach.tip(for: short.context())?.ruleID != "pacing.silence")
    }

    @Test("quiet since the last segment counts only well past a long utterance")
    func trailingSilence() throws {
        let script = CallScript.opening
        #expect(self.coach.tip(for: script.context(elapsedMs: script.clockMs + 25_000))?.ruleID == "pacing.silence")
        #expect(self.coach.tip(for: script.context(elapsedMs: script.clockMs + 12_000))?.ruleID != "pacing.silence")
    }

    @Test("a customer question the agent deflects is raised as an open question")
    func unansweredQuestion() throws {
        var script = CallScript.opening
        script.customer("Does your tool work with Gong? We already record every call there.")
        script.agent("Good question. Let me ask, who else would be involved in choosing a tool like this?")
        script.customer("Me and our head of sales.")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.kind == .question)
        #expect(tip.headline == "Open question: Does your tool work with Gong?")
        #expect(tip.suggestion.contains("Gong"))
    }

    @Test("an answered question, directly or later, is not raised")
    func answeredQuestion() {
        var direct = CallScript.opening
        direct.customer("Does it sync with NetSuite in both directions?")
        direct.agent("Yes, it's a two-way sync every five minutes.")
        #expect(self.coach.tip(for: direct.context())?.kind != .question)

        var later = CallScript.opening
        later.customer("Can it handle invoices in other currencies?")
        later.agent("Which currencies do you see most?")
        later.customer("Mostly euros and pounds.")
        later.agent("Euros and pounds are both supported, with the rate fixed at approval.")
        #expect(self.coach.tip(for: later.context())?.kind != .question)
    }

    @Test("a question just asked is a tip when the rep requests one, not on an automatic tick")
    func pendingQuestion() throws {
        var script = CallScript.opening
        script.customer("What happens when an invoice doesn't match the purchase order?")
        let requested = try #require(self.coach.tip(for: script.context(trigger: .request)))
        #expect(requested.kind == .question)
        #expect(self.coach.tip(for: script.context())?.kind != .question)
    }

    @Test("tag questions and unpunctuated statements are not questions; unpunctuated interrogatives are")
    func questionDetection() throws {
        var tag = CallScript.opening
        tag.customer("That's the whole point, right?")
        #expect(self.coach.tip(for: tag.context(trigger: .request))?.kind != .question)
        var unpunctuated = CallScript.opening
        unpunctuated.customer("how long does onboarding usually take for a team our size")
        let tip = try #require(self.coach.tip(for: unpunctuated.context(trigger: .request)))
        // A buying signal and a question: the buying signal is the more specific reading.
        #expect(tip.kind == .closing || tip.kind == .question)
    }

    @Test("past 80% of the planned duration with no next step gives a next-step tip")
    func nearEndWithPlannedDuration() throws {
        let script = CallScript.opening
        let metadata: JSONObject = ["plannedDurationMinutes": 30]
        let tip = try #require(self.coach.tip(for: script.context(elapsedMs: 25 * 60_000, metadata: metadata)))
        #expect(tip.ruleID == "next_step.near_end")
        #expect(tip.kind == .nextStep)
        #expect(
            self.coach.tip(for: script.context(elapsedMs: 20 * 60_000, metadata: metadata))?.ruleID
                != "next_step.near_end"
        )
    }

    @Test("past 20 minutes without a planned duration gives a next-step tip, unless one was agreed")
    func nearEndWithoutPlannedDuration() throws {
        var script = CallScript.opening
        #expect(self.coach.tip(for: script.context(elapsedMs: 21 * 60_000))?.ruleID == "next_step.near_end")
        #expect(self.coach.tip(for: script.context(elapsedMs: 15 * 60_000))?.ruleID != "next_step.near_end")
        script.agent("Would you be open to a call next Wednesday with your controller?")
        script.customer("Yes. Wednesday at ten works.")
        #expect(self.coach.tip(for: script.context(elapsedMs: 21 * 60_000))?.kind != .nextStep)
    }

    @Test("a wrap-up cue without an agreed next step gives a next-step tip")
    func wrapUp() throws {
        var script = CallScript.opening
        script.customer("Okay. I'll have to think about it.")
        script.agent("Of course.")
        script.customer("I have to jump to another meeting.")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID == "next_step.wrap_up")
    }

    @Test("an agreed next step is recognised from the agent's proposal and the customer's acceptance")
    func agreedNextStep() throws {
        var script = CallScript.opening
        script.agent("Could we book thirty minutes next week with you and your CFO?")
        script.customer("Let me check her calendar. Tuesday afternoon might work.")
        script.customer("I have to jump to another meeting.")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.ruleID != "next_step.wrap_up")
        #expect(tip.kind == .closing)
    }

    @Test("a buying signal gives a closing tip quoting it")
    func buyingSignal() throws {
        var script = CallScript.opening
        script.customer("This looks right. How do we get started?")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.kind == .closing)
        #expect(tip.suggestion.contains("\"how do we get started\""))
    }

    @Test("frustration gives a rapport tip")
    func rapport() throws {
        var script = CallScript.opening
        script.customer("Honestly, month end has been a nightmare for the whole team.")
        let tip = try #require(self.coach.tip(for: script.context()))
        #expect(tip.kind == .rapport)
    }

    @Test("with nothing else to say, the coach suggests the first discovery topic not yet covered")
    func discovery() throws {
        var script = CallScript.opening
        let first = try #require(self.coach.tip(for: script.context()))
        #expect(first.kind == .discovery)
        // The rep asks about the decision process and the stakeholders: those are not suggested again.
        script.agent("Who else is involved, and how do you usually decide on a tool like this?")
        script.customer("Me and our CFO, and she signs off.")
        let tips = (0..<3).compactMap { _ in self.coach.tip(for: script.context(trigger: .request)) }
        for tip in tips {
            #expect(tip.ruleID != "discovery.stakeholders" && tip.ruleID != "discovery.decision-process")
        }
    }

    @Test("the request's agentUtterance counts as asked for discovery")
    func agentUtteranceCoversDiscovery() throws {
        let script = CallScript.opening
        let without = try #require(self.coach.tip(for: script.context(trigger: .request)))
        let with = try #require(
            self.coach.tip(
                for: script.context(
                    trigger: .request,
                    agentUtterance: "What's the biggest challenge with how it works today?"
                )
            )
        )
        #expect(without.ruleID == "discovery.pain")
        #expect(with.ruleID != "discovery.pain")
    }

    @Test("a requested tip is never nil, even with an empty transcript; an automatic one may be")
    func requestAlwaysAnswers() throws {
        let empty = CallScript()
        #expect(self.coach.tip(for: empty.context(trigger: .request)) != nil)
        var script = CallScript.opening
        // Every discovery topic asked about, and a next step agreed: nothing left to say on a tick.
        script.agent("How does it work today, what's the biggest challenge, and how much time does that cost you?")
        script.agent(
            "Who else is involved, how do you decide, what's your timeline and budget, and what would success look like?"
        )
        script.agent("What have you tried before, and where does this rank among your priorities?")
        script.customer("Sounds good. Wednesday at ten works for the follow-up.")
        #expect(self.coach.tip(for: script.context(trigger: .request)) != nil)
    }
}

@Suite("Rule coach: repetition and picks")
struct RuleCoachMemoryTests {
    let coach = RuleCoach()

    func priceCall() -> CallScript {
        var script = CallScript.opening
        script.customer("That's a lot more than we expected, to be honest.")
        return script
    }

    @Test("a rule used by a recent tip is not repeated without new evidence")
    func noRepeatWithoutNewEvidence() throws {
        var script = self.priceCall()
        let first = try #require(self.coach.tip(for: script.context()))
        #expect(first.ruleID == "objection.price")
        let tips = [recordedTip(first, lastSegmentID: script.segments.last?.id)]
        script.agent("I understand. Let me show you the reporting side first.")
        let second = self.coach.tip(for: script.context(previousTips: tips))
        #expect(second.map { TipSession.baseRule($0.ruleID ?? "") } != "objection.price")
    }

    @Test("the same objection raised again in a newer segment gives a try-another-angle tip")
    func repeatWithNewEvidence() throws {
        var script = self.priceCall()
        let first = try #require(self.coach.tip(for: script.context()))
        let tips = [recordedTip(first, lastSegmentID: script.segments.last?.id)]
        script.agent("What does the manual reporting cost you today?")
        script.customer("Maybe, but it's too expensive for us this year.")
        let again = try #require(self.coach.tip(for: script.context(previousTips: tips)))
        #expect(again.ruleID == "objection.price+again")
        #expect(again.headline.contains("another angle"))
        // Without a pick, it leads with a different answer than the first tip did.
        #expect(again.options.first?.label != first.options.first?.label)
    }

    @Test("the picked option's follow-up shapes the next tip")
    func pickShapesFollowUp() throws {
        var script = self.priceCall()
        let first = try #require(self.coach.tip(for: script.context()))
        let tip = recordedTip(first, lastSegmentID: script.segments.last?.id)
        let quantify = try #require(tip.draft.options.first { $0.label == "Quantify the pain" })
        script.agent("Before we talk about the price, what does the problem cost you today?")
        script.customer("About ten hours a week for each of the leads.")
        let next = try #require(
            self.coach.tip(for: script.context(previousTips: [tip], lastPick: PickedOption(tip: tip, option: quantify)))
        )
        #expect(next.ruleID == "objection.price+follow_up")
        #expect(next.kind == .objection)
        #expect(next.headline == "Build on \"Quantify the pain\"")
        #expect(next.options.first?.script.hasPrefix("So if that costs you") == true)
        #expect(!next.options.contains { $0.label == "Quantify the pain" })
    }

    @Test("a positive reaction after an objection moves to the next step")
    func positiveReactionMovesToNextStep() throws {
        let script = self.priceCall()
        let first = try #require(self.coach.tip(for: script.context()))
        let tip = recordedTip(first, lastSegmentID: script.segments.last?.id)
        let pick = PickedOption(tip: tip, option: tip.draft.options[0])
        let next = try #require(
            self.coach.tip(
                for: script.context(
                    trigger: .request,
                    previousTips: [tip],
                    lastPick: pick,
                    customerReaction: "That makes sense, sounds good."
                )
            )
        )
        #expect(next.ruleID == "next_step.momentum")
        #expect(next.kind == .nextStep)
    }

    @Test("a negative reaction after an objection offers the answers not yet tried")
    func negativeReactionRetriesObjection() throws {
        let script = self.priceCall()
        let first = try #require(self.coach.tip(for: script.context()))
        let tip = recordedTip(first, lastSegmentID: script.segments.last?.id)
        let pick = PickedOption(tip: tip, option: tip.draft.options[0])
        let next = try #require(
            self.coach.tip(
                for: script.context(
                    trigger: .request,
                    previousTips: [tip],
                    lastPick: pick,
                    customerReaction: "Not convinced at all."
                )
            )
        )
        #expect(next.ruleID == "objection.price+retry")
        #expect(!next.options.contains { $0.label == pick.option.label })
        #expect(next.options.count == 2)
    }

    @Test("a positive reaction in a new segment after a next-step tip, with the step agreed, moves to closing")
    func positiveAfterAgreedMovesToClosing() throws {
        var script = CallScript.opening
        script.agent("Shall we book a call next Tuesday with your controller?")
        script.customer("Yes, Tuesday works.")
        let nextStep = TipDraft(
            kind: .nextStep,
            headline: "h",
            suggestion: "s",
            options: [],
            confidence: 0.7,
            ruleID: "next_step.momentum"
        )
        let tips = [recordedTip(nextStep, lastSegmentID: script.segments.last?.id)]
        script.customer("That sounds good, I like that plan.")
        let tip = try #require(self.coach.tip(for: script.context(previousTips: tips)))
        #expect(tip.kind == .closing)
    }

    @Test("the same context always gives the same tip")
    func deterministic() {
        let script = self.priceCall()
        let context = script.context(metadata: ["accountName": "Halden Foods"])
        #expect(self.coach.tip(for: context) == self.coach.tip(for: context))
    }

    @Test("the async Coach methods return what the synchronous ones do")
    func asyncForwarding() async throws {
        let script = self.priceCall()
        let context = script.context()
        let coach: any Coach = self.coach
        let viaProtocol = try await coach.tip(
            for: context,
            isolation: nil,
            partial: { _ in Issue.record("no partials") }
        )
        #expect(viaProtocol == self.coach.tip(for: context))
        #expect(coach.source == .rules)
        #expect(coach.isAvailable)
    }
}

@Suite("Rule coach: text matching")
struct TextMatchingTests {
    func matches(_ phrases: [String], in text: String) -> [String] {
        let matcher = PhraseMatcher(phrases.enumerated().map { (TextFolding.fold($0.element), UInt32($0.offset)) })
        var storage: [UInt8] = []
        var offsets: [Int32] = []
        let range = TextFolding.fold(text, into: &storage, offsets: &offsets)
        var found: [String] = []
        storage.withUnsafeBufferPointer { all in
            matcher.forEachMatch(in: UnsafeBufferPointer(rebasing: all[range])) { tag, _ in
                found.append(phrases[Int(tag)])
            }
        }
        return found
    }

    @Test("phrases match whole words, case-insensitively: price is not priceless or prices")
    func wholeWords() {
        #expect(self.matches(["price"], in: "The PRICE, honestly.") == ["price"])
        #expect(self.matches(["price"], in: "It is priceless.").isEmpty)
        #expect(self.matches(["price"], in: "Our prices went up.").isEmpty)
        #expect(self.matches(["price"], in: "overprice").isEmpty)
        #expect(self.matches(["expensive"], in: "It's inexpensive.").isEmpty)
        #expect(self.matches(["next year"], in: "Next year's budget").isEmpty)
        #expect(self.matches(["next year"], in: "maybe next year.") == ["next year"])
    }

    @Test("curly apostrophes, hyphens, and runs of whitespace fold to their plain forms")
    func folding() {
        #expect(self.matches(["don't have the budget"], in: "We don’t  have\nthe budget") == ["don't have the budget"])
        #expect(self.matches(["follow up call"], in: "a follow-up call") == ["follow up call"])
        #expect(self.matches(["two way"], in: "It's two—way") == ["two way"])
        #expect(TextFolding.fold("  Hello \t  World  ") == Array("hello world".utf8))
        #expect(TextFolding.fold("") == [])
    }

    @Test("overlapping phrases are all reported; the longer one first")
    func overlapping() {
        #expect(
            self.matches(["not a priority", "not a priority right now"], in: "It is not a priority right now") == [
                "not a priority right now", "not a priority",
            ]
        )
        #expect(self.matches(["on hold"], in: "on hold, on hold") == ["on hold", "on hold"])
    }

    @Test("folding never splits a scalar and caps the input at 8 KiB")
    func foldingLimits() {
        let long = String(repeating: "é", count: 10_000)
        let folded = TextFolding.fold(long)
        #expect(folded.count <= TextFolding.maximumInputBytes)
        #expect(String(validating: folded, as: UTF8.self) != nil)
    }

    @Test("original spelling is recovered for a matched phrase")
    func originalSpelling() throws {
        var script = CallScript.opening
        script.customer("We’re  ALSO looking at   Supportly.")
        let analysis = TranscriptAnalysis(
            playbook: .standard,
            segments: script.segments,
            agentUtterance: nil,
            customerReaction: nil,
            extraCompetitors: ["Supportly"]
        )
        let last = analysis.utterances.count - 1
        let hit = try #require(analysis.hits(of: last, in: .objectionTrigger).first { _ in true })
        #expect(analysis.originalString(hit.range, in: last) == "ALSO looking at")
        #expect(analysis.metadataCompetitorHits.map(\.name) == ["Supportly"])
    }
}

@Suite("Rule coach: summary")
struct RuleCoachSummaryTests {
    @Test("the summary reports objections, competitors, open questions, talk ratio, next step and picks")
    func summaryContent() throws {
        var script = CallScript.opening
        script.customer("Honestly, it's too expensive, and we're also looking at Supportly.")
        script.customer("Does it work with Gong?")
        script.agent("Let me ask you something first, who owns the budget?")
        script.agent("I'll send you a one-page comparison by Friday.")
        let draft = TipDraft(
            kind: .objection,
            headline: "h",
            suggestion: "s",
            options: [TipOption(id: "opt-1", label: "Quantify the pain", script: "x")],
            confidence: 0.8,
            ruleID: "objection.price"
        )
        let tip = recordedTip(draft, lastSegmentID: "seg-9")
        let context = SummaryContext(
            conversationID: "c",
            metadata: ["accountName": "Carrow Freight", "competitors": ["Supportly"]],
            durationMs: 60_000,
            stats: script.stats,
            recentSegments: script.segments,
            tips: [tip],
            picks: [OptionPick(tipID: tip.id, optionID: "opt-1")]
        )
        let notes = RuleCoach().summary(for: context)
        #expect(notes.notes.contains("Objections raised: price (“too expensive”)."), "\(notes.notes)")
        #expect(notes.notes.contains("Competitors mentioned: Supportly."))
        #expect(notes.notes.contains("Customer questions left open: 1 (“Does it work with Gong?”)."), "\(notes.notes)")
        #expect(notes.notes.contains("Talk ratio: agent"))
        #expect(notes.notes.contains("No next step was agreed."))
        #expect(notes.notes.contains("Options picked: “Quantify the pain” (objection)."))
        #expect(notes.actionItems.first == "Send you a one-page comparison by Friday")
        #expect(notes.actionItems.contains("Answer the open question about Gong"))
        #expect(notes.actionItems.contains("Agree a next step with Carrow Freight"))
    }

    @Test("an empty call gives short notes and no action items")
    func emptySummary() {
        let context = SummaryContext(
            conversationID: "c",
            metadata: nil,
            durationMs: 0,
            stats: TranscriptStats(),
            recentSegments: [],
            tips: [],
            picks: []
        )
        let notes = RuleCoach().summary(for: context)
        #expect(notes.notes == "No transcript was received.")
        #expect(notes.actionItems.isEmpty)
    }

    @Test("commitments are cut to fourteen words and never copy a long sentence whole")
    func commitmentLength() {
        var script = CallScript.opening
        let long =
            "I'll send you the full breakdown of every line item, every discount tier, every onboarding milestone and every support option we discussed today."
        script.agent(long)
        let context = SummaryContext(
            conversationID: "c",
            metadata: nil,
            durationMs: 1,
            stats: script.stats,
            recentSegments: script.segments,
            tips: [],
            picks: []
        )
        let notes = RuleCoach().summary(for: context)
        let item = notes.actionItems.first ?? ""
        #expect(item.hasPrefix("Send you the full breakdown"))
        #expect(item.hasSuffix("…"))
        #expect(item.split(separator: " ").count <= 14)
        #expect(!notes.notes.contains(long))
    }
}

/// Random and hostile inputs for the coach.
struct FuzzInput {
    var random: SeededGenerator
    let phrases: [String]

    init(seed: UInt64) {
        self.random = SeededGenerator(state: seed)
        // Real playbook phrases make the matcher, questions and signals fire, not only miss.
        var phrases: [String] = []
        let playbook = Playbook.standard
        for pattern in playbook.matcher.patterns { phrases.append(String(decoding: pattern.bytes, as: UTF8.self)) }
        phrases += [
            "?", ".", "!", ",", "...", "-", "’", "“", "—", "Gong", "Supportly", "I'll send", "Yes.", "Good question.",
        ]
        self.phrases = phrases
    }

    static let scalars: [Unicode.Scalar] = [
        "a", "e", "Z", " ", " ", " ", "\t", "\n", "\r", "\u{0}", "\u{1}", "\u{7F}", "?", ".", "!", "'", "-", "{", "}",
        "é", "ß", "中", "😀", "\u{301}", "\u{A0}", "\u{2019}", "\u{201C}", "\u{2014}", "\u{2028}", "\u{FEFF}",
        "\u{10FFFF}",
        "0", "9", "$", "%",
    ]

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self.random) }
    mutating func chance(_ percent: Int) -> Bool { self.int(0...99) < percent }

    mutating func text() -> String {
        switch self.int(0...3) {
        case 0:
            var scalars = String.UnicodeScalarView()
            for _ in 0..<self.int(0...300) { scalars.append(Self.scalars[self.int(0...(Self.scalars.count - 1))]) }
            return String(scalars)
        case 1:
            let bytes = (0..<self.int(0...200)).map { _ in UInt8.random(in: 0...255, using: &self.random) }
            return String(decoding: bytes, as: UTF8.self)
        case 2:
            // Protocol maximum: 2,000 characters.
            return String(repeating: self.chance(50) ? "too expensive " : "é?", count: self.int(100...1000))
        default:
            var words: [String] = []
            for _ in 0..<self.int(1...30) { words.append(self.phrases[self.int(0...(self.phrases.count - 1))]) }
            return words.joined(separator: self.chance(70) ? " " : "")
        }
    }

    mutating func time() -> Int? {
        self.chance(15) ? nil : self.int(0...86_400_000)
    }

    mutating func segments() -> [Segment] {
        var segments: [Segment] = []
        var clock = self.int(0...1_000_000)
        for index in 0..<self.int(0...45) {
            let start: Int?
            let end: Int?
            if self.chance(70) {
                // Mostly ordered, plausible times; sometimes reversed, equal or missing.
                start = clock + self.int(0...20_000)
                end = (start ?? 0) + (self.chance(10) ? -self.int(0...5_000) : self.int(0...70_000))
                clock = max(clock, end ?? clock)
            } else {
                start = self.time()
                end = self.time()
            }
            let id = self.chance(5) ? "seg-dup" : "seg-\(index)"
            segments.append(
                Segment(
                    id: id,
                    speaker: self.chance(50) ? .agent : .customer,
                    text: self.text(),
                    startMs: start,
                    endMs: end
                )
            )
        }
        return segments
    }

    static let ruleIDs = [
        "objection.price", "objection.price+retry", "objection.competitor", "discovery.pain", "question.unanswered",
        "next_step.wrap_up", "closing.buying_signal", "pacing.monologue", "fallback", "", "+", "objection.", "x+y+z",
        "objection.price+follow_up+follow_up",
    ]

    mutating func option() -> TipOption {
        TipOption(
            id: ["opt-1", "opt-3", "opt-0", "opt-", "x", "opt-99999999999999999999"][self.int(0...5)],
            label: self.chance(50) ? "Quantify the pain" : self.text(),
            script: self.text()
        )
    }

    mutating func tips(segments: [Segment]) -> [Tip] {
        (0..<self.int(0...10)).map { index in
            let draft = TipDraft(
                kind: TipKind.allCases[self.int(0...(TipKind.allCases.count - 1))],
                headline: self.text(),
                suggestion: self.text(),
                options: (0..<self.int(0...5)).map { _ in self.option() },
                confidence: Double(self.int(-5...5)),
                ruleID: self.chance(80) ? Self.ruleIDs[self.int(0...(Self.ruleIDs.count - 1))] : nil
            )
            let lastSegment =
                segments.isEmpty || self.chance(20)
                ? (self.chance(50) ? "nope" : nil) : segments[self.int(0...(segments.count - 1))].id
            return Tip(
                id: "tip-\(index)",
                draft: draft,
                source: .rules,
                latencyMs: 0,
                trigger: .auto,
                requestID: nil,
                lastSegmentID: lastSegment
            )
        }
    }

    mutating func metadata() -> JSONObject? {
        guard self.chance(80) else { return nil }
        var object = JSONObject()
        if self.chance(70) { object["accountName"] = self.chance(20) ? "{phrase} {competitor}" : .string(self.text()) }
        if self.chance(50) { object["product"] = .string(self.text()) }
        if self.chance(60) {
            object["competitors"] = .array(
                (0..<self.int(0...30)).map { _ in self.chance(80) ? .string(self.text()) : .number(7) }
            )
        }
        if self.chance(40) {
            object["plannedDurationMinutes"] = self.chance(50) ? .number(JSONNumber(self.int(-100...3000))) : "thirty"
        }
        return object
    }

    mutating func context() -> CoachingContext {
        let segments = self.segments()
        var stats = TranscriptStats()
        for segment in segments where (segment.startMs ?? 0) <= (segment.endMs ?? Int.max) { stats.add(segment) }
        let tips = self.tips(segments: segments)
        var pick: PickedOption? = nil
        if let tip = tips.last, self.chance(50) {
            pick = PickedOption(tip: tip, option: tip.draft.options.first ?? self.option())
        }
        return CoachingContext(
            conversationID: "c_fuzz",
            mode: self.chance(50) ? .auto : .event,
            trigger: self.chance(50) ? .auto : .request,
            metadata: self.metadata(),
            elapsedMs: self.int(0...86_400_000),
            recentSegments: segments,
            stats: stats,
            previousTips: tips,
            lastPick: pick,
            agentUtterance: self.chance(30) ? self.text() : nil,
            customerReaction: self.chance(30) ? self.text() : nil
        )
    }
}

@Suite("Rule coach: fuzz and latency")
struct RuleCoachFuzzTests {
    static func checkLimits(_ tip: TipDraft) {
        #expect((1...120).contains(tip.headline.unicodeScalars.count))
        #expect((1...1000).contains(tip.suggestion.unicodeScalars.count))
        #expect((1...4).contains(tip.options.count))
        for option in tip.options {
            #expect((1...80).contains(option.label.unicodeScalars.count))
            #expect((1...600).contains(option.script.unicodeScalars.count))
        }
        #expect((0...1).contains(tip.confidence))
        #expect(tip.ruleID != nil)
    }

    @Test("random and garbage transcripts never crash and every tip and summary stays within the protocol's limits")
    func fuzzTips() {
        let coach = RuleCoach()
        let seed = UInt64(ProcessInfo.processInfo.environment["EARPIECE_FUZZ_SEED"] ?? "") ?? 0x5EED_C0AC
        var input = FuzzInput(seed: seed)
        // Bounded in count and time; EARPIECE_FUZZ_SECONDS lengthens a run (the count then grows with it).
        let seconds = Int(ProcessInfo.processInfo.environment["EARPIECE_FUZZ_SECONDS"] ?? "") ?? 3
        let deadline = ContinuousClock.now + .seconds(seconds)
        var iterations = 0
        var tips = 0
        // At least 50 contexts whatever the machine's speed, more while the time budget lasts.
        while iterations < 200 * seconds && (iterations < 50 || ContinuousClock.now < deadline) {
            iterations += 1
            let context = input.context()
            let tip = coach.tip(for: context)
            if context.trigger == .request { #expect(tip != nil, "seed \(seed) iteration \(iterations)") }
            if let tip {
                tips += 1
                Self.checkLimits(tip)
            }
            if iterations % 10 == 0 {
                let summary = coach.summary(
                    for: SummaryContext(
                        conversationID: "c",
                        metadata: context.metadata,
                        durationMs: context.elapsedMs,
                        stats: context.stats,
                        recentSegments: context.recentSegments,
                        tips: context.previousTips,
                        picks: context.previousTips.map {
                            OptionPick(tipID: $0.id, optionID: $0.draft.options.first?.id ?? "opt-1")
                        }
                    )
                )
                #expect((1...4000).contains(summary.notes.unicodeScalars.count))
                #expect(summary.actionItems.count <= 20)
                for item in summary.actionItems { #expect((1...500).contains(item.unicodeScalars.count)) }
            }
        }
        print("rule coach fuzz: seed \(seed), \(iterations) contexts, \(tips) tips")
    }

    static let noise = Array("ab ’-?".utf8)

    @Test("folding and matching random bytes stays in bounds and yields clean folded text")
    func fuzzMatcher() {
        var random = SeededGenerator(state: 0xF01D)
        let matcher = Playbook.standard.matcher
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...400, using: &random)).map { _ in
                Bool.random(using: &random)
                    ? UInt8.random(in: 0...255, using: &random)
                    : Self.noise[Int.random(in: 0..<Self.noise.count, using: &random)]
            }
            let text = String(decoding: bytes, as: UTF8.self)
            var storage: [UInt8] = []
            var offsets: [Int32] = []
            let range = TextFolding.fold(text, into: &storage, offsets: &offsets)
            #expect(storage.count == offsets.count)
            #expect(storage.first != UInt8(ascii: " ") && storage.last != UInt8(ascii: " "))
            #expect(
                !storage.indices.dropFirst().contains {
                    storage[$0] == UInt8(ascii: " ") && storage[$0 - 1] == UInt8(ascii: " ")
                }
            )
            #expect(offsets.allSatisfy { $0 >= 0 && Int($0) < text.utf8.count })
            storage.withUnsafeBufferPointer { all in
                matcher.forEachMatch(in: UnsafeBufferPointer(rebasing: all[range])) { _, match in
                    #expect(match.lowerBound >= 0 && match.upperBound <= range.count)
                }
            }
        }
    }

    @Test("mutated playbook documents are parsed or refused with a PlaybookError, never a crash")
    func fuzzPlaybookParser() throws {
        var random = SeededGenerator(state: 0xB00C)
        let original = Array(DefaultPlaybook.json.utf8)
        var accepted = 0
        var refused = 0
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: bytes.remove(at: position)
                case 1:
                    let noise = Array("{}[]\",:0ax ".utf8)
                    bytes.insert(noise[Int.random(in: 0..<noise.count, using: &random)], at: position)
                default: bytes[position] = UInt8.random(in: 0x20...0x7E, using: &random)
                }
            }
            guard let value = try? bytes.withUnsafeBytes({ try JSONParser.parse($0) }) else {
                refused += 1
                continue
            }
            do {
                let playbook = try Playbook(json: value)
                accepted += 1
                // A playbook that parses also coaches.
                var script = CallScript.opening
                script.customer("It's too expensive and we're also looking at Supportly.")
                if let tip = RuleCoach(playbook: playbook).tip(for: script.context(trigger: .request)) {
                    Self.checkLimits(tip)
                }
            } catch {
                refused += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(accepted + refused == 150)
        print("playbook fuzz: \(accepted) accepted, \(refused) refused")
    }

    @Test("segment times outside the protocol's range (overflowing differences) do not trap")
    func extremeTimes() {
        let segments = [
            Segment(id: "a", speaker: .agent, text: "Let me show you everything.", startMs: Int.min, endMs: Int.max),
            Segment(id: "b", speaker: .customer, text: "Does it work with Gong?", startMs: Int.max, endMs: Int.min),
            Segment(id: "c", speaker: .agent, text: "And another thing.", startMs: Int.min, endMs: Int.min),
        ]
        var stats = TranscriptStats()
        stats.agentMs = Int.max
        stats.customerMs = -Int.max + 1
        stats.segments = 3
        for trigger in [TipTrigger.auto, .request] {
            for elapsed in [Int.min, 0, Int.max] {
                let context = CoachingContext(
                    conversationID: "c",
                    mode: .auto,
                    trigger: trigger,
                    metadata: ["plannedDurationMinutes": 1e300],
                    elapsedMs: elapsed,
                    recentSegments: segments,
                    stats: stats
                )
                if let tip = RuleCoach().tip(for: context) { Self.checkLimits(tip) }
            }
        }
        let summary = RuleCoach().summary(
            for: SummaryContext(
                conversationID: "c",
                metadata: nil,
                durationMs: Int.max,
                stats: stats,
                recentSegments: segments,
                tips: [],
                picks: []
            )
        )
        #expect(!summary.notes.isEmpty)
    }

    @Test("forty maximum-length segments are coached within a bounded time")
    func largeInputIsBounded() throws {
        var script = CallScript.opening
        for index in 0..<40 {
            let text = String(
                repeating: index % 2 == 0 ? "is it too expensive? " : "we'll send the invite next tuesday. ",
                count: 95
            )
            script.say(index % 2 == 0 ? .customer : .agent, text)
        }
        let coach = RuleCoach()
        let clock = ContinuousClock()
        var tip: TipDraft? = nil
        let elapsed = clock.measure { tip = coach.tip(for: script.context(trigger: .request)) }
        #expect(tip != nil)
        // Debug build, loaded machine: generous; a release build takes a small fraction of this.
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    @Test("a typical 40-segment tip is fast")
    func typicalLatency() throws {
        let example = try ExampleSessionCoachTests.load("auto-price-objection-competitor")
        var segments: [Segment] = []
        for event in example["events"]?.arrayValue ?? [] where event["send"]?.stringValue == "TRANSCRIPT" {
            let payload = event["payload"]!
            segments.append(
                Segment(
                    id: payload["segmentId"]!.stringValue!,
                    speaker: Speaker(rawValue: payload["speaker"]!.stringValue!)!,
                    text: payload["text"]!.stringValue!,
                    startMs: payload["startMs"]?.intValue,
                    endMs: payload["endMs"]?.intValue
                )
            )
        }
        var stats = TranscriptStats()
        for segment in segments { stats.add(segment) }
        let context = CoachingContext(
            conversationID: "c",
            mode: .auto,
            trigger: .auto,
            metadata: example["metadata"]?.objectValue,
            elapsedMs: 240_000,
            recentSegments: Array(segments.suffix(40)),
            stats: stats
        )
        let coach = RuleCoach()
        _ = coach.tip(for: context)
        let rounds = 200
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<rounds { _ = coach.tip(for: context) }
        }
        let perTip = elapsed / rounds
        print("rule coach: \(perTip) per tip over \(segments.suffix(40).count) segments (this build)")
        #expect(perTip < .milliseconds(20), "\(perTip)")
    }
}
