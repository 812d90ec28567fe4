@testable import Coaching
import Foundation
import JSON
import Synchronization
import Testing

/// A language model in memory: records every prompt, and answers each call with the next scripted reply
/// (canned text, text streamed in pieces, or an error).
private final class FakeLanguageModel: LanguageModel {
    enum Reply: Sendable {
        /// The whole answer at once.
        case text(String)
        /// The answer in these pieces; `partial` sees the accumulated text after each when the prompt streams.
        case pieces([String])
        /// The call fails.
        case failure(FakeFailure)
    }

    struct FakeFailure: Error, Equatable {
        var reason: String
    }

    private let replies: Mutex<[Reply]>
    private let recorded = Mutex<[LanguageModelPrompt]>([])
    let isAvailable: Bool

    init(_ replies: [Reply], isAvailable: Bool = true) {
        self.replies = Mutex(replies)
        self.isAvailable = isAvailable
    }

    /// The prompts received, in order.
    var prompts: [LanguageModelPrompt] { self.recorded.withLock { $0 } }

    func complete(
        _ prompt: LanguageModelPrompt, isolation: isolated (any Actor)?, partial: (String) -> Void
    ) async throws -> LanguageModelAnswer {
        self.recorded.withLock { $0.append(prompt) }
        let reply = self.replies.withLock { $0.isEmpty ? Reply.text(LLMCoachTests.objectionAnswer) : $0.removeFirst() }
        switch reply {
        case .text(let text):
            return LanguageModelAnswer(text: text, promptTokens: 1_200, cachedPromptTokens: 1_024, completionTokens: 90)
        case .pieces(let pieces):
            var text = ""
            for piece in pieces {
                text += piece
                if prompt.stream { partial(text) }
            }
            return LanguageModelAnswer(text: text)
        case .failure(let failure):
            throw failure
        }
    }
}

/// `count` alternating segments, 30 s apart, whose texts name their index (`line 7 ...`).
private func segments(_ count: Int, text: (Int) -> String = { "line \($0) about the rollout plan." }) -> [Segment] {
    (0..<count).map { index in
        Segment(
            id: "seg-\(index)", speaker: index.isMultiple(of: 2) ? .agent : .customer, text: text(index),
            startMs: index * 30_000 + 1_500, endMs: index * 30_000 + 9_000
        )
    }
}

private func stats(_ segments: [Segment]) -> TranscriptStats {
    var stats = TranscriptStats()
    for segment in segments { stats.add(segment) }
    return stats
}

private let previousTip = Tip(
    id: "tip-0001",
    draft: TipDraft(
        kind: .objection, headline: "Price pushback: quantify the pain", suggestion: "Ask what it costs today.",
        options: [
            TipOption(id: "opt-1", label: "Quantify the pain", script: "How many hours a week go into that report?"),
            TipOption(id: "opt-2", label: "Compare", script: "Can I put our numbers next to yours?"),
        ],
        confidence: 0.8
    ),
    source: .llm, latencyMs: 900, trigger: .auto, requestID: nil, lastSegmentID: "seg-3"
)

private func context(
    mode: ConversationMode, trigger: TipTrigger, segments: [Segment], metadata: JSONObject? = ["accountName": "Carrow Freight"],
    withRequestDetails: Bool = false
) -> CoachingContext {
    CoachingContext(
        conversationID: "c_test", mode: mode, trigger: trigger, metadata: metadata,
        elapsedMs: (segments.last?.endMs ?? 0) + 500, recentSegments: segments, stats: stats(segments),
        previousTips: [previousTip],
        lastPick: withRequestDetails ? PickedOption(tip: previousTip, option: previousTip.draft.options[0]) : nil,
        agentUtterance: withRequestDetails ? "We could start with the Berlin depot." : nil,
        customerReaction: withRequestDetails ? "Maybe, but the CFO has to sign off first." : nil
    )
}

@Suite struct LLMCoachTests {
    static let objectionAnswer = #"""
        {"kind":"objection","headline":"Price pushback: quantify the cost of inaction","suggestion":"Acknowledge the budget, then ask what the manual process costs them today. Keep it short.","options":[{"label":"Quantify the pain","script":"How many hours a week does your team spend on that report?"},{"label":"Explore the budget","script":"Is it the total, or when it lands in this year's budget?"}],"confidence":0.86}
        """#

    // MARK: Prompts

    @Test func autoPrompt_isShorterThanEventPrompt_andLeavesOutTheRequestDetails() async throws {
        let transcript = segments(30)
        let model = FakeLanguageModel([])
        let coach = LLMCoach(model: model, streamPartials: false)
        _ = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: transcript, withRequestDetails: true), isolation: #isolation) { _ in }
        _ = try await coach.tip(for: context(mode: .event, trigger: .request, segments: transcript, withRequestDetails: true), isolation: #isolation) { _ in }
        let auto = model.prompts[0]
        let event = model.prompts[1]

        #expect(auto.maximumTokens == 220)
        #expect(event.maximumTokens == 350)
        #expect(auto.user.utf8.count < event.user.utf8.count)
        // Auto: the last 12 lines; event: the last 20.
        #expect(auto.user.contains("CUSTOMER: line 29 "))
        #expect(auto.user.contains("AGENT: line 18 "))
        #expect(!auto.user.contains("line 17 "))
        #expect(event.user.contains("AGENT: line 10 "))
        #expect(!event.user.contains("line 9 "))
        // Only the event prompt carries the pick, what the rep said and the customer's reaction.
        for detail in ["We could start with the Berlin depot.", "the CFO has to sign off first", "picked \"Quantify the pain\""] {
            #expect(event.user.contains(detail), "\(detail)")
            #expect(!auto.user.contains(detail), "\(detail)")
        }
        // Both: metadata first, then previous tips, then the transcript.
        for prompt in [auto, event] {
            let facts = try #require(prompt.user.range(of: #"Facts: {"accountName":"Carrow Freight"}"#))
            let tips = try #require(prompt.user.range(of: "- objection: Price pushback: quantify the pain"))
            let transcript = try #require(prompt.user.range(of: "## Transcript"))
            #expect(facts.lowerBound < tips.lowerBound && tips.lowerBound < transcript.lowerBound)
            #expect(prompt.schemaName == "coaching_tip")
        }
    }

    @Test func requestInAutoMode_usesTheEventPrompt() async throws {
        let model = FakeLanguageModel([])
        let coach = LLMCoach(model: model, streamPartials: false)
        _ = try await coach.tip(for: context(mode: .auto, trigger: .request, segments: segments(5), withRequestDetails: true), isolation: #isolation) { _ in }
        #expect(model.prompts[0].maximumTokens == 350)
        #expect(model.prompts[0].user.contains("We could start with the Berlin depot."))
    }

    @Test func systemPrompt_isByteIdentical_acrossCallsWithDifferentTranscripts() async throws {
        let model = FakeLanguageModel([])
        let coach = LLMCoach(model: model)
        let first = segments(8)
        let second = segments(25) { "a different text \($0), with other words." }
        for mode in [ConversationMode.auto, .event] {
            let trigger: TipTrigger = mode == .auto ? .auto : .request
            _ = try await coach.tip(for: context(mode: mode, trigger: trigger, segments: first), isolation: #isolation) { _ in }
            _ = try await coach.tip(
                for: context(mode: mode, trigger: trigger, segments: second, metadata: ["product": "Ledgerly AP"], withRequestDetails: true),
                isolation: #isolation
            ) { _ in }
        }
        let prompts = model.prompts
        #expect(Array(prompts[0].system.utf8) == Array(prompts[1].system.utf8))
        #expect(Array(prompts[2].system.utf8) == Array(prompts[3].system.utf8))
        #expect(prompts[0].user != prompts[1].user)
        #expect(prompts[0].schema == prompts[2].schema)
        // No call-specific text in the system prompt.
        for prompt in prompts {
            #expect(!prompt.system.contains("line 3 about"))
            #expect(!prompt.system.contains("Carrow"))
        }
        // OpenAI caches from 1,024 tokens on (about 4 characters a token in English): the stable prefix the
        // two variants share is comfortably longer, so auto and event calls warm the same cache entry.
        let shared = zip(prompts[0].system.utf8, prompts[2].system.utf8).prefix { $0 == $1 }.count
        #expect(shared >= 6_000)
    }

    @Test func transcriptLines_showMinutesSecondsAndSpeaker_oneLinePerSegment() async throws {
        let model = FakeLanguageModel([])
        let coach = LLMCoach(model: model)
        let transcript = [
            Segment(id: "s1", speaker: .agent, text: "Hi Marcus,\nthanks for\r\nmaking the time.", startMs: 1_500, endMs: 4_200),
            Segment(id: "s2", speaker: .customer, text: "Ninety five per seat is a lot.", startMs: 161_000, endMs: 164_895),
            Segment(id: "s3", speaker: .customer, text: "No times here.", startMs: nil, endMs: nil),
            Segment(id: "s4", speaker: .agent, text: "Long call.", startMs: 3_723_000, endMs: 3_725_000),
        ]
        _ = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: transcript), isolation: #isolation) { _ in }
        let user = model.prompts[0].user
        #expect(user.contains("\n[00:01] AGENT: Hi Marcus, thanks for  making the time.\n"))
        #expect(user.contains("\n[02:41] CUSTOMER: Ninety five per seat is a lot.\n"))
        #expect(user.contains("\n[--:--] CUSTOMER: No times here.\n"))
        #expect(user.contains("\n[62:03] AGENT: Long call.\n"))
        #expect(user.contains("Talk ratio so far: "))
    }

    @Test func userPrompt_staysUnderTheSizeCap_droppingTheOldestLinesFirst() async throws {
        let model = FakeLanguageModel([])
        let coach = LLMCoach(model: model)
        // 20 segments of 2,000 characters (some of them 3 bytes each): far more than 12 KB.
        let transcript = segments(20) { index in
            "segment \(index) " + String(repeating: index.isMultiple(of: 3) ? "€" : "w", count: 1_980)
        }
        var metadata = JSONObject()
        for index in 0..<60 { metadata["key\(index)"] = .string(String(repeating: "m", count: 60)) }
        var big = context(mode: .event, trigger: .request, segments: transcript, metadata: metadata, withRequestDetails: true)
        big.agentUtterance = String(repeating: "ü", count: 2_000)
        big.customerReaction = String(repeating: "ö", count: 2_000)
        big.previousTips = Array(repeating: previousTip, count: 10)
        _ = try await coach.tip(for: big, isolation: #isolation) { _ in }
        _ = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: transcript), isolation: #isolation) { _ in }
        for prompt in model.prompts {
            #expect(prompt.user.utf8.count <= CoachingPrompts.tipUserLimit)
            #expect(prompt.user.utf8.count > CoachingPrompts.tipUserLimit / 2)
            // The newest segment is there, the oldest is not, and the cut is said.
            #expect(prompt.user.contains("CUSTOMER: segment 19 "))
            #expect(!prompt.user.contains("segment 8 "))
            #expect(prompt.user.contains("(earlier lines left out)"))
            #expect(prompt.user.hasSuffix("coaching_tip JSON object.\n"))
        }
    }

    @Test func oversizeNewestSegment_isClipped_ratherThanDropped() {
        let transcript = segments(1) { _ in String(repeating: "x", count: 20_000) }
        let text = CoachingPrompts.transcript(transcript[...], maximumBytes: 3_000)
        #expect(text.utf8.count <= 3_000)
        #expect(text.contains("AGENT: xxxx"))
        #expect(text.hasSuffix("…\n"))
    }

    @Test func tipSchema_isStrict_withSuggestionRightAfterKindAndHeadline() throws {
        let prompt = CoachingPrompts.tipPrompt(for: context(mode: .auto, trigger: .auto, segments: segments(2)), stream: true)
        #expect(prompt.schemaName == "coaching_tip")
        let schema = try #require(prompt.schema.objectValue)
        let properties = try #require(schema["properties"]?.objectValue)
        #expect(properties.keys == ["kind", "headline", "suggestion", "options", "confidence"])
        #expect(schema["required"] == ["kind", "headline", "suggestion", "options", "confidence"])
        #expect(schema["additionalProperties"] == false)
        let kinds = try #require(properties["kind"]?["enum"]?.arrayValue).compactMap(\.stringValue)
        #expect(Set(kinds) == Set(TipKind.allCases.map(\.rawValue) + ["none"]))
        let item = try #require(properties["options"]?["items"]?.objectValue)
        #expect(item["properties"]?.objectValue?.keys == ["label", "script"])
        #expect(item["required"] == ["label", "script"])
        #expect(item["additionalProperties"] == false)

        let summary = CoachingPrompts.summaryPrompt(
            for: SummaryContext(conversationID: "c", metadata: nil, durationMs: 0, stats: TranscriptStats(), recentSegments: [], tips: [], picks: [])
        )
        #expect(summary.schemaName == "call_summary")
        #expect(summary.schema["properties"]?.objectValue?.keys == ["notes", "actionItems"])
        #expect(summary.schema["required"] == ["notes", "actionItems"])
        #expect(summary.schema["additionalProperties"] == false)
        #expect(!summary.stream)
    }

    // MARK: Answers

    @Test func validAnswer_decodesIntoATipDraft() async throws {
        let coach = LLMCoach(model: FakeLanguageModel([.text(Self.objectionAnswer)]))
        let draft = try #require(try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: segments(4)), isolation: #isolation) { _ in })
        #expect(draft.kind == .objection)
        #expect(draft.headline == "Price pushback: quantify the cost of inaction")
        #expect(draft.suggestion.hasPrefix("Acknowledge the budget"))
        #expect(draft.options.map(\.id) == ["opt-1", "opt-2"])
        #expect(draft.options[1].label == "Explore the budget")
        #expect(draft.confidence == 0.86)
        #expect(coach.source == .llm)
    }

    @Test func everyTipKind_decodes() throws {
        for kind in TipKind.allCases {
            let answer = #"{"kind":"\#(kind.rawValue)","headline":"h","suggestion":"s","options":[],"confidence":1}"#
            #expect(try LLMCoach.decodeTip(answer)?.kind == kind)
        }
    }

    @Test func kindNone_orEmptySuggestion_meansNoTip() async throws {
        let none = #"{"kind":"none","headline":"","suggestion":"","options":[],"confidence":0}"#
        let empty = #"{"kind":"pacing","headline":"Pause","suggestion":"  ","options":[],"confidence":0.3}"#
        let coach = LLMCoach(model: FakeLanguageModel([.text(none), .text(empty)]))
        let context = context(mode: .auto, trigger: .auto, segments: segments(4))
        #expect(try await coach.tip(for: context, isolation: #isolation) { _ in } == nil)
        #expect(try await coach.tip(for: context, isolation: #isolation) { _ in } == nil)
    }

    @Test(arguments: [
        "not json at all",
        #"{"kind":"objection","headline":"h","suggestion":"cut sh"#,
        #"["kind","objection"]"#,
        #"{"kind":"upsell","headline":"h","suggestion":"s","options":[],"confidence":1}"#,
        #"{"kind":7,"headline":"h","suggestion":"s","options":[],"confidence":1}"#,
        #"{"kind":"objection","suggestion":"s","options":[],"confidence":1}"#,
        #"{"kind":"objection","headline":"h","suggestion":null,"options":[],"confidence":1}"#,
        #"{"kind":"objection","headline":"h","suggestion":"s","options":{},"confidence":1}"#,
        #"{"kind":"objection","headline":"h","suggestion":"s","options":["a"],"confidence":1}"#,
        #"{"kind":"objection","headline":"h","suggestion":"s","options":[{"label":"a"}],"confidence":1}"#,
        #"{"kind":"objection","headline":"h","suggestion":"s","options":[],"confidence":"high"}"#,
        #"{"kind":"objection","headline":"h","suggestion":"s","options":[]}"#,
    ])
    func malformedAnswer_throws(answer: String) async {
        let coach = LLMCoach(model: FakeLanguageModel([.text(answer)]))
        await #expect(throws: LLMCoachError.self) {
            _ = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: segments(4)), isolation: #isolation) { _ in }
        }
    }

    @Test func malformedAnswer_errorNeverQuotesTheAnswer() {
        let secret = #"{"kind":"objection","headline":"Marcus's SSN is 123","suggestion":5,"options":[],"confidence":1}"#
        #expect(throws: LLMCoachError.malformedAnswer("suggestion is missing or not a string")) { try LLMCoach.decodeTip(secret) }
        let huge = "{\"notes\":\"" + String(repeating: "a", count: 70_000) + "\",\"actionItems\":[]}"
        #expect(throws: LLMCoachError.answerTooLarge(bytes: huge.utf8.count)) { try LLMCoach.decodeSummary(huge) }
    }

    @Test func modelError_propagates() async {
        let coach = LLMCoach(model: FakeLanguageModel([.failure(.init(reason: "timeout")), .failure(.init(reason: "http_500"))]))
        await #expect(throws: FakeLanguageModel.FakeFailure(reason: "timeout")) {
            _ = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: segments(4)), isolation: #isolation) { _ in }
        }
        let summaryContext = SummaryContext(conversationID: "c", metadata: nil, durationMs: 1, stats: TranscriptStats(), recentSegments: [], tips: [], picks: [])
        await #expect(throws: FakeLanguageModel.FakeFailure(reason: "http_500")) {
            _ = try await coach.summary(for: summaryContext, isolation: #isolation)
        }
    }

    @Test func isAvailable_followsTheModel() {
        #expect(LLMCoach(model: FakeLanguageModel([], isAvailable: true)).isAvailable)
        #expect(!LLMCoach(model: FakeLanguageModel([], isAvailable: false)).isAvailable)
    }

    // MARK: Streaming

    /// `answer` in pieces of 1 to 7 bytes, cut at scalar boundaries, the escapes and pairs cut anywhere.
    private static func pieces(_ answer: String, seed: UInt64) -> [String] {
        var state = seed
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in answer.unicodeScalars {
            current.append(scalar)
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if current.count >= Int(state >> 61) + 1 {
                pieces.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func streamedAnswer_partialsAreGrowingPrefixesOfTheFinalSuggestion(seed: UInt64) async throws {
        let answer = #"""
            {"kind":"competitor","headline":"Supportly named","suggestion":"Ask what they like about \"Supportly\" \u2014 then contrast on routing! Mention the TMS integration, the 3\u00d7 faster onboarding and the \ud83d\ude80 launch plan they asked about earlier.","options":[{"label":"Ask","script":"What stood out?"},{"label":"Contrast","script":"Did they cover routing?"}],"confidence":0.74}
            """#
        let model = FakeLanguageModel([.pieces(Self.pieces(answer, seed: seed))])
        let coach = LLMCoach(model: model)
        var partials: [String] = []
        let draft = try #require(try await coach.tip(for: context(mode: .event, trigger: .request, segments: segments(6)), isolation: #isolation) {
            partials.append($0)
        })
        #expect(model.prompts[0].stream)
        let final = draft.normalized().suggestion
        #expect(final.hasSuffix("launch plan they asked about earlier."))
        #expect(partials.count >= 3)
        var previous = 0
        for partial in partials {
            #expect(!partial.isEmpty)
            #expect(final.utf8.starts(with: partial.utf8), "\(partial)")
            #expect(partial.utf8.count > previous)
            previous = partial.utf8.count
        }
        // Shown every few words or at a sentence end, not at every token.
        #expect(partials.count <= final.unicodeScalars.count / 10 + 3)
        #expect(partials.last == final)
    }

    @Test func streamedNoneAnswer_sendsNoPartial() async throws {
        let none = #"{"kind":"none","headline":"","suggestion":"Nothing new to add here, the rep is doing fine.","options":[],"confidence":0}"#
        let coach = LLMCoach(model: FakeLanguageModel([.pieces(Self.pieces(none, seed: 7))]))
        var partials: [String] = []
        let draft = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: segments(6)), isolation: #isolation) { partials.append($0) }
        #expect(draft == nil)
        #expect(partials.isEmpty)
    }

    @Test func streamingOff_asksForNoStream_andCallsNoPartial() async throws {
        let model = FakeLanguageModel([.pieces(Self.pieces(Self.objectionAnswer, seed: 3))])
        let coach = LLMCoach(model: model, streamPartials: false)
        var partials = 0
        let draft = try await coach.tip(for: context(mode: .auto, trigger: .auto, segments: segments(6)), isolation: #isolation) { _ in partials += 1 }
        #expect(draft?.kind == .objection)
        #expect(!model.prompts[0].stream)
        #expect(partials == 0)
    }

    @Test func timedTips_areNotStreamed_evenWithPartialsOn() async throws {
        let model = FakeLanguageModel([.pieces(Self.pieces(Self.objectionAnswer, seed: 5))])
        var partials = 0
        let draft = try await LLMCoach(model: model).tip(for: context(mode: .auto, trigger: .auto, segments: segments(6)), isolation: #isolation) { _ in partials += 1 }
        #expect(draft?.kind == .objection)
        #expect(!model.prompts[0].stream)
        #expect(partials == 0)
    }

    @Test func partialsWork_fromInsideAnActor() async throws {
        actor Conversation {
            var partials: [String] = []
            func run(_ coach: LLMCoach, _ context: CoachingContext) async throws -> TipDraft? {
                try await coach.tip(for: context, isolation: self) { self.partials.append($0) }
            }
        }
        let coach = LLMCoach(model: FakeLanguageModel([.pieces(Self.pieces(Self.objectionAnswer, seed: 9))]))
        let conversation = Conversation()
        let draft = try await conversation.run(coach, context(mode: .auto, trigger: .request, segments: segments(3)))
        #expect(draft?.kind == .objection)
        let partials = await conversation.partials
        #expect(partials.last == "Acknowledge the budget, then ask what the manual process costs them today. Keep it short.")
    }

    // MARK: Summary

    @Test func summary_parsesNotesAndActionItems_fromATranscriptPrompt() async throws {
        let answer = #"{"notes":"Price objection at 95 USD per seat; Supportly quoted lower. CFO review agreed.","actionItems":["Send a one-page cost comparison by Thursday","Invite the CFO for Tuesday 2 pm"]}"#
        let model = FakeLanguageModel([.text(answer)])
        let coach = LLMCoach(model: model)
        let transcript = segments(130)
        let summaryContext = SummaryContext(
            conversationID: "c_test", metadata: ["accountName": "Carrow Freight"], durationMs: 268_395, stats: stats(transcript),
            recentSegments: Array(transcript.suffix(120)), tips: [previousTip], picks: [OptionPick(tipID: "tip-0001", optionID: "opt-2")]
        )
        let notes = try await coach.summary(for: summaryContext, isolation: #isolation)
        #expect(notes.notes.hasPrefix("Price objection at 95 USD"))
        #expect(notes.actionItems == ["Send a one-page cost comparison by Thursday", "Invite the CFO for Tuesday 2 pm"])
        let prompt = model.prompts[0]
        #expect(prompt.schemaName == "call_summary")
        #expect(!prompt.stream)
        #expect(prompt.user.contains("Duration: 04:28"))
        #expect(prompt.user.contains("- objection: Price pushback: quantify the pain (picked: Compare)"))
        #expect(prompt.user.contains("CUSTOMER: line 129 "))
        #expect(prompt.user.utf8.count <= CoachingPrompts.summaryUserLimit)
        #expect(!prompt.system.contains("Carrow"))
    }

    @Test(arguments: [
        #"{"notes":"n"}"#,
        #"{"notes":3,"actionItems":[]}"#,
        #"{"notes":"n","actionItems":"do it"}"#,
        #"{"notes":"n","actionItems":["ok",4]}"#,
        "notes: n",
    ])
    func malformedSummary_throws(answer: String) async {
        let coach = LLMCoach(model: FakeLanguageModel([.text(answer)]))
        let summaryContext = SummaryContext(conversationID: "c", metadata: nil, durationMs: 1, stats: TranscriptStats(), recentSegments: [], tips: [], picks: [])
        await #expect(throws: LLMCoachError.self) {
            _ = try await coach.summary(for: summaryContext, isolation: #isolation)
        }
    }
}
