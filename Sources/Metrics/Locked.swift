import Glibc

/// A value that only one thread at a time may read or write, guarded by a `pthread_mutex_t`.
///
/// Metrics has no dependencies, so it keeps its own small lock rather than using IOPosix's. It is
/// chosen over `Synchronization.Mutex` because ThreadSanitizer on this toolchain reports false races
/// on the latter (FACTS.md), and a registry shared by every event loop should keep TSan runs clean.
/// Only registration and scrapes take it; updates of a series never do.
final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written inside `withLock`, with `mutex` held.

    /// The mutex, at a stable heap address: a pthread mutex must not move once initialised.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The guarded value.
    private var value: Value

    /// Wraps `value`.
    init(_ value: consuming Value) {
        self.mutex = .allocate(capacity: 1)
        self.mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(self.mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(self.mutex)
        self.mutex.deinitialize(count: 1)
        self.mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Keep `body` short: event loops may wait on it.
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        pthread_mutex_lock(self.mutex)
        defer { pthread_mutex_unlock(self.mutex) }
        return body(&self.value)
    }
}
