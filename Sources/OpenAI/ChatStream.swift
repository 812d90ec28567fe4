import IOPosix

/// What a streamed chat completion delivers, in order: ``metadata(_:)`` once the response head arrived,
/// ``delta(_:)`` for each piece of the answer, ``usage(_:_:)`` when the provider reports it (OpenAI sends
/// it last, with `stream_options.include_usage`), and ``done(finishReason:)`` at the end.
public enum ChatStreamEvent: Sendable, Hashable {
    /// The response head arrived: request id, rate limits, attempts.
    case metadata(ResponseMetadata)
    /// The next piece of the answer (customer-facing content: never log it).
    case delta(String)
    /// Token counts and their cost at the configured prices.
    case usage(Usage, Cost)
    /// The answer is complete.
    case done(finishReason: FinishReason?)
}

/// A streamed chat completion: an `AsyncSequence` of ``ChatStreamEvent`` that fails with
/// ``OpenAIError``. Iterate it once. Cancelling the iterating task, or dropping the stream, cancels
/// the request and closes its connection.
public struct ChatStream: AsyncSequence, Sendable {
    /// The events.
    public typealias Element = ChatStreamEvent
    /// The error.
    public typealias Failure = OpenAIError

    let base: AsyncThrowingStream<ChatStreamEvent, any Error>

    /// The iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: self.base.makeAsyncIterator()) }

    /// Reads the events one by one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ChatStreamEvent, any Error>.AsyncIterator

        /// The next event; nil after ``ChatStreamEvent/done(finishReason:)``.
        public mutating func next() async throws(OpenAIError) -> ChatStreamEvent? {
            do {
                return try await self.base.next()
            } catch {
                throw Self.openAIError(error)
            }
        }

        /// The next event, staying on the caller's actor.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(OpenAIError) -> ChatStreamEvent? {
            do {
                return try await self.base.next(isolation: actor)
            } catch {
                throw Self.openAIError(error)
            }
        }

        private static func openAIError(_ error: any Error) -> OpenAIError {
            (error as? OpenAIError) ?? .cancelled
        }
    }

    /// The whole answer: the deltas joined, with usage, cost and metadata.
    public func collect() async throws(OpenAIError) -> ChatCompletion {
        var content = ""
        var usage: Usage?
        var cost: Cost?
        var metadata = ResponseMetadata()
        var finishReason: FinishReason?
        for try await event in self {
            switch event {
            case .metadata(let value): metadata = value
            case .delta(let text): content += text
            case .usage(let value, let price):
                usage = value
                cost = price
            case .done(let reason): finishReason = reason
            }
        }
        return ChatCompletion(
            id: "", model: "", content: content, finishReason: finishReason, usage: usage, cost: cost, metadata: metadata
        )
    }
}

/// The task that runs a stream's request, cancellable before it has even started.
final class StreamProducerHandle: Sendable {
    private enum State {
        case initial
        case running(Task<Void, Never>)
        case cancelled
    }

    private let state = Locked(State.initial)

    /// Starts `body` in a new task, unless the stream was cancelled already. With an `executor` (the event
    /// loop the caller runs on) the task prefers it, so the producer and the consumer share a thread and a
    /// streamed event needs no hand-over between the loop and the global pool.
    func start(on executor: (any TaskExecutor)?, _ body: @escaping @Sendable () async -> Void) {
        self.state.withLock { state in
            guard case .initial = state else { return }
            state = .running(Task(executorPreference: executor) { await body() })
        }
    }

    /// Cancels the task (now, or as soon as it would start).
    func cancel() {
        let task: Task<Void, Never>? = self.state.withLock { state in
            defer { state = .cancelled }
            if case .running(let task) = state { return task }
            return nil
        }
        task?.cancel()
    }
}
