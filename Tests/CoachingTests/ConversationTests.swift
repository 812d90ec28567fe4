import Coaching
import CoachingLoop
import IOPosix
import JSON
import Synchronization
import Testing

/// A client that records what it receives, and the acks, in one ordered log.
final class RecordingClient: ConversationClient {
    let connectionID: String
    private let log = Mutex<[ServerEvent]>([])

    init(_ id: String) { self.connectionID = id }

    func send(_ event: ServerEvent) { self.log.withLock { $0.append(event) } }

    /// Records an ack in the same log, to check what came before what.
    func recordAck(_ reply: EventReply) {
        let body: JSONObject
        switch reply {
        case .success(let object): body = object
        case .failure(let error): body = error.ackBody
        }
        self.send(ServerEvent(name: "ack", payload: .object(body)))
    }

    var events: [ServerEvent] { self.log.withLock { $0 } }

    func events(named name: String) -> [ServerEvent] { self.events.filter { $0.name == name } }

    /// Waits until `count` events named `name` arrived (or 10 s passed) and returns them.
    func wait(for name: String, count: Int = 1) async -> [ServerEvent] {
        for _ in 0..<1000 {
            let found = self.events(named: name)
            if found.count >= count { return found }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.events(named: name)
    }
}

/// A coach that answers from a script: a fixed kind, after an optional delay, with optional partials.
struct ScriptedCoach: Coach {
    var source: TipSource
    var kind: TipKind = .discovery
    var delay: Duration = .zero
    var partials: [String] = []
    var fails = false

    func tip(for context: CoachingContext, isolation: isolated (any Actor)?, partial: (String) -> Void) async throws -> TipDraft? {
        for text in self.partials { partial(text) }
        if self.delay > .zero { try await Task.sleep(for: self.delay) }
        if self.fails { throw CoachingError(.internal, "scripted failure") }
        let pick = context.lastPick.map { " after \($0.option.id)" } ?? ""
        return TipDraft(
            kind: self.kind, headline: "\(self.source.rawValue) tip\(pick)", suggestion: "Say something useful.",
            options: [TipOption(id: "x", label: "One", script: "Line one."), TipOption(id: "y", label: "Two", script: "Line two.")],
            confidence: 0.7
        )
    }

    func summary(for context: SummaryContext, isolation: isolated (any Actor)?) async throws -> SummaryNotes {
        if self.fails { throw CoachingError(.internal, "scripted failure") }
        return SummaryNotes(notes: "\(self.source.rawValue) notes on \(context.stats.segments) segments", actionItems: ["Follow up"])
    }
}

/// A copilot on one real event loop, and helpers to talk to it as connections do.
final class CopilotHarness: Sendable {
    let group: EventLoopGroup
    let scheduler: LoopScheduler
    let copilot: Copilot

    init(llm: ScriptedCoach? = nil, rules: ScriptedCoach = ScriptedCoach(source: .rules), configure: (inout CoachingConfiguration) -> Void = { _ in }) throws {
        self.group = try EventLoopGroup(loopCount: 1)
        self.scheduler = LoopScheduler(loop: self.group.loops[0])
        var configuration = CoachingConfiguration()
        configuration.timeScale = 0.001
        configure(&configuration)
        let services = CoachingServices(llm: llm, rules: rules, store: InMemoryConversationStore(), rateLimiter: InMemoryRateLimiter())
        self.copilot = Copilot(configuration: configuration, services: services, wallClockMs: { 1_700_000_000_000 })
    }

    deinit { self.group.shutdown() }

    func connect(key: String = "key-1", id: String = "conn-1") -> (ClientSession, RecordingClient) {
        let client = RecordingClient(id)
        return (ClientSession(keyID: key, client: client, scheduler: self.scheduler, eventRate: .perSecond(1000)), client)
    }

    /// Sends event `name` with `payload` from `session` on the loop, and returns the reply (also logged).
    func send(_ name: String, _ payload: JSONValue?, from session: ClientSession) async -> EventReply {
        let client = session.client as! RecordingClient
        return await withCheckedContinuation { continuation in
            self.scheduler.execute {
                self.copilot.handle(name, argument: payload, session: session) { reply in
                    client.recordAck(reply)
                    continuation.resume(returning: reply)
                }
            }
        }
    }

    func close(_ session: ClientSession) async {
        await withCheckedContinuation { continuation in
            self.scheduler.execute {
                self.copilot.sessionClosed(session)
                continuation.resume()
            }
        }
    }

    /// Starts a conversation and returns its id.
    func start(_ session: ClientSession, mode: String = "auto", warmup: Int = 180, interval: Int = 30) async throws -> String {
        let reply = try await self.send("START_CONVERSATION", ["mode": .string(mode), "warmupSeconds": JSONValue(warmup), "intervalSeconds": JSONValue(interval)], from: session).get()
        return try #require(reply["conversationId"]?.stringValue)
    }

    func segment(_ conversation: String, _ id: String, _ speaker: String = "customer", _ text: String = "We use a spreadsheet today.") -> JSONValue {
        ["conversationId": .string(conversation), "segmentId": .string(id), "speaker": .string(speaker), "text": .string(text)]
    }
}

extension Result where Success == JSONObject, Failure == CoachingError {
    var errorCode: CoachingErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

@Suite("Conversations on a real event loop")
struct ConversationTests {
    @Test func start_acksFirst_thenSendsStarted_withDefaultsApplied() async throws {
        let harness = try CopilotHarness()
        let (session, client) = harness.connect()
        let id = try await harness.start(session)
        #expect(id.hasPrefix("c_") && id.count == 18)
        _ = await client.wait(for: "CONVERSATION_STARTED")
        #expect(client.events.map(\.name) == ["ack", "CONVERSATION_STARTED"])
        let started = client.events[1].payload
        #expect(started["mode"] == "auto" && started["warmupSeconds"] == 180 && started["intervalSeconds"] == 30 && started["resumed"] == false)
        #expect(harness.copilot.activeConversations == 1)
    }

    @Test func transcript_isStoredOnce_andUnknownOrForeignConversationsAreRefused() async throws {
        let harness = try CopilotHarness()
        let (session, _) = harness.connect()
        let id = try await harness.start(session)
        #expect(try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: session).get()["duplicate"] == false)
        #expect(try await harness.send("TRANSCRIPT", harness.segment(id, "s1", "agent", "different"), from: session).get()["duplicate"] == true)
        #expect(await harness.send("TRANSCRIPT", harness.segment("c_unknown", "s2"), from: session).errorCode == .unknownConversation)
        let (other, _) = harness.connect(key: "key-2", id: "conn-2")
        #expect(await harness.send("TRANSCRIPT", harness.segment(id, "s3"), from: other).errorCode == .notOwner)
        #expect(await harness.send("TRANSCRIPT", ["conversationId": .string(id)], from: session).errorCode == .invalidPayload)
    }

    @Test func autoMode_sendsATipAfterTheWarmup_onlyWhenSomethingWasSaid() async throws {
        let harness = try CopilotHarness { $0.timeScale = 0.002 }  // warm-up 180 s -> 360 ms, interval 30 s -> 60 ms
        let (session, client) = harness.connect()
        let id = try await harness.start(session)
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: session).get()
        let tips = await client.wait(for: "AI_TIP")
        #expect(tips.count == 1)
        #expect(tips[0].payload["trigger"] == "auto" && tips[0].payload["source"] == "rules" && tips[0].payload["tipId"] == "tip-0001")
        #expect(tips[0].payload["lastSegmentId"] == "s1")
        // No new segment: the next ticks are skipped.
        try await Task.sleep(for: .milliseconds(300))
        #expect(client.events(named: "AI_TIP").count == 1)
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s2"), from: session).get()
        #expect(await client.wait(for: "AI_TIP", count: 2).count == 2)
    }

    @Test func requestNextTip_isAccepted_thenDuplicate_resendsTheSameTip() async throws {
        let harness = try CopilotHarness()
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        let request: JSONValue = ["conversationId": .string(id), "requestId": "r1", "customerReaction": "They frowned."]
        let first = try await harness.send("REQUEST_NEXT_TIP", request, from: session).get()
        #expect(first["status"] == "accepted" && first["tipId"] == "tip-0001")
        let tip = await client.wait(for: "AI_TIP")
        #expect(tip.first?.payload["requestId"] == "r1" && tip.first?.payload["trigger"] == "request")
        let again = try await harness.send("REQUEST_NEXT_TIP", request, from: session).get()
        #expect(again["status"] == "duplicate" && again["tipId"] == "tip-0001")
        let tips = await client.wait(for: "AI_TIP", count: 2)
        #expect(tips.count == 2 && tips[0] == tips[1])
        // The ack of the duplicate comes before the re-sent tip.
        let names = client.events.map(\.name)
        #expect(names.suffix(2) == ["ack", "AI_TIP"])
    }

    @Test func requestWhileATipIsBeingMade_isCoalesced() async throws {
        let harness = try CopilotHarness(llm: ScriptedCoach(source: .llm, delay: .milliseconds(300)))
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        let first = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        let second = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r2"], from: session).get()
        #expect(second["status"] == "coalesced" && second["code"] == "TIP_IN_PROGRESS" && second["tipId"] == first["tipId"])
        let tips = await client.wait(for: "AI_TIP")
        #expect(tips.count == 1 && tips[0].payload["source"] == "llm")
        try await Task.sleep(for: .milliseconds(100))
        #expect(client.events(named: "AI_TIP").count == 1)
    }

    @Test func slowLLM_missesItsDeadline_andTheRuleCoachAnswers() async throws {
        let harness = try CopilotHarness(llm: ScriptedCoach(source: .llm, delay: .seconds(5))) { $0.llmDeadline = .milliseconds(100) }
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        let tips = await client.wait(for: "AI_TIP")
        #expect(tips.first?.payload["source"] == "rules")
    }

    @Test func failingLLM_fallsBackToRules_forTipsAndSummary() async throws {
        let harness = try CopilotHarness(llm: ScriptedCoach(source: .llm, fails: true))
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        #expect(await client.wait(for: "AI_TIP").first?.payload["source"] == "rules")
        _ = try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: session).get()
        let ended = await client.wait(for: "CONVERSATION_ENDED")
        #expect(ended.first?.payload["summary"]?["source"] == "rules")
    }

    @Test func streamingLLM_sendsPartials_thenTheTip() async throws {
        let harness = try CopilotHarness(llm: ScriptedCoach(source: .llm, partials: ["Ask", "Ask about", "Ask about budget"]))
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        _ = await client.wait(for: "AI_TIP")
        let names = client.events.map(\.name).filter { $0.hasPrefix("AI_TIP") }
        #expect(names == ["AI_TIP_PARTIAL", "AI_TIP_PARTIAL", "AI_TIP_PARTIAL", "AI_TIP"])
        #expect(client.events(named: "AI_TIP_PARTIAL").map { $0.payload["text"] } == ["Ask", "Ask about", "Ask about budget"])
        #expect(client.events(named: "AI_TIP")[0].payload["source"] == "llm")
    }

    @Test func optionPicks_areRecorded_validated_andShapeTheNextTip() async throws {
        let harness = try CopilotHarness()
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        let tip = try #require(await client.wait(for: "AI_TIP").first)
        let tipID = tip.payload["tipId"]!
        #expect(tip.payload["options"]?[1]?["id"] == "opt-2")  // normalized ids
        #expect(await harness.send("OPTION_SELECTED", ["conversationId": .string(id), "tipId": tipID, "optionId": "opt-9"], from: session).errorCode == .invalidPayload)
        #expect(try await harness.send("OPTION_SELECTED", ["conversationId": .string(id), "tipId": tipID, "optionId": "opt-2"], from: session).get()["duplicate"] == false)
        #expect(try await harness.send("OPTION_SELECTED", ["conversationId": .string(id), "tipId": tipID, "optionId": "opt-2"], from: session).get()["duplicate"] == true)
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r2"], from: session).get()
        let second = await client.wait(for: "AI_TIP", count: 2)
        #expect(second.last?.payload["headline"] == "rules tip after opt-2")
        _ = try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: session).get()
        let summary = try #require(await client.wait(for: "CONVERSATION_ENDED").first?.payload["summary"])
        #expect(summary["tipsShown"] == 2)
        #expect(summary["optionsPicked"] == [["tipId": tipID, "optionId": "opt-2"]])
    }

    @Test func end_sendsTheSummary_andAgainOnARetry_thenRefusesEvents() async throws {
        let harness = try CopilotHarness()
        let (session, client) = harness.connect()
        let id = try await harness.start(session)
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: session).get()
        #expect(try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: session).get()["duplicate"] == false)
        let ended = await client.wait(for: "CONVERSATION_ENDED")
        #expect(ended.first?.payload["reason"] == "requested" && ended.first?.payload["summary"]?["segments"] == 1)
        #expect(harness.copilot.activeConversations == 0)
        #expect(try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: session).get()["duplicate"] == true)
        let again = await client.wait(for: "CONVERSATION_ENDED", count: 2)
        #expect(again.count == 2 && again[0] == again[1])
        #expect(await harness.send("TRANSCRIPT", harness.segment(id, "s2"), from: session).errorCode == .conversationEnded)
    }

    @Test func droppedConnection_canResume_withItsSegmentCount_butNotWithAnotherKey() async throws {
        let harness = try CopilotHarness()
        let (session, _) = harness.connect()
        let id = try await harness.start(session)
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: session).get()
        await harness.close(session)
        let (stranger, _) = harness.connect(key: "key-2", id: "conn-3")
        #expect(await harness.send("START_CONVERSATION", ["mode": "auto", "conversationId": .string(id)], from: stranger).errorCode == .notOwner)
        let (again, client) = harness.connect(id: "conn-2")
        let ack = try await harness.send("START_CONVERSATION", ["mode": "event", "conversationId": .string(id)], from: again).get()
        #expect(ack["resumed"] == true && ack["conversationId"] == .string(id))
        let started = try #require(await client.wait(for: "CONVERSATION_STARTED").first?.payload)
        #expect(started["resumed"] == true && started["segments"] == 1 && started["lastSegmentId"] == "s1" && started["mode"] == "auto")
        #expect(try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: again).get()["duplicate"] == true)
        // The old connection no longer owns it.
        #expect(await harness.send("TRANSCRIPT", harness.segment(id, "s9"), from: session).errorCode == .notOwner)
    }

    @Test func graceExpiry_endsADetachedConversation() async throws {
        let harness = try CopilotHarness { $0.resumeGrace = .seconds(50) }  // 50 ms at the test's time scale
        let (session, _) = harness.connect()
        let id = try await harness.start(session)
        await harness.close(session)
        try await Task.sleep(for: .milliseconds(300))
        #expect(harness.copilot.activeConversations == 0)
        let (again, client) = harness.connect(id: "conn-2")
        #expect(await harness.send("START_CONVERSATION", ["mode": "auto", "conversationId": .string(id)], from: again).errorCode == .conversationEnded)
        // Another connection of the same key still gets the summary when it ends the call again.
        #expect(try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: again).get()["duplicate"] == true)
        let ended = await client.wait(for: "CONVERSATION_ENDED")
        #expect(ended.first?.payload["reason"] == "grace_expired")
    }

    @Test func perKeyQuota_refusesAnotherConversation_untilOneEnds() async throws {
        let harness = try CopilotHarness { $0.maximumConversationsPerKey = 1 }
        let (session, _) = harness.connect()
        let id = try await harness.start(session)
        #expect(await harness.send("START_CONVERSATION", ["mode": "auto"], from: session).errorCode == .limitExceeded)
        _ = try await harness.send("END_CONVERSATION", ["conversationId": .string(id)], from: session).get()
        #expect(try await harness.send("START_CONVERSATION", ["mode": "auto"], from: session).get()["ok"] == true)
    }

    @Test func rateLimits_refuseWithRetryAfter() async throws {
        let harness = try CopilotHarness { $0.transcriptRate = .perSecond(2) }
        let (session, _) = harness.connect()
        let id = try await harness.start(session)
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s1"), from: session).get()
        _ = try await harness.send("TRANSCRIPT", harness.segment(id, "s2"), from: session).get()
        let refused = await harness.send("TRANSCRIPT", harness.segment(id, "s3"), from: session)
        guard case .failure(let error) = refused else { Issue.record("not refused"); return }
        #expect(error.code == .rateLimited && (error.retryAfterMs ?? 0) > 0)
    }

    @Test func keyTipBudget_refusesRequestedTips_onceSpent() async throws {
        let harness = try CopilotHarness { $0.keyTipRate = .perMinute(1) }
        let (session, client) = harness.connect()
        let id = try await harness.start(session, mode: "event")
        _ = try await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r1"], from: session).get()
        _ = await client.wait(for: "AI_TIP")
        let refused = await harness.send("REQUEST_NEXT_TIP", ["conversationId": .string(id), "requestId": "r2"], from: session)
        guard case .failure(let error) = refused else { Issue.record("not refused"); return }
        #expect(error.code == .rateLimited && (error.retryAfterMs ?? 0) > 0)
    }

    @Test func anEventWithMoreThanOneArgument_isRefused() async throws {
        let harness = try CopilotHarness()
        let (session, _) = harness.connect()
        let reply: EventReply = await withCheckedContinuation { continuation in
            harness.scheduler.execute {
                harness.copilot.handle("PING", arguments: [[:], [:]], session: session) { continuation.resume(returning: $0) }
            }
        }
        #expect(reply.errorCode == .invalidPayload)
    }

    @Test func ping_acksWithTheTime_thenSendsPong() async throws {
        let harness = try CopilotHarness()
        let (session, client) = harness.connect()
        #expect(try await harness.send("PING", nil, from: session).get()["timestamp"] == 1_700_000_000_000)
        #expect(await client.wait(for: "PONG").first?.payload == ["timestamp": 1_700_000_000_000])
    }
}
