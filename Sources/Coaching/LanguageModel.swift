public import JSON

/// A request for one JSON answer from a language model.
public struct LanguageModelPrompt: Sendable, Hashable {
    /// The stable instructions. Kept byte-identical between calls so that the provider's prompt cache applies.
    public var system: String
    /// The call-specific part: transcript, picks, request.
    public var user: String
    /// The name and JSON Schema the answer must follow (structured output).
    public var schemaName: String
    public var schema: JSONValue
    /// An upper bound on the answer's tokens.
    public var maximumTokens: Int
    /// Ask for the answer as a stream, so that `partial` sees it grow.
    public var stream: Bool

    public init(system: String, user: String, schemaName: String, schema: JSONValue, maximumTokens: Int, stream: Bool) {
        self.system = system
        self.user = user
        self.schemaName = schemaName
        self.schema = schema
        self.maximumTokens = maximumTokens
        self.stream = stream
    }
}

/// A language model's answer and what it cost.
public struct LanguageModelAnswer: Sendable, Hashable {
    /// The answer text: JSON following the prompt's schema (not yet checked).
    public var text: String
    public var promptTokens: Int
    public var cachedPromptTokens: Int
    public var completionTokens: Int
    /// Estimated cost in US dollars, when the model's prices are known.
    public var costUSD: Double?

    public init(text: String, promptTokens: Int = 0, cachedPromptTokens: Int = 0, completionTokens: Int = 0, costUSD: Double? = nil) {
        self.text = text
        self.promptTokens = promptTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}

/// The seam between coaching and an LLM provider. `earpiece` implements it over the OpenAI client;
/// tests implement it in memory. Runs in the caller's isolation, so `partial` needs no hop.
public protocol LanguageModel: Sendable {
    /// False while a call would fail at once (an open circuit breaker).
    var isAvailable: Bool { get }
    /// Sends `prompt` and returns the whole answer. With `prompt.stream`, `partial` receives the answer
    /// text accumulated so far each time it grows. Throws on any failure (HTTP, timeout, refusal, ...).
    func complete(_ prompt: LanguageModelPrompt, isolation: isolated (any Actor)?, partial: (String) -> Void) async throws -> LanguageModelAnswer
}
