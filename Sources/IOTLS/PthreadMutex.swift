#if canImport(Glibc)
import Glibc
#endif

/// A `pthread_mutex_t` at a stable heap address.
///
/// A pthread mutex must not move after initialisation, which a Swift stored property cannot promise,
/// so it lives in its own allocation. Chosen over `Synchronization.Mutex` because ThreadSanitizer
/// reported false races on the latter with this toolchain (see FACTS.md).
final class PthreadMutex {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// An unlocked, non-recursive mutex.
    init() {
        self.mutex = .allocate(capacity: 1)
        let result = pthread_mutex_init(self.mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(self.mutex)
        self.mutex.deallocate()
    }

    /// Runs `body` with the mutex held. Keep `body` short: loop threads wait on it.
    @inline(__always)
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(self.mutex)
        defer { pthread_mutex_unlock(self.mutex) }
        return try body()
    }
}
