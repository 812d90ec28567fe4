import HTTP
import HTTPCore
import IOCore
public import IOPosix
import IOTLS
import JSON
public import Logging

/// A client for an OpenAI-compatible `POST /chat/completions` endpoint (OpenAI, Groq, llama.cpp,
/// vLLM, Ollama) on our own HTTP/1.1 client and event loops.
///
/// Every call: checks the circuit breaker (an open breaker fails at once with
/// ``OpenAIError/circuitOpen``, without touching the network), takes a keep-alive connection from the
/// pool, sends the request, and retries connection errors, 429 and 5xx as the ``RetryPolicy`` says,
/// all within the whole-request deadline. Cancelling the calling task closes the connection in use.
///
/// Logging: failures are logged with the provider's request id, status and error message; prompts and
/// answers never are (they are customer transcripts), nor is the API key.
public final class OpenAIClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: OpenAIConfiguration
    /// The circuit breaker (for metrics, or to check ``CircuitBreaker/isOpen`` before calling).
    public let circuitBreaker: CircuitBreaker
    let pool: ConnectionPool
    private let logger: Logger
    /// The headers every request carries; built once.
    private let baseHeaders: HTTPHeaders

    /// A client on `group`'s loops.
    /// - Parameters:
    ///   - configuration: endpoint, key, model, deadlines, policies.
    ///   - group: the event loops connections live on (the client does not own them).
    ///   - logger: where failures are logged.
    /// - Throws: ``OpenAIError/invalidConfiguration(_:)`` when the configuration does not validate or the
    ///   CA file cannot be loaded.
    public init(configuration: OpenAIConfiguration, group: EventLoopGroup, logger: Logger = Logger(label: "earpiece.openai")) throws(OpenAIError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.circuitBreaker = CircuitBreaker(policy: configuration.circuitBreaker)
        var tls: TLSClientContext?
        if configuration.endpoint.usesTLS {
            let trustRoots: TLSClientConfiguration.TrustRoots =
                configuration.certificateAuthorityFile.map { .certificateFile($0) } ?? .system
            do {
                tls = try TLSClientContext(
                    configuration: TLSClientConfiguration(trustRoots: trustRoots, applicationProtocols: ["http/1.1"])
                )
            } catch {
                throw .invalidConfiguration("cannot set up TLS: \(error)")
            }
        }
        self.pool = ConnectionPool(
            endpoint: configuration.endpoint, tls: tls, group: group, policy: configuration.pool,
            maximumBodySize: configuration.maximumResponseBytes
        )
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "earpiece-openai/1")
        if let key = configuration.apiKey { headers.add(name: "Authorization", value: "Bearer \(key.value)") }
        self.baseHeaders = headers
    }

    /// Whether a call now would fail at once with ``OpenAIError/circuitOpen``: the cue to use the fallback.
    public var isCircuitOpen: Bool { self.circuitBreaker.isOpen }

    /// Closes the idle connections. Calls in flight finish; their connections are closed afterwards.
    public func shutdown() {
        self.pool.shutdown()
    }

    // MARK: Calls

    /// Sends `request` and waits for the whole answer.
    /// - Throws: ``OpenAIError``: `refusal` when the model refused; `http` for an API error;
    ///   `timedOut`, `connection`, `circuitOpen`, `cancelled`, `malformedResponse` otherwise.
    nonisolated(nonsending) public func complete(_ request: ChatRequest) async throws(OpenAIError) -> ChatCompletion {
        // Called from an event loop (a conversation), the call's own steps run on that loop: the request, the
        // answer and the hand-over back need no thread hop.
        guard let loop = self.pool.group.currentLoop else { return try await self.completeHere(request) }
        return try await withTaskExecutorPreference(loop) { () async throws(OpenAIError) -> ChatCompletion in
            try await self.completeHere(request)
        }
    }

    private func completeHere(_ request: ChatRequest) async throws(OpenAIError) -> ChatCompletion {
        let start = ContinuousClock.now
        let deadline = start + self.configuration.timeouts.request
        let body = try self.requestBody(request, stream: false)
        do {
            return try await Self.withDeadline(deadline) { () async throws(OpenAIError) -> ChatCompletion in
                try await self.performCompletion(body: body, start: start, deadline: deadline)
            }
        } catch {
            self.logFailure(error)
            throw error
        }
    }

    /// Sends `request` asking for an answer that follows `schema`, and decodes it into `T`.
    /// - Returns: the decoded value and the completion it came from (usage, cost, metadata).
    /// - Throws: ``OpenAIError/refusal(_:)`` when the model refused; ``OpenAIError/schemaMismatch(_:)``
    ///   when the answer is not JSON, was cut short, or does not decode into `T`; as ``complete(_:)``.
    public func completeStructured<T: Decodable>(
        _ request: ChatRequest, as type: T.Type, schema: JSONSchemaFormat
    ) async throws(OpenAIError) -> (T, ChatCompletion) {
        var request = request
        request.responseFormat = schema
        let completion = try await self.complete(request)
        do {
            let value = try Self.decodeStructured(type, from: completion)
            return (value, completion)
        } catch {
            var error = error
            error.requestID = completion.metadata.requestID
            error.attempts = completion.metadata.attempts
            self.logFailure(error)
            throw error
        }
    }

    /// Sends `request` with `stream: true` and returns the answer as it is generated.
    ///
    /// The request starts at once; iterate the stream to receive ``ChatStreamEvent/delta(_:)`` events as
    /// the model writes. Cancelling the iterating task, or dropping the stream, closes the connection.
    /// Retries happen only before the answer starts; a failure after that ends the stream with an error.
    public func stream(_ request: ChatRequest) -> ChatStream {
        let (stream, continuation) = AsyncThrowingStream<ChatStreamEvent, any Error>.makeStream()
        let producer = StreamProducerHandle()
        continuation.onTermination = { termination in
            if case .cancelled = termination { producer.cancel() }
        }
        // Called from an event loop (a conversation's), the producer runs there too: see `start(on:_:)`.
        producer.start(on: self.pool.group.currentLoop) {
            await self.runStream(request, into: continuation)
        }
        return ChatStream(base: stream)
    }

    // MARK: The parts of a call

    private func requestBody(_ request: ChatRequest, stream: Bool) throws(OpenAIError) -> ByteBuffer {
        var body = ByteBuffer(capacity: 512)
        try request.writeBody(defaultModel: self.configuration.model, stream: stream, into: &body)
        return body
    }

    private func performCompletion(body: ByteBuffer, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async throws(OpenAIError) -> ChatCompletion {
        let exchange = try await self.send(body: body, stream: false, start: start, deadline: deadline)
        let bytes: ByteBuffer
        do {
            bytes = try await exchange.response.body.collect(upTo: self.configuration.maximumResponseBytes)
        } catch {
            exchange.connection.close()
            var failure = Self.map(error, phase: .request)
            failure.requestID = exchange.metadata.requestID
            failure.attempts = exchange.metadata.attempts
            self.circuitBreaker.record(failure.code == .cancelled ? .neutral : .failure, permission: exchange.permission)
            throw failure
        }
        self.pool.release(exchange.connection, reusable: true)
        do {
            let completion = try WireFormat.decodeCompletion(bytes, metadata: exchange.metadata, prices: self.configuration.prices)
            self.circuitBreaker.record(.success, permission: exchange.permission)
            return completion
        } catch {
            var error = error
            error.requestID = exchange.metadata.requestID
            error.attempts = exchange.metadata.attempts
            self.circuitBreaker.record(error.countsAsEndpointFailure ? .failure : .success, permission: exchange.permission)
            throw error
        }
    }

    /// A 2xx response whose body is still to be read.
    struct Exchange {
        var connection: HTTPClientConnection
        var response: HTTPClientResponse
        /// What the breaker allowed; the caller records the outcome once the body is read.
        var permission: CircuitBreaker.StateMachine.Permission
        var metadata: ResponseMetadata
    }

    /// Sends the request, retrying as the policy allows, until a 2xx response head arrives.
    private func send(body: ByteBuffer, stream: Bool, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async throws(OpenAIError) -> Exchange {
        var attempt = 0
        var lastError: OpenAIError?
        var random = SystemRandomNumberGenerator()
        while true {
            if Task.isCancelled {
                var error = OpenAIError.cancelled
                error.attempts = attempt
                throw error
            }
            let permission = self.circuitBreaker.acquire()
            guard permission != .rejected else {
                // The breaker opened (possibly because of this call's own failures): report what
                // really happened if there was an attempt.
                var error = lastError ?? .circuitOpen
                error.attempts = attempt
                throw error
            }
            attempt += 1
            let headers: HTTPHeaders?
            var error: OpenAIError
            do {
                var exchange = try await self.attempt(body: body, stream: stream, deadline: deadline)
                exchange.permission = permission
                exchange.metadata.attempts = attempt
                return exchange
            } catch let failure {
                headers = failure.headers
                error = failure.error
            }
            self.circuitBreaker.record(
                error.code == .cancelled ? .neutral : (error.countsAsEndpointFailure ? .failure : .success),
                permission: permission
            )
            error.attempts = attempt
            let decision = self.configuration.retry.decide(
                attempt: attempt, error: error, headers: headers, elapsed: ContinuousClock.now - start,
                now: Self.wallClockSeconds(), using: &random
            )
            guard case .retry(let delay) = decision, ContinuousClock.now + delay < deadline else { throw error }
            self.logger.notice(
                "OpenAI request failed; retrying",
                metadata: Self.metadata(for: error).merging(
                    ["openai.retry_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"],
                    uniquingKeysWith: { $1 }
                )
            )
            lastError = error
            do {
                try await Task.sleep(for: delay)
            } catch {
                var cancelled = OpenAIError.cancelled
                cancelled.attempts = attempt
                throw cancelled
            }
        }
    }

    /// A failed attempt, with the response headers when a response arrived (for `Retry-After`).
    struct AttemptFailure: Error {
        var error: OpenAIError
        var headers: HTTPHeaders?
    }

    /// One attempt: a connection from the pool, the request, the response head. A non-2xx response's
    /// body is read (bounded) for its error object, and the connection is pooled again.
    private func attempt(body: ByteBuffer, stream: Bool, deadline: ContinuousClock.Instant) async throws(AttemptFailure) -> Exchange {
        let timeouts = self.configuration.timeouts
        let connection: HTTPClientConnection
        let reused: Bool
        do {
            (connection, reused) = try await self.pool.checkout(connectTimeout: min(timeouts.connect, deadline - .now))
        } catch {
            throw AttemptFailure(error: error)
        }
        var headers = self.baseHeaders
        headers.add(name: "Accept", value: stream ? "text/event-stream" : "application/json")
        let request = HTTPClientRequest(method: .post, target: self.configuration.endpoint.chatCompletionsPath, headers: headers, body: body)
        let response: HTTPClientResponse
        do {
            response = try await connection.execute(request, firstByteTimeout: min(timeouts.firstByte, deadline - .now))
        } catch {
            connection.close()
            throw AttemptFailure(error: Self.map(error, phase: .firstByte))
        }
        let responseHeaders = response.head.headers
        let requestID = responseHeaders["x-request-id"]
        let status = response.head.statusCode
        guard (200..<300).contains(status) else {
            // Read the error body so the connection can be reused; a huge one is not worth it.
            var apiError: APIErrorBody?
            do {
                let errorBody = try await response.body.collect(upTo: 64 * 1024)
                self.pool.release(connection, reusable: true)
                apiError = WireFormat.apiError(in: errorBody)
            } catch {
                connection.close()
                if Task.isCancelled { throw AttemptFailure(error: .cancelled) }
            }
            throw AttemptFailure(error: .http(status, apiError, requestID: requestID), headers: responseHeaders)
        }
        let metadata = ResponseMetadata(
            requestID: requestID, rateLimits: RateLimits(headers: responseHeaders), attempts: 1, reusedConnection: reused
        )
        return Exchange(connection: connection, response: response, permission: .allowed, metadata: metadata)
    }

    // MARK: Streaming

    private func runStream(_ request: ChatRequest, into continuation: AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation) async {
        let start = ContinuousClock.now
        let deadline = start + self.configuration.timeouts.request
        do {
            let body = try self.requestBody(request, stream: true)
            try await Self.withDeadline(deadline) { () async throws(OpenAIError) in
                try await self.performStream(body: body, start: start, deadline: deadline, continuation: continuation)
            }
            continuation.finish()
        } catch {
            self.logFailure(error)
            continuation.finish(throwing: error)
        }
    }

    private func performStream(
        body: ByteBuffer, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
        continuation: AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation
    ) async throws(OpenAIError) {
        let exchange = try await self.send(body: body, stream: true, start: start, deadline: deadline)
        continuation.yield(.metadata(exchange.metadata))
        var reader = StreamReader(limits: self.configuration.eventStreamLimits, prices: self.configuration.prices)
        let contentType = exchange.response.head.headers["Content-Type"] ?? ""
        let isEventStream = contentType.lowercased().hasPrefix("text/event-stream")
        do {
            if isEventStream {
                var received = 0
                for try await chunk in exchange.response.body {
                    received += chunk.readableBytes
                    guard received <= self.configuration.maximumResponseBytes else {
                        throw OpenAIError.malformedResponse("the stream is larger than the response limit")
                    }
                    try reader.feed(chunk) { continuation.yield($0) }
                }
            } else {
                // A server that ignored `stream: true` and answered with one JSON document.
                let bytes = try await exchange.response.body.collect(upTo: self.configuration.maximumResponseBytes)
                let completion = try WireFormat.decodeCompletion(bytes, metadata: exchange.metadata, prices: self.configuration.prices)
                continuation.yield(.delta(completion.content))
                if let usage = completion.usage { continuation.yield(.usage(usage, self.configuration.prices.cost(of: usage))) }
                reader.finishReason = completion.finishReason
                reader.sawDone = true
            }
            try reader.finish()
        } catch {
            var failure = Self.map(error, phase: .request)
            failure.requestID = exchange.metadata.requestID
            failure.attempts = exchange.metadata.attempts
            // A refusal is reported after the body was read to its end; anything else may have cut it short.
            self.pool.release(exchange.connection, reusable: failure.code == .refusal)
            let outcome: CircuitBreaker.StateMachine.Outcome =
                failure.code == .cancelled ? .neutral : (failure.countsAsEndpointFailure ? .failure : .success)
            self.circuitBreaker.record(outcome, permission: exchange.permission)
            throw failure
        }
        self.pool.release(exchange.connection, reusable: true)
        self.circuitBreaker.record(.success, permission: exchange.permission)
        continuation.yield(.done(finishReason: reader.finishReason))
    }

    // MARK: Helpers

    /// Turns what the HTTP layer threw into an ``OpenAIError``; `phase` names the deadline a timeout hit.
    static func map(_ error: any Error, phase: OpenAIError.Phase) -> OpenAIError {
        if Task.isCancelled { return .cancelled }
        switch error {
        case let error as OpenAIError:
            return error
        case let error as HTTPClientError:
            switch error.shortDescription {
            case "timed_out": return .timedOut(phase)
            case "connect_failed":
                if let cause = error.connectionError {
                    return cause == .tlsFailure("") ? .tlsFailure(cause.detail) : .connection(cause.detail)
                }
                return .connection(error.detail)
            case "bad_response": return .malformedResponse("invalid HTTP response: \(error.detail)")
            case "body_too_large": return .malformedResponse("the response is larger than the limit")
            default: return .connection(error.description)
            }
        case let error as SSEParseError:
            return .malformedResponse(error.description)
        case is CancellationError:
            return .cancelled
        default:
            return .connection("\(error)")
        }
    }

    /// Decodes the structured answer of `completion`.
    static func decodeStructured<T: Decodable>(_ type: T.Type, from completion: ChatCompletion) throws(OpenAIError) -> T {
        if completion.finishReason == .length {
            throw .schemaMismatch("the answer was cut short (finish_reason length)")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(completion.content, limits: WireFormat.limits)
        } catch {
            throw .schemaMismatch("the answer is not JSON (\(error.message))")
        }
        do {
            return try JSONValueDecoder().decode(type, from: json)
        } catch let error as DecodingError {
            throw .schemaMismatch(Self.describe(error))
        } catch {
            throw .schemaMismatch("the answer does not decode into \(T.self)")
        }
    }

    /// A decoding error as kind and coding path only: values from the answer stay out of logs.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            guard !codingPath.isEmpty else { return "the top level" }
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \"\(key.stringValue)\" at \(path(context.codingPath))"
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(path(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "null where \(type) was expected at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            return "invalid value at \(path(context.codingPath))"
        @unknown default:
            return "the answer does not decode"
        }
    }

    /// Runs `operation`, cancelling it when `deadline` passes; a failure it had because of that
    /// becomes ``OpenAIError/timedOut(_:)`` with phase `.request`.
    static func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async throws(OpenAIError) -> T
    ) async throws(OpenAIError) -> T {
        let result = await withTaskGroup(of: Result<T, OpenAIError>?.self) { group in
            group.addTask {
                do throws(OpenAIError) {
                    return .success(try await operation())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            var outcome: Result<T, OpenAIError>?
            while let next = await group.next() {
                group.cancelAll()
                if let next {
                    outcome = next
                    break
                }
                // The deadline passed (or the caller was cancelled): wait for the operation to wind up.
            }
            return outcome ?? .failure(.timedOut(.request))
        }
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            let consequenceOfCancellation: Bool
            switch error.code {
            case .cancelled, .connection, .timedOut: consequenceOfCancellation = true
            default: consequenceOfCancellation = false
            }
            guard consequenceOfCancellation, ContinuousClock.now >= deadline else { throw error }
            var timeout = OpenAIError.timedOut(.request)
            timeout.attempts = error.attempts
            timeout.requestID = error.requestID
            throw timeout
        }
    }

    private static func wallClockSeconds() -> Int64 {
        Int64(WallClock.secondsSinceEpoch())
    }

    static func metadata(for error: OpenAIError) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["openai.error": "\(error.shortDescription)", "openai.attempts": "\(error.attempts)"]
        if let status = error.status { metadata["openai.status"] = "\(status)" }
        if let requestID = error.requestID { metadata["openai.request_id"] = "\(requestID)" }
        if let apiError = error.apiError {
            metadata["openai.api_error.message"] = "\(apiError.message)"
            if let type = apiError.type { metadata["openai.api_error.type"] = "\(type)" }
            if let code = apiError.code { metadata["openai.api_error.code"] = "\(code)" }
        } else if !error.detail.isEmpty {
            metadata["openai.detail"] = "\(error.detail)"
        }
        return metadata
    }

    private func logFailure(_ error: OpenAIError) {
        if error.code == .cancelled {
            self.logger.debug("OpenAI request cancelled", metadata: Self.metadata(for: error))
        } else {
            self.logger.warning("OpenAI request failed", metadata: Self.metadata(for: error))
        }
    }
}

/// Turns event-stream bytes into ``ChatStreamEvent``s: SSE framing, then one JSON chunk per event.
struct StreamReader {
    private var parser: SSEParser
    private let prices: TokenPrices
    /// Events completed by the current chunk (reused to avoid an allocation per chunk).
    private var events: [SSEEvent] = []
    /// Refusal text streamed so far (never logged).
    private var refusal = ""
    /// Whether any answer text arrived.
    private var sawContent = false
    /// Whether `data: [DONE]` arrived.
    var sawDone = false
    /// The last finish reason seen.
    var finishReason: FinishReason?

    init(limits: SSEParser.Limits, prices: TokenPrices) {
        self.parser = SSEParser(limits: limits)
        self.prices = prices
    }

    /// Parses `chunk` and yields the deltas and usage it completes.
    mutating func feed(_ chunk: ByteBuffer, yield: (ChatStreamEvent) -> Void) throws(OpenAIError) {
        self.events.removeAll(keepingCapacity: true)
        do {
            try chunk.withUnsafeReadableBytes { (bytes) throws(SSEParseError) in
                try self.parser.feed(bytes) { self.events.append($0) }
            }
        } catch {
            throw .malformedResponse(error.description)
        }
        for event in self.events where !self.sawDone {
            if event.data == "[DONE]" {
                self.sawDone = true
                break
            }
            let decoded = try WireFormat.decodeChunk(event.data)
            if let content = decoded.content, !content.isEmpty {
                self.sawContent = true
                yield(.delta(content))
            }
            if let refusal = decoded.refusal { self.refusal += refusal }
            if let reason = decoded.finishReason { self.finishReason = reason }
            if let usage = decoded.usage { yield(.usage(usage, self.prices.cost(of: usage))) }
        }
    }

    /// Checks the end of the stream: it must have ended with `[DONE]` or a finish reason (otherwise it
    /// was cut short), and a refusal without an answer is an error.
    func finish() throws(OpenAIError) {
        if !self.refusal.isEmpty && !self.sawContent { throw .refusal(self.refusal) }
        guard self.sawDone || self.finishReason != nil else {
            throw .malformedResponse("the stream ended before [DONE]")
        }
    }
}
