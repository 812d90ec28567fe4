public import IOCore
import IOPosix

/// A response body arriving over the network, consumed as an `AsyncSequence` of chunks.
///
/// Bounded: when more than `highWatermark` bytes wait unread, the connection stops reading until the
/// consumer catches up, so a slow consumer cannot make the client buffer without limit.
/// Cancelling the consuming task closes the connection.
public struct HTTPBodyStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let storage: Storage

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(storage: self.storage) }

    /// Reads the next chunk; nil at the end of the body.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let storage: Storage
        public mutating func next() async throws -> ByteBuffer? { try await self.storage.next() }
    }

    /// Collects the whole body, failing if it exceeds `maximumBytes`.
    public func collect(upTo maximumBytes: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await chunk in self {
            guard result.readableBytes + chunk.readableBytes <= maximumBytes else { throw HTTPClientError.bodyTooLarge }
            result.writeBuffer(chunk)
        }
        return result
    }

    /// The shared state between the connection's loop (producer) and the consuming task.
    final class Storage: @unchecked Sendable {
        // @unchecked Sendable: every mutable field is guarded by `lock`; the callbacks are @Sendable.
        private let lock = Lock()
        private var chunks: [ByteBuffer] = []
        private var head = 0
        private var bufferedBytes = 0
        private var end: (any Error)?? = nil
        private var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        private var paused = false
        let highWatermark: Int
        /// Called (from the consumer's thread) when the producer should resume reading.
        let resume: @Sendable () -> Void
        /// Called when the consumer cancels.
        let cancel: @Sendable () -> Void

        init(highWatermark: Int, resume: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
            self.highWatermark = highWatermark
            self.resume = resume
            self.cancel = cancel
        }

        /// Adds a chunk; returns true when the producer should pause reading.
        func yield(_ chunk: ByteBuffer) -> Bool {
            let (waiter, pause): (CheckedContinuation<ByteBuffer?, any Error>?, Bool) = self.lock.withLock {
                if let waiter = self.waiter {
                    self.waiter = nil
                    return (waiter, false)
                }
                self.chunks.append(chunk)
                self.bufferedBytes += chunk.readableBytes
                if self.bufferedBytes > self.highWatermark { self.paused = true }
                return (nil, self.paused)
            }
            waiter?.resume(returning: chunk)
            return pause
        }

        /// Ends the body, successfully (`nil`) or with an error.
        func finish(_ error: (any Error)?) {
            let waiter: CheckedContinuation<ByteBuffer?, any Error>? = self.lock.withLock {
                guard self.end == nil else { return nil }
                self.end = .some(error)
                defer { self.waiter = nil }
                return self.waiter
            }
            if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
        }

        func next() async throws -> ByteBuffer? {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                    enum Outcome { case chunk(ByteBuffer, resume: Bool), end((any Error)?), wait }
                    let outcome: Outcome = self.lock.withLock {
                        if self.head < self.chunks.count {
                            let chunk = self.chunks[self.head]
                            self.head += 1
                            self.bufferedBytes -= chunk.readableBytes
                            if self.head == self.chunks.count {
                                self.chunks.removeAll(keepingCapacity: true)
                                self.head = 0
                            }
                            var resume = false
                            if self.paused && self.bufferedBytes <= self.highWatermark / 2 {
                                self.paused = false
                                resume = true
                            }
                            return .chunk(chunk, resume: resume)
                        }
                        if let end = self.end { return .end(end) }
                        if Task.isCancelled { return .end(CancellationError()) }
                        self.waiter = continuation
                        return .wait
                    }
                    switch outcome {
                    case .chunk(let chunk, let resume):
                        if resume { self.resume() }
                        continuation.resume(returning: chunk)
                    case .end(let error):
                        if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
                    case .wait:
                        break
                    }
                }
            } onCancel: {
                let waiter: CheckedContinuation<ByteBuffer?, any Error>? = self.lock.withLock {
                    defer { self.waiter = nil }
                    if self.end == nil { self.end = .some(CancellationError()) }
                    return self.waiter
                }
                waiter?.resume(throwing: CancellationError())
                self.cancel()
            }
        }
    }
}
