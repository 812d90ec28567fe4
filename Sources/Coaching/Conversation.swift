import JSON
public import Logging

/// Where a conversation runs: its connection's event loop. `earpiece` implements it over IOPosix's loop.
public protocol ConversationScheduler: AnyObject, Sendable {
    /// The executor of every conversation on this loop.
    var executor: UnownedSerialExecutor { get }
    /// Whether the caller runs on this loop now.
    var isCurrent: Bool { get }
    /// Runs `body` on the loop soon; from one thread, bodies run in the order given.
    func execute(_ body: @escaping @Sendable () -> Void)
    /// Runs `body` on the loop after `delay`. Call on the loop only.
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any ScheduledWork
}

/// A timer a ``ConversationScheduler`` started; cancelled on the loop only.
public protocol ScheduledWork {
    func cancel()
}

/// The connection a conversation sends its events to.
public protocol ConversationClient: AnyObject, Sendable {
    /// Unique per connection, for logs.
    var connectionID: String { get }
    /// Sends `event` to the client (safe from any thread).
    func send(_ event: ServerEvent)
}

/// What the program wants to count (metrics). Every method has a do-nothing default.
public protocol CoachingObserver: Sendable {
    func segmentStored()
    func tipDelivered(source: TipSource, trigger: TipTrigger, latency: Duration, fellBack: Bool)
    func eventRefused(_ code: CoachingErrorCode)
    func conversationEnded(reason: EndReason, duration: Duration)
}

extension CoachingObserver {
    public func segmentStored() {}
    public func tipDelivered(source: TipSource, trigger: TipTrigger, latency: Duration, fellBack: Bool) {}
    public func eventRefused(_ code: CoachingErrorCode) {}
    public func conversationEnded(reason: EndReason, duration: Duration) {}
}

/// An observer that counts nothing.
public struct NoCoachingObserver: CoachingObserver {
    public init() {}
}

/// The parts a conversation works with, shared by all of them.
public struct CoachingServices: Sendable {
    /// The language-model coach, if configured; tips fall back to `rules` when it fails or is slow.
    public var llm: (any Coach)?
    /// The rule-based coach: the default, and the fallback.
    public var rules: any Coach
    public var store: any ConversationStore
    public var rateLimiter: any RateLimiter
    public var observer: any CoachingObserver
    public var logger: Logger

    public init(llm: (any Coach)?, rules: any Coach, store: any ConversationStore, rateLimiter: any RateLimiter, observer: any CoachingObserver = NoCoachingObserver(), logger: Logger = Logger(label: "earpiece.coaching")) {
        self.llm = llm
        self.rules = rules
        self.store = store
        self.rateLimiter = rateLimiter
        self.observer = observer
        self.logger = logger
    }
}

/// One call: its transcript, tips and timers. An actor whose executor is its connection's event loop, so
/// events from that connection enter it without a thread hop. Events are processed one at a time in the
/// order received, even when the store suspends.
public actor Conversation {
    public nonisolated let id: String
    /// The API key that owns the conversation.
    public nonisolated let keyID: String
    public nonisolated let settings: ConversationSettings
    nonisolated let scheduler: any ConversationScheduler
    private let configuration: CoachingConfiguration
    private let services: CoachingServices
    /// Weak: the registry holds the conversation until it is forgotten.
    private weak var registry: ConversationRegistry?
    private var logger: Logger

    public nonisolated var unownedExecutor: UnownedSerialExecutor { self.scheduler.executor }

    private enum Phase: Equatable {
        case active
        case detached
        case ended(EndReason)
    }

    /// The tip being made.
    private struct PendingTip {
        var id: String
        var trigger: TipTrigger
        var requestID: String?
        var startedAt: ContinuousClock.Instant
        var task: Task<Void, Never>?
        var deadline: (any ScheduledWork)?
        var lastPartial = ""
        /// The LLM missed its deadline: the rule coach answers, and whatever the LLM says later is ignored.
        var fellBack = false
    }

    private var phase = Phase.active
    private var client: (any ConversationClient)?
    private let startedAt = ContinuousClock.now
    private var summaryEvent: ServerEvent?
    /// Clients that asked for the summary (a retried END_CONVERSATION) before it was ready.
    private var summaryWaiters: [any ConversationClient] = []

    private var recent: [Segment] = []
    private var stats = TranscriptStats()
    private var lastSegmentID: String?
    private var newSegmentsSinceTip = false

    private var tips: [Tip] = []
    private var tipIndex: [String: Int] = [:]
    private var picks: [String: String] = [:]
    private var requests: [String: String] = [:]
    private var pending: PendingTip?
    private var undelivered: [ServerEvent] = []
    private var nextTipNumber = 1

    private var tickTimer: (any ScheduledWork)?
    private var graceTimer: (any ScheduledWork)?
    private var idleTimer: (any ScheduledWork)?
    private var transcriptBucket: TokenBucket
    private var tipRequestBucket: TokenBucket

    private var inbox: [(Command, any ConversationClient, @Sendable (EventReply) -> Void)] = []
    private var pumping = false

    /// An event for this conversation, decoded.
    enum Command: Sendable {
        case transcript(Segment)
        case option(OptionSelected)
        case request(TipRequest)
        case end
    }

    init(
        id: String, keyID: String, settings: ConversationSettings, scheduler: any ConversationScheduler,
        configuration: CoachingConfiguration, services: CoachingServices, registry: ConversationRegistry
    ) {
        self.id = id
        self.keyID = keyID
        self.settings = settings
        self.scheduler = scheduler
        self.configuration = configuration
        self.services = services
        self.registry = registry
        self.logger = services.logger
        self.logger[metadataKey: "conversation.id"] = "\(id)"
        let now = MonotonicClock.milliseconds()
        self.transcriptBucket = TokenBucket(configuration.transcriptRate, nowMs: now)
        self.tipRequestBucket = TokenBucket(configuration.tipRequestRate, nowMs: now)
    }

    // MARK: Owner

    /// Makes `client` the owner; a resume restarts the interval. ``sendStarted(to:resumed:)`` follows the ack.
    func attach(_ client: any ConversationClient, resumed: Bool) -> EventReply {
        if case .ended = self.phase { return .failure(.ended) }
        let previous = self.client
        self.client = client
        self.phase = .active
        self.graceTimer?.cancel()
        self.graceTimer = nil
        self.touch()
        if !resumed {
            self.scheduleTick(after: .seconds(self.settings.warmupSeconds))
        } else if self.settings.mode == .auto {
            self.scheduleTick(after: .seconds(self.settings.intervalSeconds))
        } else if self.tips.isEmpty {
            let due = Duration.seconds(self.settings.warmupSeconds) - self.elapsedCallTime
            self.scheduleTick(after: max(.zero, due))
        }
        self.logger.info(
            resumed ? "conversation resumed" : "conversation started",
            metadata: ["connection.id": "\(client.connectionID)", "previous.connection.id": "\(previous?.connectionID ?? "-")", "mode": "\(self.settings.mode.rawValue)"]
        )
        return .success(["ok": true, "conversationId": .string(self.id), "resumed": .bool(resumed)])
    }

    /// Sends `CONVERSATION_STARTED` after the ack, then what was made while detached.
    func sendStarted(to client: any ConversationClient, resumed: Bool) {
        guard self.client === client else { return }
        client.send(.started(self.id, settings: self.settings, resumed: resumed, segments: self.stats.segments, lastSegmentID: self.lastSegmentID))
        for event in self.undelivered { client.send(event) }
        self.undelivered.removeAll()
    }

    /// The owner's connection closed: keep the conversation for the grace period.
    func detach(_ client: any ConversationClient) {
        guard self.client === client, self.phase == .active else { return }
        self.client = nil
        self.phase = .detached
        self.tickTimer?.cancel()
        self.tickTimer = nil
        self.graceTimer = self.scheduler.schedule(after: self.configuration.scaled(self.configuration.resumeGrace)) { [weak self] in
            self?.assumeIsolated { $0.finish(reason: .graceExpired) }
        }
        self.logger.info("conversation detached", metadata: ["connection.id": "\(client.connectionID)"])
    }

    /// Whether `client` owns the conversation now.
    func isOwned(by client: any ConversationClient) -> Bool { self.client === client }

    // MARK: Events

    /// Queues `command` from `client`; `reply` gets the ack body or the refusal.
    func submit(_ command: Command, from client: any ConversationClient, reply: @escaping @Sendable (EventReply) -> Void) {
        self.inbox.append((command, client, reply))
        guard !self.pumping else { return }
        self.pumping = true
        Task { await self.pump() }
    }

    private func pump() async {
        var index = 0
        while index < self.inbox.count {
            let (command, client, reply) = self.inbox[index]
            index += 1
            let result = await self.process(command, from: client)
            if case .failure(let error) = result { self.services.observer.eventRefused(error.code) }
            reply(result)
            self.afterReply(command, from: client, result: result)
        }
        self.inbox.removeAll(keepingCapacity: true)
        self.pumping = false
    }

    private func process(_ command: Command, from client: any ConversationClient) async -> EventReply {
        if case .end = command, case .ended = self.phase {
            return .success(["ok": true, "conversationId": .string(self.id), "duplicate": true])
        }
        if case .ended = self.phase { return .failure(.ended) }
        guard self.client === client else { return .failure(.notOwner) }
        self.touch()
        switch command {
        case .transcript(let segment):
            let decision = self.transcriptBucket.take(nowMs: MonotonicClock.milliseconds())
            guard decision.allowed else { return .failure(CoachingError(.rateLimited, "too many segments; at most \(self.configuration.transcriptRate.limit) per second", retryAfterMs: decision.retryAfterMs)) }
            switch await self.store(segment) {
            case .success(let duplicate): return .success(["ok": true, "duplicate": .bool(duplicate)])
            case .failure(let error): return .failure(error)
            }
        case .option(let selected):
            return self.select(tipID: selected.tipID, optionID: selected.optionID).map { duplicate in
                ["ok": true, "duplicate": .bool(duplicate)]
            }
        case .request(let request):
            return await self.request(request)
        case .end:
            self.finish(reason: .requested)
            return .success(["ok": true, "conversationId": .string(self.id), "duplicate": false])
        }
    }

    /// What follows an ack: a re-sent tip or summary for duplicates, to the client that asked.
    private func afterReply(_ command: Command, from client: any ConversationClient, result: EventReply) {
        guard case .success(let body) = result, body["duplicate"] == true || body["status"] == "duplicate" else { return }
        switch command {
        case .request(let request):
            if let tipID = self.requests[request.requestID], let index = self.tipIndex[tipID] {
                client.send(.tip(self.tips[index], conversationID: self.id))
            }
        case .end:
            // Any connection of the owning key may ask again, also after the owner went away for good.
            if let summary = self.summaryEvent {
                client.send(summary)
            } else if client !== self.client, !self.summaryWaiters.contains(where: { $0 === client }), self.summaryWaiters.count < 8 {
                self.summaryWaiters.append(client)
            }
        default:
            break
        }
    }

    /// Stores a segment; `true` when it was a duplicate.
    private func store(_ segment: Segment) async -> Result<Bool, CoachingError> {
        let outcome: SegmentAppend
        do {
            outcome = try await self.services.store.append(segment, to: self.id, limit: self.configuration.maximumSegments, isolation: self)
        } catch {
            self.logger.error("store failed", metadata: ["store.error": "\(error)"])
            return .failure(CoachingError(.internal, "the transcript store is unavailable"))
        }
        switch outcome {
        case .duplicate:
            return .success(true)
        case .full:
            return .failure(CoachingError(.limitExceeded, "the conversation holds \(self.configuration.maximumSegments) segments, the most allowed"))
        case .stored:
            self.recent.append(segment)
            if self.recent.count > CoachingLimits.contextSegments { self.recent.removeFirst(self.recent.count - CoachingLimits.contextSegments) }
            self.stats.add(segment)
            self.lastSegmentID = segment.id
            self.newSegmentsSinceTip = true
            self.services.observer.segmentStored()
            return .success(false)
        }
    }

    private func select(tipID: String, optionID: String) -> Result<Bool, CoachingError> {
        guard let index = self.tipIndex[tipID] else { return .failure(.invalid("unknown tipId '\(tipID)'")) }
        guard self.tips[index].draft.options.contains(where: { $0.id == optionID }) else {
            return .failure(.invalid("tip '\(tipID)' has no option '\(optionID)'"))
        }
        let duplicate = self.picks[tipID] == optionID
        self.picks[tipID] = optionID
        return .success(duplicate)
    }

    private func request(_ request: TipRequest) async -> EventReply {
        if let tipID = self.requests[request.requestID] {
            return Self.requestAck(request, tipID: tipID, status: "duplicate")
        }
        let decision = self.tipRequestBucket.take(nowMs: MonotonicClock.milliseconds())
        guard decision.allowed else {
            return .failure(CoachingError(.rateLimited, "too many tip requests; at most \(self.configuration.tipRequestRate.limit) per minute", retryAfterMs: decision.retryAfterMs))
        }
        if let optionID = request.selectedOptionID {
            guard let latest = self.tips.last else { return .failure(.invalid("selectedOptionId given but no tip was sent yet")) }
            if case .failure(let error) = self.select(tipID: latest.id, optionID: optionID) { return .failure(error) }
        }
        for segment in request.recentSegments {
            if case .failure(let error) = await self.store(segment) { return .failure(error) }
        }
        if let coalesced = self.joinPendingTip(request) { return coalesced }
        guard self.tips.count < self.configuration.maximumTips else {
            return .failure(CoachingError(.limitExceeded, "the conversation has had \(self.configuration.maximumTips) tips, the most allowed"))
        }
        if let refusal = await self.takeKeyTipToken() { return .failure(refusal) }
        // A timed tip may have started while the budget was checked.
        if let coalesced = self.joinPendingTip(request) { return coalesced }
        let tipID = self.startTip(trigger: .request, requestID: request.requestID, utterance: request.agentUtterance, reaction: request.customerReaction)
        self.requests[request.requestID] = tipID
        self.restartInterval()
        return Self.requestAck(request, tipID: tipID, status: "accepted")
    }

    /// When a tip is being made, the request joins it instead of making a second one.
    private func joinPendingTip(_ request: TipRequest) -> EventReply? {
        guard let pending = self.pending else { return nil }
        self.requests[request.requestID] = pending.id
        self.restartInterval()
        return Self.requestAck(request, tipID: pending.id, status: "coalesced", code: "TIP_IN_PROGRESS")
    }

    private static func requestAck(_ request: TipRequest, tipID: String, status: String, code: String? = nil) -> EventReply {
        var body: JSONObject = ["ok": true, "requestId": .string(request.requestID), "tipId": .string(tipID), "status": .string(status)]
        if let code { _ = body.updateValue(.string(code), forKey: "code") }
        return .success(body)
    }

    // MARK: Timers

    /// The call's time: real time since the start divided by the time scale.
    private var elapsedCallTime: Duration {
        (ContinuousClock.now - self.startedAt) / self.configuration.timeScale
    }

    private func scheduleTick(after callTime: Duration) {
        self.tickTimer?.cancel()
        self.tickTimer = self.scheduler.schedule(after: self.configuration.scaled(callTime)) { [weak self] in
            self?.assumeIsolated { $0.tick() }
        }
    }

    private func restartInterval() {
        guard self.settings.mode == .auto, self.phase == .active else { return }
        self.scheduleTick(after: .seconds(self.settings.intervalSeconds))
    }

    private func tick() {
        self.tickTimer = nil
        guard self.phase == .active else { return }
        switch self.settings.mode {
        case .auto:
            // Skipped when nothing new was said or a tip is being made; due again one interval later.
            if self.isTimedTipDue(eventMode: false) { Task { await self.makeTimedTip(eventMode: false) } }
            self.scheduleTick(after: .seconds(self.settings.intervalSeconds))
        case .event:
            // One tip at the end of the warm-up, unless the rep already asked for one.
            if self.isTimedTipDue(eventMode: true) { Task { await self.makeTimedTip(eventMode: true) } }
        }
    }

    private func isTimedTipDue(eventMode: Bool) -> Bool {
        guard self.phase == .active, self.pending == nil, self.newSegmentsSinceTip, self.tips.count < self.configuration.maximumTips else {
            return false
        }
        return !eventMode || self.tips.isEmpty
    }

    /// A timed tip, unless the key's tip budget is spent (then the tick is skipped, as when nothing is new).
    private func makeTimedTip(eventMode: Bool) async {
        guard await self.takeKeyTipToken() == nil, self.isTimedTipDue(eventMode: eventMode) else { return }
        _ = self.startTip(trigger: .auto, requestID: nil, utterance: nil, reaction: nil)
    }

    /// Takes one tip from the API key's budget (shared by every node through the rate limiter); the
    /// refusal when it is spent.
    private func takeKeyTipToken() async -> CoachingError? {
        do {
            let decision = try await self.services.rateLimiter.consume("tips:\(self.keyID)", rule: self.configuration.keyTipRate, isolation: self)
            guard decision.allowed else {
                return CoachingError(.rateLimited, "this API key has had \(self.configuration.keyTipRate.limit) tips this minute, the most allowed", retryAfterMs: decision.retryAfterMs)
            }
            return nil
        } catch {
            self.logger.error("rate limiter failed", metadata: ["store.error": "\(error)"])
            return CoachingError(.internal, "the rate limiter is unavailable")
        }
    }

    private func touch() {
        self.idleTimer?.cancel()
        self.idleTimer = self.scheduler.schedule(after: self.configuration.scaled(self.configuration.idleTimeout)) { [weak self] in
            self?.assumeIsolated { $0.finish(reason: .idleTimeout) }
        }
    }

    // MARK: Tips

    private func startTip(trigger: TipTrigger, requestID: String?, utterance: String?, reaction: String?) -> String {
        let tipID = "tip-\(String(repeating: "0", count: max(0, 4 - String(self.nextTipNumber).count)))\(self.nextTipNumber)"
        self.nextTipNumber += 1
        self.newSegmentsSinceTip = false
        var context = CoachingContext(
            conversationID: self.id, mode: self.settings.mode, trigger: trigger, metadata: self.settings.metadata,
            elapsedMs: Int(self.elapsedCallTime / .milliseconds(1)), recentSegments: self.recent, stats: self.stats,
            previousTips: Array(self.tips.suffix(10)), agentUtterance: utterance, customerReaction: reaction
        )
        if let latest = self.tips.last, let optionID = self.picks[latest.id], let option = latest.draft.options.first(where: { $0.id == optionID }) {
            context.lastPick = PickedOption(tip: latest, option: option)
        }
        self.pending = PendingTip(id: tipID, trigger: trigger, requestID: requestID, startedAt: .now)
        let frozen = context
        let lastSegmentID = self.lastSegmentID
        if let llm = self.services.llm, llm.isAvailable {
            self.pending?.deadline = self.scheduler.schedule(after: self.configuration.llmDeadline) { [weak self] in
                self?.assumeIsolated { $0.llmMissedDeadline(tipID, context: frozen, lastSegmentID: lastSegmentID) }
            }
            self.pending?.task = Task { await self.makeLLMTip(tipID, llm: llm, context: frozen, lastSegmentID: lastSegmentID) }
        } else {
            self.pending?.task = Task { await self.makeRuleTip(tipID, context: frozen, lastSegmentID: lastSegmentID, fellBack: self.services.llm != nil) }
        }
        return tipID
    }

    private func makeLLMTip(_ tipID: String, llm: any Coach, context: CoachingContext, lastSegmentID: String?) async {
        do {
            let draft = try await llm.tip(for: context, isolation: self) { text in self.sendPartial(tipID, text: text) }
            guard self.isWaitingForLLM(tipID) else { return }
            if let draft {
                self.deliver(tipID, draft: draft, source: .llm, lastSegmentID: lastSegmentID, fellBack: false)
                return
            }
        } catch {
            guard self.isWaitingForLLM(tipID) else { return }
            self.logger.warning("LLM tip failed; the rule coach answers", metadata: ["tip.id": "\(tipID)", "error": "\(error)"])
        }
        self.pending?.deadline?.cancel()
        await self.makeRuleTip(tipID, context: context, lastSegmentID: lastSegmentID, fellBack: true)
    }

    private func isWaitingForLLM(_ tipID: String) -> Bool {
        guard let pending = self.pending else { return false }
        return pending.id == tipID && !pending.fellBack
    }

    private func llmMissedDeadline(_ tipID: String, context: CoachingContext, lastSegmentID: String?) {
        guard self.isWaitingForLLM(tipID) else { return }
        self.pending?.fellBack = true
        self.logger.warning("LLM tip missed its deadline; the rule coach answers", metadata: ["tip.id": "\(tipID)"])
        self.pending?.task?.cancel()
        self.pending?.task = Task { await self.makeRuleTip(tipID, context: context, lastSegmentID: lastSegmentID, fellBack: true) }
    }

    private func makeRuleTip(_ tipID: String, context: CoachingContext, lastSegmentID: String?, fellBack: Bool) async {
        var draft = try? await self.services.rules.tip(for: context, isolation: self, partial: { _ in })
        guard self.pending?.id == tipID else { return }
        if draft == nil && context.trigger == .request { draft = Self.openQuestionTip }
        guard let draft else {
            self.pending = nil
            return
        }
        self.deliver(tipID, draft: draft, source: .rules, lastSegmentID: lastSegmentID, fellBack: fellBack)
    }

    /// When a requested tip finds nothing specific to say: keep the customer talking.
    static let openQuestionTip = TipDraft(
        kind: .discovery, headline: "Keep them talking: ask an open question",
        suggestion: "Nothing new stands out yet. Ask an open question about their goals and listen for a need or an objection.",
        options: [
            TipOption(id: "opt-1", label: "Goals", script: "What would make this project a clear success for you this year?"),
            TipOption(id: "opt-2", label: "Current process", script: "Can you walk me through how your team handles this today?"),
        ],
        confidence: 0.4, ruleID: "fallback.open-question"
    )

    private func sendPartial(_ tipID: String, text: String) {
        guard var pending = self.pending, pending.id == tipID, !pending.fellBack, !text.isEmpty, text != pending.lastPartial else { return }
        pending.lastPartial = text
        self.pending = pending
        self.send(.partialTip(tipID: tipID, text: text, conversationID: self.id))
    }

    private func deliver(_ tipID: String, draft: TipDraft, source: TipSource, lastSegmentID: String?, fellBack: Bool) {
        guard let pending = self.pending, pending.id == tipID else { return }
        pending.deadline?.cancel()
        self.pending = nil
        let latency = ContinuousClock.now - pending.startedAt
        let tip = Tip(
            id: tipID, draft: draft.normalized(), source: source, latencyMs: Int(latency / .milliseconds(1)),
            trigger: pending.trigger, requestID: pending.requestID, lastSegmentID: lastSegmentID
        )
        self.tipIndex[tipID] = self.tips.count
        self.tips.append(tip)
        self.send(.tip(tip, conversationID: self.id))
        self.services.observer.tipDelivered(source: source, trigger: tip.trigger, latency: latency, fellBack: fellBack)
        self.logger.info(
            "tip sent",
            metadata: ["tip.id": "\(tipID)", "tip.kind": "\(draft.kind.rawValue)", "tip.source": "\(source.rawValue)", "tip.latency_ms": "\(tip.latencyMs)", "tip.fell_back": "\(fellBack)"]
        )
    }

    /// Sends to the owner, or keeps the event for a resume while detached.
    private func send(_ event: ServerEvent) {
        if let client = self.client {
            client.send(event)
        } else if self.undelivered.count < 16 {
            self.undelivered.append(event)
        }
    }

    // MARK: The end

    /// Ends the conversation: stops timers and the tip being made, then sends the summary.
    func finish(reason: EndReason) {
        if case .ended = self.phase { return }
        self.phase = .ended(reason)
        for timer in [self.tickTimer, self.graceTimer, self.idleTimer] { timer?.cancel() }
        self.tickTimer = nil
        self.graceTimer = nil
        self.idleTimer = nil
        if let pending = self.pending {
            pending.task?.cancel()
            pending.deadline?.cancel()
            self.pending = nil
        }
        let duration = ContinuousClock.now - self.startedAt
        self.registry?.ended(self)
        self.services.observer.conversationEnded(reason: reason, duration: duration)
        self.logger.info("conversation ended", metadata: ["reason": "\(reason.rawValue)", "segments": "\(self.stats.segments)", "tips": "\(self.tips.count)"])
        Task { await self.summarize(reason: reason, duration: duration) }
    }

    private func summarize(reason: EndReason, duration: Duration) async {
        let recent = (try? await self.services.store.recentSegments(of: self.id, count: CoachingLimits.summarySegments, isolation: self)) ?? self.recent
        let picks = self.tips.compactMap { tip in self.picks[tip.id].map { OptionPick(tipID: tip.id, optionID: $0) } }
        let context = SummaryContext(
            conversationID: self.id, metadata: self.settings.metadata, durationMs: Int(duration / .milliseconds(1)),
            stats: self.stats, recentSegments: recent, tips: self.tips, picks: picks
        )
        var notes: SummaryNotes?
        var source = TipSource.rules
        if let llm = self.services.llm, llm.isAvailable {
            notes = await self.llmSummary(llm, context: context)
            if notes != nil { source = .llm }
        }
        if notes == nil { notes = try? await self.services.rules.summary(for: context, isolation: self) }
        let summary = ConversationSummary(
            durationMs: context.durationMs, talkRatio: self.stats.talkRatio, segments: self.stats.segments,
            tipsShown: self.tips.count, optionsPicked: picks, notes: (notes ?? SummaryNotes(notes: "No notes.", actionItems: [])).normalized(),
            source: source
        )
        let event = ServerEvent.ended(self.id, reason: reason, summary: summary)
        self.summaryEvent = event
        self.client?.send(event)
        for waiter in self.summaryWaiters where waiter !== self.client { waiter.send(event) }
        self.summaryWaiters.removeAll()
        // Remembered for a while so that a retried END_CONVERSATION gets the same summary; then forgotten.
        self.graceTimer = self.scheduler.schedule(after: self.configuration.scaled(self.configuration.endedRetention)) { [weak self] in
            self?.assumeIsolated { $0.forgetNow() }
        }
        try? await self.services.store.remove(self.id, isolation: self)
    }

    /// The LLM's notes, or nil when it failed or missed the deadline.
    private func llmSummary(_ llm: any Coach, context: SummaryContext) async -> SummaryNotes? {
        let task = Task { try await llm.summary(for: context, isolation: self) }
        let deadline = self.scheduler.schedule(after: self.configuration.llmDeadline * 2) { task.cancel() }
        defer { deadline.cancel() }
        do {
            return try await task.value
        } catch {
            self.logger.warning("LLM summary failed; rule-based notes instead", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func forgetNow() {
        self.graceTimer = nil
        self.client = nil
        self.registry?.forget(self)
    }

    // MARK: State for the registry

    /// Whether the conversation still counts against its key's quota.
    var isOpen: Bool {
        if case .ended = self.phase { return false }
        return true
    }
}
