import Coaching
import Metrics

/// The program's metrics, exported at `GET /metrics`; also the copilot's observer.
final class ServerMetrics: CoachingObserver {
    let registry = MetricsRegistry()
    let connections: Gauge
    let ackLatency: Histogram
    let segments: Counter
    private let tipLatency: Histogram
    private let llmLatency: Histogram
    private let promptTokens: Counter
    private let cachedTokens: Counter
    private let completionTokens: Counter
    private let cost: Counter
    private let tips: [TipSource: Counter]
    private let fallbacks: Counter
    private let errors: [String: Counter]
    private let ended: [EndReason: Counter]
    /// The codes a connection can be refused with (besides the event codes).
    static let connectionCodes = ["AUTH_MISSING", "AUTH_INVALID", "RATE_LIMITED", "INTERNAL"]
    private static let latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    init() {
        let registry = self.registry
        self.connections = registry.gauge("earpiece_connections", help: "Open Socket.IO connections.")
        self.ackLatency = registry.histogram("earpiece_ack_latency_seconds", help: "From a client event to its ack or error.", buckets: Self.latencyBuckets)
        self.segments = registry.counter("earpiece_segments_total", help: "Transcript segments stored (duplicates not counted).")
        self.tipLatency = registry.histogram("earpiece_tip_latency_seconds", help: "From a tip's trigger to the AI_TIP.", buckets: Self.latencyBuckets)
        self.llmLatency = registry.histogram("earpiece_llm_latency_seconds", help: "Language-model calls, by duration.", buckets: Self.latencyBuckets)
        self.promptTokens = registry.counter("earpiece_llm_tokens_total", help: "Language-model tokens.", labels: [("kind", "prompt")])
        self.cachedTokens = registry.counter("earpiece_llm_tokens_total", help: "Language-model tokens.", labels: [("kind", "cached_prompt")])
        self.completionTokens = registry.counter("earpiece_llm_tokens_total", help: "Language-model tokens.", labels: [("kind", "completion")])
        self.cost = registry.counter("earpiece_llm_cost_usd_total", help: "Estimated language-model cost in US dollars.")
        // Every labelled series is registered here, once: the hot path only increments.
        self.tips = Dictionary(uniqueKeysWithValues: [TipSource.llm, .rules].map { source in
            (source, registry.counter("earpiece_tips_total", help: "Tips sent, by source.", labels: [("source", source.rawValue)]))
        })
        self.fallbacks = registry.counter("earpiece_llm_fallbacks_total", help: "Tips the rule coach made because the LLM failed or was slow.")
        let codes = Set(CoachingErrorCode.allCases.map(\.rawValue) + Self.connectionCodes)
        self.errors = Dictionary(uniqueKeysWithValues: codes.map { code in
            (code, registry.counter("earpiece_errors_total", help: "Refused client events and connections, by code.", labels: [("code", code)]))
        })
        self.ended = Dictionary(uniqueKeysWithValues: [EndReason.requested, .graceExpired, .idleTimeout].map { reason in
            (reason, registry.counter("earpiece_conversations_ended_total", help: "Conversations ended, by reason.", labels: [("reason", reason.rawValue)]))
        })
    }

    /// Exports the copilot's open conversations, read at each scrape.
    func track(_ copilot: Copilot) {
        self.registry.gauge("earpiece_conversations_active", help: "Conversations not yet ended (active or waiting for a resume).") {
            Double(copilot.activeConversations)
        }
    }

    func segmentStored() { self.segments.increment() }

    func tipDelivered(source: TipSource, trigger: TipTrigger, latency: Duration, fellBack: Bool) {
        self.tips[source]?.increment()
        if fellBack { self.fallbacks.increment() }
        self.tipLatency.observe(latency)
    }

    func eventRefused(_ code: CoachingErrorCode) {
        self.errors[code.rawValue]?.increment()
    }

    /// `code` is one of ``connectionCodes``; others are not counted (no series from unexpected strings).
    func connectionRefused(_ code: String) {
        self.errors[code]?.increment()
    }

    func conversationEnded(reason: EndReason, duration: Duration) {
        self.ended[reason]?.increment()
    }

    /// One language-model call: its duration, outcome, tokens and cost.
    func llmCall(answer: LanguageModelAnswer?, duration: Duration, outcome: String) {
        self.llmLatency.observe(duration)
        // A bounded set (`ok`, `cut_short`, `cancelled` and the client's short error names); LLM calls are few,
        // so the lookup under the registry's lock is fine here.
        self.registry.counter("earpiece_llm_requests_total", help: "Language-model calls, by outcome.", labels: [("outcome", outcome)]).increment()
        guard let answer else { return }
        self.promptTokens.increment(by: answer.promptTokens)
        self.cachedTokens.increment(by: answer.cachedPromptTokens)
        self.completionTokens.increment(by: answer.completionTokens)
        if let cost = answer.costUSD { self.cost.add(cost) }
    }
}
