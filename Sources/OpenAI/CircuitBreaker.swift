import IOPosix

/// When the circuit breaker opens and how long it stays open.
public struct CircuitBreakerPolicy: Sendable, Hashable {
    /// Consecutive failed attempts that open the breaker (0 disables the breaker).
    public var failureThreshold: Int
    /// How long it stays open before letting one probe request through.
    public var coolDown: Duration

    /// Opens after `failureThreshold` consecutive failures (default 5) for `coolDown` (default 30 s).
    public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(30)) {
        self.failureThreshold = max(0, failureThreshold)
        self.coolDown = max(.zero, coolDown)
    }

    /// A breaker that never opens.
    public static let disabled = CircuitBreakerPolicy(failureThreshold: 0)
}

/// Stops calling an endpoint that keeps failing, so callers fall back at once instead of waiting for
/// timeouts: closed → (N consecutive failures) → open → (cool-down) → half-open, where exactly one
/// probe goes through; its success closes the breaker, its failure opens it again.
///
/// Thread-safe: the ``StateMachine`` is a pure value kept behind a lock; the clock is injectable.
public final class CircuitBreaker: Sendable {
    /// The pure state machine: every transition takes the current time, so tests drive it without waiting.
    public struct StateMachine: Sendable, Hashable {
        /// Where the breaker is.
        public enum State: Sendable, Hashable {
            /// Requests flow; `failures` consecutive attempts have failed.
            case closed(failures: Int)
            /// Requests are refused until `until` (a time on the breaker's clock).
            case open(until: Duration)
            /// The cool-down is over; `probing` says whether the one probe is in flight.
            case halfOpen(probing: Bool)
        }

        /// What the caller may do.
        public enum Permission: Sendable, Hashable {
            /// Send the request.
            case allowed
            /// Send it as the half-open probe: its outcome decides the breaker's state.
            case probe
            /// Do not send it.
            case rejected
        }

        /// How an attempt ended, as far as the breaker cares.
        public enum Outcome: Sendable, Hashable {
            /// The endpoint answered properly (any response that is not 429 or 5xx).
            case success
            /// The endpoint is unhealthy: connection error, timeout, 429, 5xx, garbage.
            case failure
            /// Says nothing about the endpoint (cancelled by the caller); a probe slot is given back.
            case neutral
        }

        /// The policy.
        public let policy: CircuitBreakerPolicy
        /// The current state.
        public private(set) var state: State = .closed(failures: 0)

        /// A closed breaker.
        public init(policy: CircuitBreakerPolicy) {
            self.policy = policy
        }

        /// Asks to send a request at time `now`.
        public mutating func acquire(now: Duration) -> Permission {
            guard self.policy.failureThreshold > 0 else { return .allowed }
            switch self.state {
            case .closed:
                return .allowed
            case .open(let until):
                guard now >= until else { return .rejected }
                self.state = .halfOpen(probing: true)
                return .probe
            case .halfOpen(let probing):
                guard !probing else { return .rejected }
                self.state = .halfOpen(probing: true)
                return .probe
            }
        }

        /// Reports how an attempt that was given `permission` ended, at time `now`.
        public mutating func record(_ outcome: Outcome, permission: Permission, now: Duration) {
            guard self.policy.failureThreshold > 0, permission != .rejected else { return }
            switch (self.state, permission, outcome) {
            case (.halfOpen, .probe, .success):
                self.state = .closed(failures: 0)
            case (.halfOpen, .probe, .failure):
                self.state = .open(until: now + self.policy.coolDown)
            case (.halfOpen, .probe, .neutral):
                self.state = .halfOpen(probing: false)
            case (.closed, _, .success):
                self.state = .closed(failures: 0)
            case (.closed(let failures), _, .failure):
                let failures = failures + 1
                self.state = failures >= self.policy.failureThreshold ? .open(until: now + self.policy.coolDown) : .closed(failures: failures)
            default:
                // Late outcomes of requests let through before the breaker opened change nothing:
                // the breaker already acted on newer information.
                break
            }
        }

        /// Whether a request at `now` would be refused without a network attempt.
        public func isOpen(now: Duration) -> Bool {
            switch self.state {
            case .closed: false
            case .open(let until): now < until
            case .halfOpen(let probing): probing
            }
        }
    }

    private let machine: Locked<StateMachine>
    private let clock: @Sendable () -> Duration

    /// A breaker on the monotonic clock.
    public convenience init(policy: CircuitBreakerPolicy) {
        let origin = ContinuousClock.now
        self.init(policy: policy, clock: { ContinuousClock.now - origin })
    }

    /// A breaker reading time from `clock` (any monotonic origin), so tests can move time themselves.
    public init(policy: CircuitBreakerPolicy, clock: @escaping @Sendable () -> Duration) {
        self.machine = Locked(StateMachine(policy: policy))
        self.clock = clock
    }

    /// Asks to send a request now.
    public func acquire() -> StateMachine.Permission {
        let now = self.clock()
        return self.machine.withLock { $0.acquire(now: now) }
    }

    /// Reports how an attempt that was given `permission` ended.
    public func record(_ outcome: StateMachine.Outcome, permission: StateMachine.Permission) {
        let now = self.clock()
        self.machine.withLock { $0.record(outcome, permission: permission, now: now) }
    }

    /// Whether a request now would be refused (``OpenAIError/circuitOpen``) without a network attempt.
    public var isOpen: Bool {
        let now = self.clock()
        return self.machine.withLock { $0.isOpen(now: now) }
    }

    /// The current state, for metrics and tests.
    public var state: StateMachine.State { self.machine.withLock { $0.state } }
}
