@testable import Coaching
import Synchronization
import Testing

@Suite("Stores, rate limits and API keys")
struct StoreAndAuthTests {
    @Test func memoryStore_deduplicates_limits_andKeepsOrder() async throws {
        let store = InMemoryConversationStore(shardCount: 2)
        let a = Segment(id: "a", speaker: .agent, text: "one")
        #expect(try await store.append(a, to: "c", limit: 2, isolation: nil) == .stored(count: 1))
        #expect(try await store.append(Segment(id: "a", speaker: .customer, text: "changed"), to: "c", limit: 2, isolation: nil) == .duplicate)
        #expect(try await store.append(Segment(id: "b", speaker: .customer, text: "two"), to: "c", limit: 2, isolation: nil) == .stored(count: 2))
        #expect(try await store.append(Segment(id: "c", speaker: .customer, text: "three"), to: "c", limit: 2, isolation: nil) == .full)
        #expect(try await store.recentSegments(of: "c", count: 1, isolation: nil).map(\.id) == ["b"])
        #expect(try await store.recentSegments(of: "c", count: 10, isolation: nil).map(\.text) == ["one", "two"])
        try await store.remove("c", isolation: nil)
        #expect(try await store.recentSegments(of: "c", count: 10, isolation: nil).isEmpty)
    }

    @Test func rateLimiter_fixedWindow_refusesWithRetryAfter_thenResets() {
        let now = Mutex(1_000)
        let limiter = InMemoryRateLimiter(nowMs: { now.withLock { $0 } })
        let rule = RateRule(limit: 2, windowMs: 1000)
        #expect(limiter.consumeNow("k", rule: rule).allowed)
        #expect(limiter.consumeNow("k", rule: rule).allowed)
        now.withLock { $0 = 1_400 }
        let refused = limiter.consumeNow("k", rule: rule)
        #expect(!refused.allowed)
        #expect(refused.retryAfterMs == 600)
        #expect(limiter.consumeNow("other", rule: rule).allowed)
        now.withLock { $0 = 2_000 }
        #expect(limiter.consumeNow("k", rule: rule).allowed)
    }

    @Test func tokenBucket_refillsAtTheRulesRate() {
        var bucket = TokenBucket(.perSecond(2), nowMs: 0)
        #expect(bucket.take(nowMs: 0).allowed)
        #expect(bucket.take(nowMs: 0).allowed)
        let refused = bucket.take(nowMs: 0)
        #expect(!refused.allowed && refused.retryAfterMs == 500)
        #expect(bucket.take(nowMs: 500).allowed)
    }

    @Test func apiKeys_identifyByPosition_andRefuseOthers() throws {
        let keys = try APIKeyAuthenticator(keys: APIKeyAuthenticator.keys(fromEnvironment: "alpha, beta"), production: false)
        #expect(keys.identify("alpha")?.id == "key-1")
        #expect(keys.identify("beta")?.id == "key-2")
        #expect(keys.identify("alph") == nil)
        #expect(keys.identify("alphaa") == nil)
        #expect(keys.identify("") == nil)
        #expect(try !APIKeyAuthenticator(keys: [], production: false).isEnabled)
    }

    @Test func production_refusesShortOrMissingKeys_withAClearMessage() {
        #expect(throws: APIKeyAuthenticator.ConfigurationError.self) { try APIKeyAuthenticator(keys: [], production: true) }
        do {
            _ = try APIKeyAuthenticator(keys: [String(repeating: "k", count: 32), "short"], production: true)
            Issue.record("a short key was accepted")
        } catch {
            #expect(error.description.contains("key 2 of 2 is 5 characters"))
        }
        #expect((try? APIKeyAuthenticator(keys: [String(repeating: "k", count: 32)], production: true)) != nil)
    }

    @Test func constantTimeEquals_comparesContentAndLength() {
        #expect(APIKeyAuthenticator.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals(Array("abd".utf8), Array("abc".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals(Array("ab".utf8), Array("abc".utf8)))
        #expect(!APIKeyAuthenticator.constantTimeEquals(Array("abc\u{0}".utf8), Array("abc".utf8)))
        // Lengths that differ by a multiple of 256 must not look equal.
        #expect(!APIKeyAuthenticator.constantTimeEquals([UInt8](repeating: 0, count: 256), []))
    }

    @Test func talkRatio_usesTimesWhenAllSegmentsHaveThem_elseWords() {
        var timed = TranscriptStats()
        timed.add(Segment(id: "1", speaker: .agent, text: "a b c", startMs: 0, endMs: 3000))
        timed.add(Segment(id: "2", speaker: .customer, text: "d", startMs: 3000, endMs: 4000))
        #expect(timed.talkRatio == TalkRatio(agent: 0.75, customer: 0.25))
        timed.add(Segment(id: "3", speaker: .customer, text: "e f g h i j"))
        #expect(timed.talkRatio == TalkRatio(agent: 0.3, customer: 0.7))
        #expect(TranscriptStats().talkRatio == TalkRatio(agent: 0, customer: 0))
    }
}
