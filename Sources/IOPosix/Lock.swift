import CLinux
import Glibc

/// A mutual-exclusion lock on `pthread_mutex_t`.
///
/// Chosen over `Synchronization.Mutex` because ThreadSanitizer on this toolchain reports false races on
/// the latter (see FACTS.md) and we want TSan runs to stay clean.
public final class Lock: @unchecked Sendable {
    // @unchecked Sendable: the mutex itself is the synchronisation; it is only touched through
    // pthread calls, which are thread-safe by definition.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// A new, unlocked lock.
    public init() {
        self.mutex = .allocate(capacity: 1)
        self.mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(self.mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(self.mutex)
        self.mutex.deallocate()
    }

    /// Runs `body` while holding the lock.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(self.mutex)
        defer { pthread_mutex_unlock(self.mutex) }
        return try body()
    }
}

/// A value guarded by a ``Lock``.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only read or written inside `lock.withLock`.
    private let lock = Lock()
    private var value: Value

    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try self.lock.withLock { () throws(E) -> R in try body(&self.value) }
    }
}
