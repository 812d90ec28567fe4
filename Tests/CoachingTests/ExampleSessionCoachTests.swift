import Foundation
import JSON
import Testing

@testable import Coaching

/// Replays each `protocol/examples/*.json` call session through ``RuleCoach`` alone, the way a server
/// with the rule coach would make tips (protocol/README.md, "Auto mode" and "Event-driven mode"), and
/// checks the example's `expect.tipKinds` and the parts of `expect.summary` the coach is responsible for.
@Suite("Example sessions through the rule coach")
struct ExampleSessionCoachTests {
    /// `protocol/` of this repository, found from this file's path.
    static let protocolDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CoachingTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository
        .appendingPathComponent("protocol")

    static let exampleNames = [
        "auto-price-objection-competitor",
        "event-requests-and-picks",
        "auto-monologue-no-next-step",
        "auto-discovery-unanswered-question",
    ]

    @Test("every example file in protocol/examples is replayed here")
    func everyExampleIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(
            atPath: Self.protocolDirectory.appendingPathComponent("examples").path
        )
        let names = files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
        #expect(names == Self.exampleNames.sorted())
    }

    @Test("the rule coach produces the tip kinds each example expects", arguments: exampleNames)
    func exampleTipKinds(name: String) throws {
        let example = try Self.load(name)
        let replay = SessionReplay(example: example, coach: RuleCoach())
        let result = try replay.run()
        let kinds = result.tips.map(\.draft.kind.rawValue)
        let expected = example["expect"]?["tipKinds"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let match = example["expect"]?["tipKindsMatch"]?.stringValue
        let log = Comment(rawValue: result.log.joined(separator: "\n"))
        if ProcessInfo.processInfo.environment["EARPIECE_PRINT_REPLAY"] != nil {
            // For reviewing the coach's wording: EARPIECE_PRINT_REPLAY=1 swift test --filter ExampleSession
            print("=== \(name)\n\(log.rawValue)")
            for tip in result.tips {
                print(
                    "  \(tip.id) \(tip.draft.kind.rawValue) \(tip.draft.confidence): \(tip.draft.headline) | \(tip.draft.suggestion)"
                )
                for option in tip.draft.options { print("    - \(option.label): \(option.script)") }
            }
        }
        switch match {
        case "ordered":
            #expect(kinds == expected, log)
        case "contains":
            for kind in expected { #expect(kinds.contains(kind), "missing \(kind)\n\(log.rawValue)") }
        default:
            Issue.record("unknown tipKindsMatch \(match ?? "nil")")
        }
        // Every tip is within the protocol's limits and not a repeat of the tip before it.
        for (index, tip) in result.tips.enumerated() {
            #expect((1...120).contains(tip.draft.headline.unicodeScalars.count))
            #expect((1...1000).contains(tip.draft.suggestion.unicodeScalars.count))
            #expect((2...3).contains(tip.draft.options.count), "\(tip.draft.headline)")
            #expect((0...1).contains(tip.draft.confidence))
            #expect(!tip.draft.headline.contains("{") && !tip.draft.suggestion.contains("{"), "\(tip.draft.headline)")
            if index > 0 { #expect(tip.draft.ruleID != result.tips[index - 1].draft.ruleID, log) }
        }
    }

    @Test("the rule coach's summary meets each example's expectations", arguments: exampleNames)
    func exampleSummary(name: String) throws {
        let example = try Self.load(name)
        let result = try SessionReplay(example: example, coach: RuleCoach()).run()
        let summary = try #require(example["expect"]?["summary"]?.objectValue)
        let notes = result.summary
        #expect(!notes.notes.isEmpty && notes.notes.unicodeScalars.count <= 4000)
        #expect(notes.actionItems.count <= 20)
        for item in notes.actionItems { #expect((1...500).contains(item.unicodeScalars.count)) }
        if let minimum = summary["actionItems"]?["minCount"]?.intValue {
            #expect(notes.actionItems.count >= minimum, "\(notes.actionItems)")
        }
        if let segments = summary["segments"]?.intValue { #expect(result.stats.segments == segments) }
        if let tipsShown = summary["tipsShown"] {
            if let exact = tipsShown.intValue { #expect(result.tips.count == exact) }
            if let minimum = tipsShown["min"]?.intValue { #expect(result.tips.count >= minimum) }
        }
        if let count = summary["optionsPicked"]?["count"]?.intValue { #expect(result.picks.count == count) }
        if let ratio = summary["talkRatio"]?.objectValue {
            let measured = result.stats.talkRatio
            for (speaker, value) in [("agent", measured.agent), ("customer", measured.customer)] {
                if let minimum = ratio[speaker]?["min"]?.doubleValue, let maximum = ratio[speaker]?["max"]?.doubleValue
                {
                    #expect((minimum...maximum).contains(value), "\(speaker) \(value)")
                }
            }
        }
        // Notes quote at most a few words: no sentence of the transcript appears whole.
        for segment in result.segments where segment.text.split(separator: " ").count > 12 {
            #expect(!notes.notes.contains(segment.text))
        }
    }

    @Test("the monologue example's summary reports the missing next step and the talk ratio")
    func monologueSummaryContent() throws {
        let result = try SessionReplay(example: Self.load("auto-monologue-no-next-step"), coach: RuleCoach()).run()
        #expect(result.summary.notes.contains("No next step was agreed."))
        #expect(result.summary.notes.contains("Talk ratio: agent"))
        #expect(result.summary.actionItems.contains { $0.hasPrefix("Agree a next step with Parcelon") })
    }

    @Test("the price example's summary names the objection, the competitor and the rep's commitments")
    func priceSummaryContent() throws {
        let result = try SessionReplay(example: Self.load("auto-price-objection-competitor"), coach: RuleCoach()).run()
        let notes = result.summary
        #expect(notes.notes.contains("price ("))
        #expect(notes.notes.contains("Competitors mentioned: Supportly."))
        #expect(notes.notes.contains("A next step was agreed."))
        #expect(notes.actionItems.contains("Send it by Thursday"), "\(notes.actionItems)")
        #expect(notes.actionItems.contains("Send a tentative invite for two o'clock"), "\(notes.actionItems)")
    }

    @Test("the discovery example's summary lists the unanswered Gong question as an action item")
    func discoverySummaryContent() throws {
        let result = try SessionReplay(example: Self.load("auto-discovery-unanswered-question"), coach: RuleCoach())
            .run()
        #expect(result.summary.notes.contains("Customer questions left open: 1"), "\(result.summary.notes)")
        #expect(
            result.summary.actionItems.contains("Answer the open question about Gong"),
            "\(result.summary.actionItems)"
        )
    }

    @Test("the event example's summary lists the options picked and both sides' commitments")
    func eventSummaryContent() throws {
        let result = try SessionReplay(example: Self.load("event-requests-and-picks"), coach: RuleCoach()).run()
        #expect(result.summary.notes.contains("Options picked: "))
        #expect(
            result.summary.actionItems.contains("Send the invite and a short recap today"),
            "\(result.summary.actionItems)"
        )
        #expect(
            result.summary.actionItems.contains { $0.hasPrefix("Customer will send you three months") },
            "\(result.summary.actionItems)"
        )
    }

    static func load(_ name: String) throws -> JSONValue {
        let url = Self.protocolDirectory.appendingPathComponent("examples").appendingPathComponent("\(name).json")
        return try JSONParser.parse(String(contentsOf: url, encoding: .utf8))
    }
}

/// A server's tip timing, played from an example's events with a coach and no network.
struct SessionReplay {
    let example: JSONValue
    let coach: RuleCoach

    struct Result {
        var tips: [Tip] = []
        var picks: [OptionPick] = []
        var segments: [Segment] = []
        var stats = TranscriptStats()
        var summary = SummaryNotes(notes: "", actionItems: [])
        var log: [String] = []
    }

    struct ReplayError: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws -> Result {
        let mode = ConversationMode(rawValue: self.example["mode"]?.stringValue ?? "") ?? .auto
        let warmupMs = (self.example["warmupSeconds"]?.intValue ?? 180) * 1000
        let intervalMs = (self.example["intervalSeconds"]?.intValue ?? 30) * 1000
        let metadata = self.example["metadata"]?.objectValue
        guard let events = self.example["events"]?.arrayValue else { throw ReplayError(description: "no events") }

        var result = Result()
        var knownSegments = Set<String>()
        var requests: [String: String] = [:]  // requestId -> tipId
        var picksByTip: [String: String] = [:]
        var nextTickMs = warmupMs
        var segmentsAtLastTip = 0

        func add(_ payload: JSONValue) {
            guard let id = payload["segmentId"]?.stringValue, knownSegments.insert(id).inserted else { return }
            let segment = Segment(
                id: id,
                speaker: Speaker(rawValue: payload["speaker"]?.stringValue ?? "") ?? .customer,
                text: payload["text"]?.stringValue ?? "",
                startMs: payload["startMs"]?.intValue,
                endMs: payload["endMs"]?.intValue
            )
            result.segments.append(segment)
            result.stats.add(segment)
        }

        func lastPick() -> PickedOption? {
            guard let tip = result.tips.last, let optionID = picksByTip[tip.id],
                let option = tip.draft.options.first(where: { $0.id == optionID })
            else { return nil }
            return PickedOption(tip: tip, option: option)
        }

        func makeTip(
            at ms: Int,
            trigger: TipTrigger,
            requestID: String?,
            agentUtterance: String?,
            customerReaction: String?
        ) -> Tip? {
            let context = CoachingContext(
                conversationID: "c_replay",
                mode: mode,
                trigger: trigger,
                metadata: metadata,
                elapsedMs: ms,
                recentSegments: Array(result.segments.suffix(CoachingLimits.contextSegments)),
                stats: result.stats,
                previousTips: Array(result.tips.suffix(10)),
                lastPick: lastPick(),
                agentUtterance: agentUtterance,
                customerReaction: customerReaction
            )
            guard let draft = self.coach.tip(for: context) else {
                result.log.append("\(ms) \(trigger.rawValue): no tip")
                return nil
            }
            let tip = Tip(
                id: String(format: "tip-%04d", result.tips.count + 1),
                draft: draft,
                source: .rules,
                latencyMs: 0,
                trigger: trigger,
                requestID: requestID,
                lastSegmentID: result.segments.last?.id
            )
            result.tips.append(tip)
            segmentsAtLastTip = result.segments.count
            result.log.append(
                "\(ms) \(trigger.rawValue): \(draft.kind.rawValue) [\(draft.ruleID ?? "-")] \(draft.headline)"
            )
            return tip
        }

        func runTicks(before ms: Int) {
            guard mode == .auto else { return }
            // Bounded: a call lasts at most a day of ticks.
            var guardCount = 0
            while nextTickMs < ms && guardCount < 10_000 {
                guardCount += 1
                let tickMs = nextTickMs
                nextTickMs += intervalMs
                // Skipped when no segment arrived since the previous tip.
                if !result.tips.isEmpty && result.segments.count == segmentsAtLastTip { continue }
                if result.segments.isEmpty { continue }
                _ = makeTip(at: tickMs, trigger: .auto, requestID: nil, agentUtterance: nil, customerReaction: nil)
            }
        }

        func pick(_ fill: JSONValue?) -> (tipID: String, optionID: String)? {
            guard let index = fill?["optionIndex"]?.intValue, let tip = result.tips.last,
                tip.draft.options.indices.contains(index)
            else {
                return nil
            }
            return (tip.id, tip.draft.options[index].id)
        }

        for event in events {
            let atMs = event["atMs"]?.intValue ?? 0
            runTicks(before: atMs)
            let payload = event["payload"] ?? .object(JSONObject())
            switch event["send"]?.stringValue {
            case "TRANSCRIPT":
                add(payload)
            case "OPTION_SELECTED":
                if let (tipID, optionID) = pick(event["fill"]) { picksByTip[tipID] = optionID }
            case "REQUEST_NEXT_TIP":
                guard let requestID = payload["requestId"]?.stringValue else { continue }
                for segment in payload["recentSegments"]?.arrayValue ?? [] { add(segment) }
                if let (tipID, optionID) = pick(event["fill"]) { picksByTip[tipID] = optionID }
                if requests[requestID] != nil { continue }
                let tip = makeTip(
                    at: atMs,
                    trigger: .request,
                    requestID: requestID,
                    agentUtterance: payload["agentUtterance"]?.stringValue,
                    customerReaction: payload["customerReaction"]?.stringValue
                )
                requests[requestID] = tip?.id ?? "none"
                nextTickMs = atMs + intervalMs
            case "END_CONVERSATION":
                let summaryContext = SummaryContext(
                    conversationID: "c_replay",
                    metadata: metadata,
                    durationMs: atMs,
                    stats: result.stats,
                    recentSegments: Array(result.segments.suffix(CoachingLimits.summarySegments)),
                    tips: result.tips,
                    picks: result.tips.compactMap { tip in
                        picksByTip[tip.id].map { OptionPick(tipID: tip.id, optionID: $0) }
                    }
                )
                result.picks = summaryContext.picks
                result.summary = self.coach.summary(for: summaryContext)
                result.log.append("summary: \(result.summary.notes) | \(result.summary.actionItems)")
                return result
            default:
                break  // START_CONVERSATION (resume), reconnect: nothing for the coach.
            }
        }
        throw ReplayError(description: "no END_CONVERSATION")
    }
}
