import JSON

/// A coach that asks a language model (GPT-4o-mini in production) for each tip and for the end-of-call notes.
///
/// Each tip is one structured-output call (schema `coaching_tip`, see ``CoachingPrompts``): a long system
/// prompt that stays byte-identical between calls, so that the provider's prompt cache applies, and a
/// user message with this call's facts and transcript. Auto-mode ticks use a shorter prompt and a smaller
/// answer budget than tips the rep asked for.
///
/// With `streamPartials`, a tip the rep asked for is streamed and the suggestion's first words are passed to
/// `partial` (the conversation sends them as `AI_TIP_PARTIAL`) as they arrive: every few words or at a
/// sentence end, each text a longer prefix of the final suggestion. The final `AI_TIP` always follows from
/// the return value. Timed (auto) tips are not streamed: nobody is waiting for them, and one whole answer
/// costs the server a fraction of the dozens of stream chunks.
///
/// Any failure throws: the model's own errors as they are, and ``LLMCoachError`` for an answer that is not
/// the contract. The conversation then falls back to the rule coach.
public struct LLMCoach: Coach {
    /// The model the coach asks.
    public let model: any LanguageModel
    /// Whether requested tips are streamed so that `partial` sees the suggestion grow.
    public let streamPartials: Bool

    /// A coach over `model`.
    /// - Parameters:
    ///   - model: the language model (the OpenAI client in `earpiece`, a fake in tests).
    ///   - streamPartials: stream requested tips and report the suggestion as it grows.
    public init(model: any LanguageModel, streamPartials: Bool = true) {
        self.model = model
        self.streamPartials = streamPartials
    }

    /// Tips from this coach are LLM tips.
    public var source: TipSource { .llm }

    /// False while the model would fail at once (its circuit breaker is open).
    public var isAvailable: Bool { self.model.isAvailable }

    /// Asks the model for the next tip.
    /// - Parameters:
    ///   - context: the conversation's state at the trigger.
    ///   - isolation: the caller's actor; the model call and `partial` run there.
    ///   - partial: receives the suggestion so far (cumulative, never empty, each longer than the last).
    /// - Returns: the tip, or nil when the model answered `"none"` or an empty suggestion.
    /// - Throws: the model's error, or ``LLMCoachError`` when the answer breaks the `coaching_tip` contract.
    public func tip(
        for context: CoachingContext, isolation: isolated (any Actor)?, partial: (String) -> Void
    ) async throws -> TipDraft? {
        let stream = self.streamPartials && context.trigger == .request
        let prompt = CoachingPrompts.tipPrompt(for: context, stream: stream)
        var preview = SuggestionPreview()
        let answer = try await self.model.complete(prompt, isolation: isolation) { accumulated in
            guard stream, let text = preview.update(accumulated: accumulated) else { return }
            partial(text)
        }
        return try Self.decodeTip(answer.text)
    }

    /// Asks the model for the end-of-call notes and action items (schema `call_summary`).
    /// - Throws: the model's error, or ``LLMCoachError`` when the answer breaks the contract.
    public func summary(for context: SummaryContext, isolation: isolated (any Actor)?) async throws -> SummaryNotes {
        let prompt = CoachingPrompts.summaryPrompt(for: context)
        let answer = try await self.model.complete(prompt, isolation: isolation) { _ in }
        return try Self.decodeSummary(answer.text)
    }

    // MARK: Decoding

    /// The largest answer accepted. A full tip is under 2 KB; `max_tokens` bounds a real answer well below this.
    static let maximumAnswerBytes = 65_536

    /// Limits for parsing an answer: the contract nests three levels and holds a handful of members.
    static let answerLimits = JSONLimits(maxDepth: 8, maxStringLength: 16_384, maxElementsPerContainer: 64, maxNumberLength: 64)

    /// Decodes a `coaching_tip` answer. Checks types strictly (the schema is strict, so anything else means
    /// the answer is not what was asked for); lengths and counts are left to ``TipDraft/normalized()``.
    /// - Returns: nil for kind `"none"` or an empty suggestion.
    static func decodeTip(_ text: String) throws(LLMCoachError) -> TipDraft? {
        let root = try Self.parseObject(text)
        guard let kindName = root["kind"]?.stringValue else { throw .malformedAnswer("kind is missing or not a string") }
        if kindName == "none" { return nil }
        guard let kind = TipKind(rawValue: kindName) else { throw .malformedAnswer("kind is not a known tip kind") }
        let headline = try Self.string(root, "headline")
        let suggestion = try Self.string(root, "suggestion")
        guard case .array(let optionValues) = root["options"] else {
            throw .malformedAnswer("options is missing or not an array")
        }
        var options: [TipOption] = []
        options.reserveCapacity(optionValues.count)
        for (index, value) in optionValues.enumerated() {
            guard case .object(let option) = value else { throw .malformedAnswer("options[\(index)] is not an object") }
            let label = try Self.string(option, "label", path: "options[\(index)].")
            let script = try Self.string(option, "script", path: "options[\(index)].")
            options.append(TipOption(id: "opt-\(index + 1)", label: label, script: script))
        }
        guard let confidence = root["confidence"]?.doubleValue else {
            throw .malformedAnswer("confidence is missing or not a number")
        }
        if suggestion.trimmingWhitespace().isEmpty { return nil }
        return TipDraft(kind: kind, headline: headline, suggestion: suggestion, options: options, confidence: confidence)
    }

    /// Decodes a `call_summary` answer.
    static func decodeSummary(_ text: String) throws(LLMCoachError) -> SummaryNotes {
        let root = try Self.parseObject(text)
        let notes = try Self.string(root, "notes")
        guard case .array(let itemValues) = root["actionItems"] else {
            throw .malformedAnswer("actionItems is missing or not an array")
        }
        var items: [String] = []
        items.reserveCapacity(itemValues.count)
        for (index, value) in itemValues.enumerated() {
            guard case .string(let item) = value else { throw .malformedAnswer("actionItems[\(index)] is not a string") }
            items.append(item)
        }
        return SummaryNotes(notes: notes, actionItems: items)
    }

    /// The answer as a JSON object. Error details name the problem, never the answer's text (it may quote the customer).
    private static func parseObject(_ text: String) throws(LLMCoachError) -> JSONObject {
        let size = text.utf8.count
        guard size <= Self.maximumAnswerBytes else { throw .answerTooLarge(bytes: size) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(text, limits: Self.answerLimits)
        } catch {
            throw .malformedAnswer("the answer is not JSON (\(error.message))")
        }
        guard case .object(let object) = value else { throw .malformedAnswer("the answer is not a JSON object") }
        return object
    }

    private static func string(_ object: JSONObject, _ key: String, path: String = "") throws(LLMCoachError) -> String {
        guard case .string(let value) = object[key] else { throw .malformedAnswer("\(path)\(key) is missing or not a string") }
        return value
    }
}

/// Why an ``LLMCoach`` call failed although the model answered.
public enum LLMCoachError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The answer is not a JSON object of the requested schema. The detail names the problem (a member and
    /// what is wrong with it), never the answer's text.
    case malformedAnswer(String)
    /// The answer is larger than any answer of the schema could be.
    case answerTooLarge(bytes: Int)

    /// A short label, safe as a metric label.
    public var shortDescription: String {
        switch self {
        case .malformedAnswer: "malformed_answer"
        case .answerTooLarge: "answer_too_large"
        }
    }

    /// The label and detail; never the answer's text.
    public var description: String {
        switch self {
        case .malformedAnswer(let detail): "malformed_answer: \(detail)"
        case .answerTooLarge(let bytes): "answer_too_large: \(bytes) bytes"
        }
    }
}

/// Decides when the streamed suggestion is worth showing: reads `kind` and `suggestion` from the growing
/// answer and releases the suggestion every ``minimumGrowth`` characters or at a sentence end.
///
/// Showing every token would flood the client with events; waiting for whole sentences can take a second.
/// The released text is trimmed like ``TipDraft/normalized()`` trims the final suggestion, and nothing past
/// the protocol's 1,000 characters is released, so each text is a prefix of the final `AI_TIP` suggestion.
struct SuggestionPreview {
    /// New characters needed before the preview is shown again (about four words).
    static let minimumGrowth = 24
    /// The longest preview released: the protocol's limit for `AI_TIP_PARTIAL.text` and for the suggestion.
    static let maximumCharacters = 999

    private var kind = PartialJSON(key: "kind", maximumValueBytes: 32)
    private var suggestion = PartialJSON(key: "suggestion")
    /// Scalars of the suggestion when it was last released.
    private var releasedScalars = 0
    /// UTF-8 bytes of the last released text: each release must be longer.
    private var releasedBytes = 0
    /// Whether the answer's kind is a real tip kind (a `"none"` answer shows nothing).
    private var kindAllowsPreview = false

    /// Scans the answer so far; returns the suggestion to show, or nil when it is not time yet.
    mutating func update(accumulated text: String) -> String? {
        if !self.kindAllowsPreview {
            self.kind.update(accumulated: text)
            guard self.kind.isComplete else { return nil }
            guard TipKind(rawValue: self.kind.value) != nil else { return nil }
            self.kindAllowsPreview = true
        }
        self.suggestion.update(accumulated: text)
        let count = self.suggestion.scalarCount
        // Compared with what was released rather than with the last call, so that a closing quote arriving
        // alone still releases the last words.
        guard count > self.releasedScalars, count <= Self.maximumCharacters else { return nil }
        let grown = count - self.releasedScalars
        guard grown >= Self.minimumGrowth || self.suggestion.valueEndsSentence || self.suggestion.isComplete else {
            return nil
        }
        let text = self.suggestion.value.trimmingWhitespace()
        guard text.utf8.count > self.releasedBytes else { return nil }
        self.releasedScalars = count
        self.releasedBytes = text.utf8.count
        return text
    }
}
