import Coaching
import Logging
import OpenAI

/// The coaching ``LanguageModel`` over our OpenAI client: one chat completion per prompt, with the
/// prompt's JSON schema as structured output, streamed when the prompt asks for it.
///
/// Logs and the observer see ids, sizes, token counts, cost and outcome labels only: prompts and answers
/// are customer transcripts and never leave this type except as the answer itself.
final class OpenAILanguageModel: LanguageModel {
    /// Called once per call when it ends: the answer (nil on failure, except that a cut-short answer still
    /// reports its tokens and cost), the time from the request to the end of the answer, and an outcome label
    /// from a small fixed set (`ok`, `cut_short`, `cancelled`, `error`, or an `OpenAIError`'s
    /// `shortDescription`), so the program can export latency, token, cost and error metrics.
    typealias CompletionObserver = @Sendable (LanguageModelAnswer?, Duration, String) -> Void

    private let client: OpenAIClient
    /// The model to ask; nil uses the client configuration's.
    private let modelName: String?
    private let temperature: Double
    private let logger: Logger
    private let onCompletion: CompletionObserver?

    /// A language model over `client`.
    /// - Parameters:
    ///   - client: the OpenAI client (its circuit breaker decides ``isAvailable``).
    ///   - model: the model name; nil uses the client configuration's (GPT-4o-mini by default).
    ///   - temperature: sampling temperature; low, because coaching should be consistent rather than creative.
    ///   - logger: where each call is logged (sizes, counts, outcome): at debug level, a cut-short answer at warning
    ///     level (the client logs its own failures).
    ///   - onCompletion: the metrics hook, called once per call.
    init(
        client: OpenAIClient, model: String? = nil, temperature: Double = 0.3,
        logger: Logger = Logger(label: "earpiece.llm"), onCompletion: CompletionObserver? = nil
    ) {
        self.client = client
        self.modelName = model
        self.temperature = temperature
        self.logger = logger
        self.onCompletion = onCompletion
    }

    /// False while the client's circuit breaker is open: a call would fail at once.
    var isAvailable: Bool { !self.client.isCircuitOpen }

    /// Sends `prompt` as a system and a user message with the prompt's schema (strict) as the response format.
    func complete(
        _ prompt: LanguageModelPrompt, isolation: isolated (any Actor)?, partial: (String) -> Void
    ) async throws -> LanguageModelAnswer {
        let request = ChatRequest(
            messages: [.system(prompt.system), .user(prompt.user)],
            model: self.modelName,
            temperature: self.temperature,
            maxTokens: prompt.maximumTokens,
            responseFormat: JSONSchemaFormat(name: prompt.schemaName, schema: prompt.schema, strict: true)
        )
        let start = ContinuousClock.now
        do {
            let answer =
                prompt.stream
                ? try await self.streamed(request, isolation: isolation, partial: partial)
                : try await self.whole(request)
            self.finish(prompt, answer: answer, start: start, outcome: "ok")
            return answer
        } catch let cutShort as CutShort {
            self.finish(prompt, answer: cutShort.answer, start: start, outcome: "cut_short")
            // Reported as the client reports a cut-short structured answer, so callers see one error type.
            throw OpenAIError.schemaMismatch("the answer was cut short (finish_reason \(cutShort.reason))")
        } catch {
            let outcome =
                switch error {
                case let error as OpenAIError: error.shortDescription
                case is CancellationError: "cancelled"
                default: "error"
                }
            self.finish(prompt, answer: nil, start: start, outcome: outcome)
            throw error
        }
    }

    /// The answer stopped at `max_tokens` (or the context length) or was filtered: its JSON is incomplete.
    private struct CutShort: Error {
        /// The finish reason (`length` or `content_filter`).
        var reason: String
        /// The incomplete answer, for its token counts and cost.
        var answer: LanguageModelAnswer
    }

    /// One non-streamed completion.
    nonisolated(nonsending) private func whole(_ request: ChatRequest) async throws -> LanguageModelAnswer {
        let completion = try await self.client.complete(request)
        let answer = Self.answer(completion.content, usage: completion.usage, cost: completion.cost)
        if let reason = completion.finishReason, Self.cutsShort(reason) {
            throw CutShort(reason: reason.rawValue, answer: answer)
        }
        return answer
    }

    /// One streamed completion; `partial` sees the accumulated text after each delta.
    private func streamed(
        _ request: ChatRequest, isolation: isolated (any Actor)?, partial: (String) -> Void
    ) async throws -> LanguageModelAnswer {
        var text = ""
        var usage: Usage?
        var cost: Cost?
        var finishReason: FinishReason?
        var iterator = self.client.stream(request).makeAsyncIterator()
        while let event = try await iterator.next(isolation: isolation) {
            switch event {
            case .metadata:
                break
            case .delta(let piece):
                guard !piece.isEmpty else { continue }
                text += piece
                partial(text)
            case .usage(let reported, let price):
                usage = reported
                cost = price
            case .done(let reason):
                finishReason = reason
            }
        }
        let answer = Self.answer(text, usage: usage, cost: cost)
        if let reason = finishReason, Self.cutsShort(reason) { throw CutShort(reason: reason.rawValue, answer: answer) }
        return answer
    }

    /// Whether the model stopped before the end of its JSON: at `max_tokens` or the context length, or
    /// because the provider's filter removed content. Other reasons (`stop`, a server's own name) are fine.
    private static func cutsShort(_ reason: FinishReason) -> Bool {
        reason == .length || reason == .contentFilter
    }

    private static func answer(_ text: String, usage: Usage?, cost: Cost?) -> LanguageModelAnswer {
        LanguageModelAnswer(
            text: text,
            promptTokens: usage?.promptTokens ?? 0,
            cachedPromptTokens: usage?.cachedPromptTokens ?? 0,
            completionTokens: usage?.completionTokens ?? 0,
            costUSD: cost?.dollars
        )
    }

    /// Logs the call (sizes and counts only) and tells the observer.
    private func finish(_ prompt: LanguageModelPrompt, answer: LanguageModelAnswer?, start: ContinuousClock.Instant, outcome: String) {
        let elapsed = ContinuousClock.now - start
        var metadata: Logger.Metadata = [
            "llm.schema": "\(prompt.schemaName)",
            "llm.outcome": "\(outcome)",
            "llm.stream": "\(prompt.stream)",
            "llm.prompt_bytes": "\(prompt.system.utf8.count + prompt.user.utf8.count)",
            "llm.elapsed_ms": "\(Self.milliseconds(elapsed))",
        ]
        if let answer {
            metadata["llm.answer_bytes"] = "\(answer.text.utf8.count)"
            metadata["llm.prompt_tokens"] = "\(answer.promptTokens)"
            metadata["llm.cached_prompt_tokens"] = "\(answer.cachedPromptTokens)"
            metadata["llm.completion_tokens"] = "\(answer.completionTokens)"
        }
        switch outcome {
        case "ok":
            self.logger.debug("language model call finished", metadata: metadata)
        case "cut_short":
            self.logger.warning("language model answer cut short", metadata: metadata)
        default:
            // The client already logged the failure in detail, with the provider's request id.
            self.logger.debug("language model call failed", metadata: metadata)
        }
        self.onCompletion?(answer, elapsed, outcome)
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
