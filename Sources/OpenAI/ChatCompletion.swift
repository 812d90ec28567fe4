import IOCore
import JSON

/// Why the model stopped.
public struct FinishReason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The wire name.
    public var rawValue: String
    /// A reason by wire name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// It finished its answer.
    public static let stop = FinishReason(rawValue: "stop")
    /// It hit `max_tokens` or the context length: the answer is cut short.
    public static let length = FinishReason(rawValue: "length")
    /// The provider's filter removed content.
    public static let contentFilter = FinishReason(rawValue: "content_filter")
    /// It asked for a tool call.
    public static let toolCalls = FinishReason(rawValue: "tool_calls")
    /// The wire name.
    public var description: String { self.rawValue }
}

/// What the response head said about the call, beyond the answer.
public struct ResponseMetadata: Sendable, Hashable {
    /// The provider's `x-request-id` (quote it in a support ticket).
    public var requestID: String?
    /// The `x-ratelimit-*` headers.
    public var rateLimits: RateLimits
    /// How many attempts the call took (1 when the first succeeded).
    public var attempts: Int
    /// Whether the successful attempt reused a pooled connection.
    public var reusedConnection: Bool

    /// Metadata.
    public init(requestID: String? = nil, rateLimits: RateLimits = RateLimits(), attempts: Int = 1, reusedConnection: Bool = false) {
        self.requestID = requestID
        self.rateLimits = rateLimits
        self.attempts = attempts
        self.reusedConnection = reusedConnection
    }
}

/// A finished chat completion.
public struct ChatCompletion: Sendable, Hashable {
    /// The provider's id of the completion (`chatcmpl-...`).
    public var id: String
    /// The model that answered (the provider's exact version name).
    public var model: String
    /// The answer's text (customer-facing content: never log it).
    public var content: String
    /// Why the model stopped.
    public var finishReason: FinishReason?
    /// Token counts, when the provider reported them.
    public var usage: Usage?
    /// What the tokens cost at the configured prices, when usage was reported.
    public var cost: Cost?
    /// Request id, rate limits, attempts.
    public var metadata: ResponseMetadata

    /// A completion.
    public init(
        id: String, model: String, content: String, finishReason: FinishReason?, usage: Usage?, cost: Cost?,
        metadata: ResponseMetadata
    ) {
        self.id = id
        self.model = model
        self.content = content
        self.finishReason = finishReason
        self.usage = usage
        self.cost = cost
        self.metadata = metadata
    }
}

/// Reading the API's JSON: completions, stream chunks, usage and error bodies.
enum WireFormat {
    /// Limits for response JSON: deeper or longer than any real answer, small enough to bound a hostile one.
    static let limits = JSONLimits(maxDepth: 32, maxStringLength: 8 << 20, maxElementsPerContainer: 10_000)

    /// Decodes a non-streamed response body.
    /// - Throws: ``OpenAIError/refusal(_:)`` when the model refused; ``OpenAIError/malformedResponse(_:)``
    ///   for anything that is not a chat completion.
    static func decodeCompletion(_ body: ByteBuffer, metadata: ResponseMetadata, prices: TokenPrices) throws(OpenAIError) -> ChatCompletion {
        let json: JSONValue
        do {
            json = try JSONParser.parse(body, limits: Self.limits)
        } catch {
            throw .malformedResponse("the completion is not JSON (\(error.message))")
        }
        if let apiError = Self.apiError(in: json) { throw Self.errorInBody(apiError) }
        guard case .object(let root) = json else { throw .malformedResponse("the completion is not a JSON object") }
        guard let choice = root["choices"]?[0], case .object = choice, let message = choice["message"],
            case .object = message
        else { throw .malformedResponse("the completion has no choices[0].message") }
        if let refusal = message["refusal"]?.stringValue, !refusal.isEmpty { throw .refusal(refusal) }
        let content: String
        switch message["content"] {
        case .string(let text): content = text
        case .null, nil: content = ""
        default: throw .malformedResponse("choices[0].message.content is not a string")
        }
        let usage = root["usage"].flatMap(Self.usage)
        return ChatCompletion(
            id: root["id"]?.stringValue ?? "",
            model: root["model"]?.stringValue ?? "",
            content: content,
            finishReason: choice["finish_reason"]?.stringValue.map(FinishReason.init(rawValue:)),
            usage: usage,
            cost: usage.map(prices.cost(of:)),
            metadata: metadata
        )
    }

    /// What one `data:` chunk of a stream carries.
    struct StreamChunk {
        var content: String?
        var refusal: String?
        var finishReason: FinishReason?
        var usage: Usage?
    }

    /// Decodes one stream chunk (`{"choices":[{"delta":{"content":"..."}}], "usage": ...}`).
    static func decodeChunk(_ data: String) throws(OpenAIError) -> StreamChunk {
        let json: JSONValue
        do {
            json = try JSONParser.parse(data, limits: Self.limits)
        } catch {
            throw .malformedResponse("a stream chunk is not JSON (\(error.message))")
        }
        if let apiError = Self.apiError(in: json) { throw Self.errorInBody(apiError) }
        guard case .object(let root) = json else { throw .malformedResponse("a stream chunk is not a JSON object") }
        var chunk = StreamChunk()
        if let choice = root["choices"]?[0] {
            if let delta = choice["delta"] {
                chunk.content = delta["content"]?.stringValue
                chunk.refusal = delta["refusal"]?.stringValue
            }
            chunk.finishReason = choice["finish_reason"]?.stringValue.map(FinishReason.init(rawValue:))
        }
        chunk.usage = root["usage"].flatMap(Self.usage)
        return chunk
    }

    /// `usage`, or nil when it is null or not the expected shape.
    static func usage(_ value: JSONValue) -> Usage? {
        guard case .object = value, let prompt = value["prompt_tokens"]?.intValue,
            let completion = value["completion_tokens"]?.intValue
        else { return nil }
        let cached = value["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
        return Usage(promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion)
    }

    /// The error object of an error body. Besides OpenAI's `{"error":{"message",...}}` it accepts the
    /// shapes compatible servers use: `{"error":"text"}`, `{"detail":"text"}`, `{"message":"text"}`.
    static func apiError(in json: JSONValue) -> APIErrorBody? {
        guard case .object(let root) = json else { return nil }
        func text(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let string): return String(string.prefix(1024))
            case .number(let number): return number.text
            default: return nil
            }
        }
        switch root["error"] {
        case .object(let error):
            return APIErrorBody(
                message: text(error["message"]) ?? "", type: text(error["type"]), code: text(error["code"]),
                parameter: text(error["param"])
            )
        case .string(let message):
            return APIErrorBody(message: String(message.prefix(1024)))
        default:
            if let message = text(root["detail"]) ?? text(root["message"]), root["choices"] == nil {
                return APIErrorBody(message: message)
            }
            return nil
        }
    }

    /// Decodes an error body; nil when it is not JSON or has no error object (an HTML page from a proxy).
    static func apiError(in body: ByteBuffer) -> APIErrorBody? {
        guard let json = try? JSONParser.parse(body, limits: Self.limits) else { return nil }
        return Self.apiError(in: json)
    }

    /// An error object inside a 2xx body (a stream that failed after it started).
    static func errorInBody(_ apiError: APIErrorBody) -> OpenAIError {
        OpenAIError(.malformedResponse, apiError: apiError, detail: "the provider sent an error instead of an answer")
    }
}
