public import HTTPCore

/// When and how long to wait before trying a failed request again. Pure: the caller passes in the
/// attempt count, the failure, the response headers, the clocks and a random source.
///
/// Retried: connection errors, connect and first-byte timeouts, and the statuses 408, 409, 429 and
/// 5xx. Never retried: other 4xx (400, 401, 403, 404, 422 will not get better), TLS verification
/// failures, refusals, schema mismatches, malformed responses, the whole-request deadline, and
/// cancellation.
///
/// The wait is the server's hint when it gives one (`retry-after-ms`, then `Retry-After` in seconds or
/// as an HTTP date), otherwise exponential backoff with full jitter: a uniformly random wait between
/// zero and `min(maximumBackoff, initialBackoff × multiplier^(attempt-1))`, which spreads the retries of
/// many clients instead of synchronising them (AWS Architecture Blog, "Exponential Backoff and Jitter").
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts per call, the first one included (1 disables retries).
    public var maximumAttempts: Int
    /// The backoff cap before the first retry.
    public var initialBackoff: Duration
    /// The largest backoff cap.
    public var maximumBackoff: Duration
    /// How much the cap grows per attempt.
    public var multiplier: Double
    /// No retry starts if it would begin more than this long after the call started.
    public var maximumTotalTime: Duration
    /// A server hint longer than this means "not soon": give up instead of waiting (the caller's
    /// fallback is better than a coaching tip that arrives a minute late).
    public var maximumRetryAfter: Duration

    /// A policy; the defaults are 3 attempts, backoff caps from 500 ms to 8 s, 30 s in total, and
    /// server hints of up to 60 s.
    public init(
        maximumAttempts: Int = 3,
        initialBackoff: Duration = .milliseconds(500),
        maximumBackoff: Duration = .seconds(8),
        multiplier: Double = 2,
        maximumTotalTime: Duration = .seconds(30),
        maximumRetryAfter: Duration = .seconds(60)
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = max(.zero, initialBackoff)
        self.maximumBackoff = max(.zero, maximumBackoff)
        self.multiplier = multiplier.isFinite ? max(1, multiplier) : 2
        self.maximumTotalTime = maximumTotalTime
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// One attempt, no retries.
    public static let none = RetryPolicy(maximumAttempts: 1)

    /// What to do after a failed attempt.
    public enum Decision: Sendable, Hashable {
        /// Wait this long, then try again.
        case retry(after: Duration)
        /// Stop and report the failure.
        case giveUp
    }

    /// Decides whether to retry after attempt number `attempt` (1 for the first) failed with `error`.
    /// - Parameters:
    ///   - attempt: how many attempts have been made, this one included.
    ///   - error: why it failed.
    ///   - headers: the response headers, when a response arrived (for the server's hints).
    ///   - elapsed: time since the call started.
    ///   - now: the wall clock in seconds since 1970, to turn an HTTP-date `Retry-After` into a wait.
    ///   - random: the jitter source; tests pass a seeded generator.
    public func decide(
        attempt: Int,
        error: OpenAIError,
        headers: HTTPHeaders?,
        elapsed: Duration,
        now: Int64,
        using random: inout some RandomNumberGenerator
    ) -> Decision {
        guard attempt < self.maximumAttempts, Self.isRetryable(error) else { return .giveUp }
        let delay: Duration
        if let headers, let hint = Self.retryAfter(headers: headers, now: now) {
            guard hint <= self.maximumRetryAfter else { return .giveUp }
            delay = hint
        } else {
            delay = self.backoff(attempt: attempt, using: &random)
        }
        guard elapsed + delay <= self.maximumTotalTime else { return .giveUp }
        return .retry(after: delay)
    }

    /// Whether a failure like `error` may succeed when tried again.
    public static func isRetryable(_ error: OpenAIError) -> Bool {
        switch error.code {
        case .connection: true
        case .timedOut: error.phase != .request
        case .http:
            switch error.status ?? 0 {
            case 408, 409, 429, 500...599: true
            default: false
            }
        case .invalidConfiguration, .tlsFailure, .refusal, .schemaMismatch, .circuitOpen, .malformedResponse, .cancelled:
            false
        }
    }

    /// The full-jitter backoff after attempt number `attempt`: uniform in `0..<cap`, with
    /// `cap = min(maximumBackoff, initialBackoff × multiplier^(attempt-1))`.
    public func backoff(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let cap = self.backoffCap(attempt: attempt)
        // One draw, 53 random bits → [0, 1). (`Double.random(in:using:)` may draw many times, which
        // makes a scripted generator in tests loop.)
        let fraction = Double(random.next() >> 11) * 0x1p-53
        return .nanoseconds(Int64((Self.nanoseconds(cap) * fraction).rounded()))
    }

    /// The upper bound of the backoff after attempt number `attempt`.
    public func backoffCap(attempt: Int) -> Duration {
        let maximum = Self.nanoseconds(self.maximumBackoff)
        var cap = Self.nanoseconds(self.initialBackoff)
        var step = 1
        while step < attempt && cap < maximum {
            cap *= self.multiplier
            step += 1
        }
        return .nanoseconds(Int64(min(cap, maximum)))
    }

    private static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }

    /// The server's wait hint: `retry-after-ms` (milliseconds, OpenAI's), else `Retry-After` as
    /// seconds or as an HTTP date relative to `now` (seconds since 1970). Nil when absent or malformed;
    /// a date in the past is a zero wait.
    public static func retryAfter(headers: HTTPHeaders, now: Int64) -> Duration? {
        // Values are clamped to about 31 years before the conversion to nanoseconds, which would
        // overflow Int64 (and trap) for a 12-digit number of seconds.
        if let text = headers["retry-after-ms"], let milliseconds = Self.parseNonNegativeDecimal(text) {
            return .nanoseconds(Int64((min(milliseconds, 1e12) * 1e6).rounded()))
        }
        guard let text = headers["retry-after"] else { return nil }
        if let seconds = Self.parseNonNegativeDecimal(text) {
            return .nanoseconds(Int64((min(seconds, 1e9) * 1e9).rounded()))
        }
        if let date = HTTPDate.parse(text) {
            return .seconds(max(0, date - now))
        }
        return nil
    }

    /// A plain non-negative decimal such as `2`, `1.5`, `250`, of at most 12 bytes.
    static func parseNonNegativeDecimal(_ text: String) -> Double? {
        let trimmed = text.utf8.drop(while: { $0 == 0x20 }).reversed().drop(while: { $0 == 0x20 })
        guard !trimmed.isEmpty, trimmed.count <= 12 else { return nil }
        var points = 0
        for byte in trimmed {
            if byte == UInt8(ascii: ".") {
                points += 1
            } else if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") {
                return nil
            }
        }
        guard points <= 1, trimmed.count > points else { return nil }
        return Double(String(decoding: trimmed.reversed(), as: UTF8.self))
    }
}

/// HTTP dates (RFC 9110 §5.6.7): the IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete
/// RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) forms.
enum HTTPDate {
    /// Seconds since 1970-01-01T00:00:00Z, or nil for anything that is not an HTTP date.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        // Tokens separated by spaces, commas and hyphens.
        var tokens: [ArraySlice<UInt8>] = []
        var start = -1
        for index in 0...bytes.count {
            let separator = index == bytes.count || bytes[index] == 0x20 || bytes[index] == UInt8(ascii: ",")
                || bytes[index] == UInt8(ascii: "-")
            if separator {
                if start >= 0 { tokens.append(bytes[start..<index]) }
                start = -1
            } else if start < 0 {
                start = index
            }
        }
        guard tokens.count >= 5, tokens.count <= 6, Self.isLetters(tokens[0]) else { return nil }
        let day: Int?
        let month: Int?
        var year: Int?
        let time: ArraySlice<UInt8>
        if let asctimeMonth = Self.month(tokens[1]) {
            guard tokens.count == 5 else { return nil }
            month = asctimeMonth
            day = Self.number(tokens[2], digits: 1...2)
            time = tokens[3]
            year = Self.number(tokens[4], digits: 4...4)
        } else {
            guard tokens.count == 6, tokens[5].elementsEqual("GMT".utf8) else { return nil }
            day = Self.number(tokens[1], digits: 1...2)
            month = Self.month(tokens[2])
            year = Self.number(tokens[3], digits: 2...4)
            if let two = year, tokens[3].count == 2 { year = two < 70 ? 2000 + two : 1900 + two }
            time = tokens[4]
        }
        guard let day, let month, let year, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        let parts = time.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 3,
            let hour = Self.number(parts[0], digits: 2...2), hour < 24,
            let minute = Self.number(parts[1], digits: 2...2), minute < 60,
            let second = Self.number(parts[2], digits: 2...2), second <= 60
        else { return nil }
        return Self.daysSinceEpoch(year: year, month: month, day: day) * 86_400
            + Int64(hour * 3_600 + minute * 60 + second)
    }

    private static func isLetters(_ token: ArraySlice<UInt8>) -> Bool {
        !token.isEmpty && token.count <= 9 && token.allSatisfy { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }
    }

    private static func number(_ token: ArraySlice<UInt8>, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(token.count) else { return nil }
        var value = 0
        for byte in token {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func month(_ token: ArraySlice<UInt8>) -> Int? {
        guard token.count == 3 else { return nil }
        for (index, name) in Self.months.enumerated() where token.elementsEqual(name.utf8) { return index + 1 }
        return nil
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int64(era * 146_097 + dayOfEra - 719_468)
    }
}
