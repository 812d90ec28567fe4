/// The error object an OpenAI-compatible API sends with a non-2xx status:
/// `{"error":{"message":"...","type":"...","code":"...","param":"..."}}`.
///
/// Every field comes from the provider and describes the request, not its content, so it is safe to log.
public struct APIErrorBody: Sendable, Hashable {
    /// The provider's explanation, e.g. "Rate limit reached for gpt-4o-mini ...".
    public var message: String
    /// The error class, e.g. `invalid_request_error`, `rate_limit_exceeded`.
    public var type: String?
    /// A machine-readable code, e.g. `invalid_api_key`, `model_not_found`; numbers are kept as text.
    public var code: String?
    /// The request parameter the error is about, when the provider names one.
    public var parameter: String?

    /// An error body.
    public init(message: String, type: String? = nil, code: String? = nil, parameter: String? = nil) {
        self.message = message
        self.type = type
        self.code = code
        self.parameter = parameter
    }
}

/// Why a chat completion failed.
///
/// A struct around a private code, so that new kinds of failure never break callers (compare with
/// the static members: `error == .circuitOpen`, `error == .timedOut(.firstByte)`). Equality looks at
/// the kind, the timeout phase and the HTTP status only; the rest is detail.
///
/// Nothing in ``description`` comes from a prompt or a completion (they are customer transcripts):
/// a refusal's text is kept in ``refusal`` for the caller but never printed.
public struct OpenAIError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case invalidConfiguration, timedOut, http, refusal, schemaMismatch, circuitOpen, connection, tlsFailure
        case malformedResponse, cancelled
    }

    /// Which deadline passed.
    public enum Phase: String, Hashable, Sendable {
        /// Name resolution, TCP connect and TLS handshake.
        case connect
        /// From sending the request to the response head.
        case firstByte = "first_byte"
        /// The whole call: every attempt, the backoff between them, and the body.
        case request
    }

    let code: Code
    /// The deadline that passed, for ``timedOut(_:)``.
    public let phase: Phase?
    /// The HTTP status, for ``http(_:_:requestID:)``.
    public let status: Int?
    /// The provider's error object, when the response carried one.
    public let apiError: APIErrorBody?
    /// The provider's `x-request-id`, to quote in a support ticket.
    public var requestID: String?
    /// The model's refusal text (customer-facing content: never log it).
    public let refusal: String?
    /// How many HTTP attempts were made before giving up (0 when none was, e.g. the breaker was open).
    public var attempts: Int
    /// Detail for logs: never contains prompt or completion text.
    public let detail: String

    init(
        _ code: Code, phase: Phase? = nil, status: Int? = nil, apiError: APIErrorBody? = nil, requestID: String? = nil,
        refusal: String? = nil, detail: String = ""
    ) {
        self.code = code
        self.phase = phase
        self.status = status
        self.apiError = apiError
        self.requestID = requestID
        self.refusal = refusal
        self.attempts = 0
        self.detail = detail
    }

    /// The configuration cannot work: a bad base URL, plain HTTP to a remote host, an unreadable CA file.
    public static func invalidConfiguration(_ detail: String) -> OpenAIError { .init(.invalidConfiguration, detail: detail) }
    /// A deadline passed.
    public static func timedOut(_ phase: Phase) -> OpenAIError { .init(.timedOut, phase: phase) }
    /// The API answered with a non-2xx status.
    public static func http(_ status: Int, _ apiError: APIErrorBody? = nil, requestID: String? = nil) -> OpenAIError {
        .init(.http, status: status, apiError: apiError, requestID: requestID)
    }
    /// The model refused to answer (`message.refusal`).
    public static func refusal(_ text: String) -> OpenAIError { .init(.refusal, refusal: text) }
    /// The answer does not decode into the requested type or schema (or was cut short).
    public static func schemaMismatch(_ detail: String) -> OpenAIError { .init(.schemaMismatch, detail: detail) }
    /// The circuit breaker is open: no request was sent; fall back at once.
    public static let circuitOpen = OpenAIError(.circuitOpen, detail: "circuit breaker is open")
    /// The connection failed or broke: refused, unreachable, reset, closed mid-response.
    public static func connection(_ detail: String) -> OpenAIError { .init(.connection, detail: detail) }
    /// The TLS handshake failed, typically because the server's certificate or name did not verify.
    public static func tlsFailure(_ detail: String) -> OpenAIError { .init(.tlsFailure, detail: detail) }
    /// The response was not the API's format (bad JSON, missing fields, bad SSE, too large).
    public static func malformedResponse(_ detail: String) -> OpenAIError { .init(.malformedResponse, detail: detail) }
    /// The calling task was cancelled; the connection in use was closed.
    public static let cancelled = OpenAIError(.cancelled)

    /// Whether this failure says the endpoint is unhealthy (for the circuit breaker): connection trouble,
    /// timeouts, 429 and 5xx, and garbage instead of the API's format.
    var countsAsEndpointFailure: Bool {
        switch self.code {
        case .connection, .tlsFailure, .timedOut, .malformedResponse: true
        case .http: self.status == 429 || (self.status ?? 0) >= 500
        case .invalidConfiguration, .refusal, .schemaMismatch, .circuitOpen, .cancelled: false
        }
    }

    /// A short label, safe as a metric label (bounded set of values).
    public var shortDescription: String {
        switch self.code {
        case .invalidConfiguration: "invalid_configuration"
        case .timedOut: "timed_out_\(self.phase?.rawValue ?? "request")"
        case .http:
            switch self.status ?? 0 {
            case 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504: "http_\(self.status ?? 0)"
            case 400..<500: "http_4xx"
            default: "http_5xx"
            }
        case .refusal: "refusal"
        case .schemaMismatch: "schema_mismatch"
        case .circuitOpen: "circuit_open"
        case .connection: "connection"
        case .tlsFailure: "tls_failure"
        case .malformedResponse: "malformed_response"
        case .cancelled: "cancelled"
        }
    }

    /// The label plus detail, the provider's message and the request id; never transcript text.
    public var description: String {
        var text = self.shortDescription
        if let status = self.status { text += " (status \(status))" }
        if let apiError = self.apiError {
            text += ": \(apiError.message)"
            if let type = apiError.type { text += " [type \(type)]" }
            if let code = apiError.code { text += " [code \(code)]" }
        } else if !self.detail.isEmpty {
            text += ": \(self.detail)"
        }
        if let refusal = self.refusal { text += ": the model refused (\(refusal.utf8.count) bytes of text)" }
        if let requestID = self.requestID { text += " [request id \(requestID)]" }
        if self.attempts > 1 { text += " after \(self.attempts) attempts" }
        return text
    }

    /// Whether the kinds, timeout phases and statuses are equal.
    public static func == (lhs: OpenAIError, rhs: OpenAIError) -> Bool {
        lhs.code == rhs.code && lhs.phase == rhs.phase && lhs.status == rhs.status
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.phase)
        hasher.combine(self.status)
    }
}
