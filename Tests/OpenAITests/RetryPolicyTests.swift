import HTTPCore
@testable import OpenAI
import Testing
import TestKit

@Suite("RetryPolicy")
struct RetryPolicyTests {
    let policy = RetryPolicy(
        maximumAttempts: 4, initialBackoff: .milliseconds(500), maximumBackoff: .seconds(4), multiplier: 2,
        maximumTotalTime: .seconds(30), maximumRetryAfter: .seconds(60)
    )
    let now: Int64 = 1_700_000_000

    private func decide(
        _ error: OpenAIError, attempt: Int = 1, headers: HTTPHeaders? = nil, elapsed: Duration = .zero,
        random: UInt64 = .max / 2
    ) -> RetryPolicy.Decision {
        var generator = ConstantGenerator(value: random)
        return self.policy.decide(attempt: attempt, error: error, headers: headers, elapsed: elapsed, now: self.now, using: &generator)
    }

    @Test(arguments: [400, 401, 403, 404, 422])
    func clientErrors_areNeverRetried(status: Int) {
        #expect(self.decide(.http(status)) == .giveUp)
    }

    @Test(arguments: [408, 409, 429, 500, 502, 503, 504])
    func rateLimitsAndServerErrors_areRetried(status: Int) {
        guard case .retry = self.decide(.http(status)) else {
            Issue.record("status \(status) was not retried")
            return
        }
    }

    @Test func connectionErrorsAndConnectOrFirstByteTimeouts_areRetried() {
        for error in [OpenAIError.connection("reset"), .timedOut(.connect), .timedOut(.firstByte)] {
            guard case .retry = self.decide(error) else {
                Issue.record("\(error) was not retried")
                continue
            }
        }
    }

    @Test func wholeRequestTimeoutTLSFailureRefusalSchemaAndCancellation_areNotRetried() {
        let errors: [OpenAIError] = [
            .timedOut(.request), .tlsFailure("bad certificate"), .refusal("no"), .schemaMismatch("x"), .cancelled,
            .malformedResponse("x"), .circuitOpen,
        ]
        for error in errors { #expect(self.decide(error) == .giveUp, "\(error)") }
    }

    @Test func attemptCap_stopsRetries() {
        guard case .retry = self.decide(.http(503), attempt: 3) else {
            Issue.record("attempt 3 of 4 was not retried")
            return
        }
        #expect(self.decide(.http(503), attempt: 4) == .giveUp)
        var generator = SeededGenerator(state: 1)
        let decision = RetryPolicy.none.decide(attempt: 1, error: .http(503), headers: nil, elapsed: .zero, now: 0, using: &generator)
        #expect(decision == .giveUp)
    }

    @Test func backoffCap_growsExponentially_upToTheMaximum() {
        let caps = (1...6).map { self.policy.backoffCap(attempt: $0) }
        #expect(caps == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)])
    }

    @Test func fullJitter_spansZeroToTheCap() {
        #expect(self.decide(.http(500), attempt: 2, random: 0) == .retry(after: .zero))
        #expect(self.decide(.http(500), attempt: 2, random: .max) == .retry(after: .seconds(1)))
        var generator = SeededGenerator(state: 42)
        var samples: [Duration] = []
        for _ in 0..<2000 { samples.append(self.policy.backoff(attempt: 3, using: &generator)) }
        #expect(samples.allSatisfy { $0 >= .zero && $0 <= .seconds(2) })
        // Uniform: both halves of the range are used about equally.
        let low = samples.filter { $0 < .seconds(1) }.count
        #expect((800...1200).contains(low))
    }

    @Test func retryAfterSeconds_isHonoured_insteadOfBackoff() {
        #expect(self.decide(.http(429), headers: ["Retry-After": "7"]) == .retry(after: .seconds(7)))
        #expect(self.decide(.http(429), headers: ["retry-after": "1.5"]) == .retry(after: .milliseconds(1500)))
    }

    @Test func retryAfterMilliseconds_takesPrecedence() {
        #expect(self.decide(.http(429), headers: ["retry-after-ms": "250", "retry-after": "7"]) == .retry(after: .milliseconds(250)))
    }

    @Test func retryAfterHTTPDate_isAWaitUntilThatTime_inAllThreeFormats() {
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(self.decide(.http(503), headers: ["Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"]) == .retry(after: .seconds(10)))
        #expect(self.decide(.http(503), headers: ["Retry-After": "Tuesday, 14-Nov-23 22:13:25 GMT"]) == .retry(after: .seconds(5)))
        #expect(self.decide(.http(503), headers: ["Retry-After": "Tue Nov 14 22:13:21 2023"]) == .retry(after: .seconds(1)))
        // A date in the past means now.
        #expect(self.decide(.http(503), headers: ["Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"]) == .retry(after: .zero))
    }

    @Test func malformedRetryAfter_fallsBackToBackoff() {
        for value in ["soon", "-1", "1e3", "Tue, 14 Nov 2023 25:00:00 GMT", "", "12345678901234"] {
            #expect(self.decide(.http(503), headers: ["Retry-After": value], random: 0) == .retry(after: .zero), "\(value)")
        }
    }

    @Test func retryAfterLongerThanTheMaximum_givesUp() {
        #expect(self.decide(.http(429), headers: ["Retry-After": "61"]) == .giveUp)
        // Twelve digits of seconds or milliseconds once overflowed the conversion to nanoseconds (fuzzing).
        #expect(self.decide(.http(429), headers: ["Retry-After": "880888808808"]) == .giveUp)
        #expect(self.decide(.http(429), headers: ["retry-after-ms": "999999999999"]) == .giveUp)
        #expect(RetryPolicy.retryAfter(headers: ["Retry-After": "999999999999"], now: 0) == .seconds(1_000_000_000))
    }

    @Test func retryThatWouldPassTheTotalTimeCap_givesUp() {
        #expect(self.decide(.http(429), headers: ["Retry-After": "5"], elapsed: .seconds(26)) == .giveUp)
        #expect(self.decide(.http(429), headers: ["Retry-After": "5"], elapsed: .seconds(25)) == .retry(after: .seconds(5)))
    }

    @Test func httpDates_parseToUnixTime() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Tue, 29 Feb 2028 12:00:00 GMT") == 1_835_438_400)
        for bad in ["Sun, 06 Nov 1994 08:49:37 PST", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "06 Nov 1994 08:49:37 GMT", "x"] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }
}
