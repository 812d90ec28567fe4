import HTTPCore
@testable import OpenAI
import Testing

@Suite("Usage, cost and rate limits")
struct UsageAndRateLimitTests {
    @Test func defaultPrices_areGPT4oMini() {
        let prices = TokenPrices.gpt4oMini
        #expect(prices.cost(of: Usage(promptTokens: 1_000_000, completionTokens: 0)).dollars == 0.15)
        #expect(prices.cost(of: Usage(promptTokens: 1_000_000, cachedPromptTokens: 1_000_000, completionTokens: 0)).dollars == 0.075)
        #expect(prices.cost(of: Usage(promptTokens: 0, completionTokens: 1_000_000)).dollars == 0.60)
    }

    @Test func cachedTokens_areBilledAtTheCachedPrice_andTheRestAtTheFullPrice() {
        // 1000 prompt tokens of which 400 cached, 250 completion tokens:
        // 600 × 150 000 + 400 × 75 000 + 250 × 600 000 picodollars.
        let cost = TokenPrices.gpt4oMini.cost(of: Usage(promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 250))
        #expect(cost.picodollars == 90_000_000 + 30_000_000 + 150_000_000)
        #expect(cost.description == "$0.000270")
    }

    @Test func costs_sumExactly_overManyRequests() {
        let one = TokenPrices.gpt4oMini.cost(of: Usage(promptTokens: 7, cachedPromptTokens: 3, completionTokens: 11))
        var total = Cost.zero
        for _ in 0..<1_000_000 { total = total + one }
        #expect(total.picodollars == one.picodollars * 1_000_000)
    }

    @Test func configurablePrices_areUsed_andNonsensePricesCountAsFree() {
        let prices = TokenPrices(inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10)
        #expect(prices.cost(of: Usage(promptTokens: 2_000_000, completionTokens: 100_000)) == Cost(picodollars: 6_000_000_000_000))
        let nonsense = TokenPrices(inputPerMillion: -1, cachedInputPerMillion: .nan, outputPerMillion: .infinity)
        #expect(nonsense.cost(of: Usage(promptTokens: 10, cachedPromptTokens: 5, completionTokens: 10)) == .zero)
    }

    @Test func usage_clampsCachedTokensToThePrompt() {
        let usage = Usage(promptTokens: 10, cachedPromptTokens: 50, completionTokens: 3)
        #expect(usage.cachedPromptTokens == 10)
        #expect(usage.uncachedPromptTokens == 0)
        #expect(usage.totalTokens == 13)
        #expect((usage + usage).promptTokens == 20)
    }

    @Test func hostileTokenCounts_andPrices_cannotOverflow() {
        let usage = Usage(promptTokens: .max, cachedPromptTokens: .max / 2, completionTokens: .max)
        #expect(usage.promptTokens == Usage.maximumCount)
        #expect(usage.totalTokens == 2 * Usage.maximumCount)
        let prices = TokenPrices(inputPerMillion: 1e300, cachedInputPerMillion: 1e300, outputPerMillion: 1e300)
        let cost = prices.cost(of: usage)
        #expect(cost.picodollars == Int64(2 * Usage.maximumCount) * 1_000_000_000)
        #expect(cost.description.hasPrefix("$"))
        #expect(Cost(picodollars: .max).description == "$9223372.036855")
        #expect(Cost(picodollars: .min).description == "-$9223372.036855")
    }

    @Test func costDescription_roundsToMicrodollars() {
        #expect(Cost(picodollars: 0).description == "$0.000000")
        #expect(Cost(picodollars: 1_500_000).description == "$0.000002")
        #expect(Cost(picodollars: 12_345_678_000_000).description == "$12.345678")
    }

    @Test func rateLimitHeaders_areParsed() {
        let headers: HTTPHeaders = [
            "x-ratelimit-limit-requests": "10000", "x-ratelimit-limit-tokens": "2000000",
            "x-ratelimit-remaining-requests": "9999", "x-ratelimit-remaining-tokens": "1999500",
            "x-ratelimit-reset-requests": "6ms", "x-ratelimit-reset-tokens": "6m0s",
        ]
        let limits = RateLimits(headers: headers)
        #expect(limits.limitRequests == 10000)
        #expect(limits.limitTokens == 2_000_000)
        #expect(limits.remainingRequests == 9999)
        #expect(limits.remainingTokens == 1_999_500)
        #expect(limits.resetRequests == .milliseconds(6))
        #expect(limits.resetTokens == .seconds(360))
        #expect(RateLimits(headers: [:]).isEmpty)
    }

    @Test(arguments: [
        ("6m0s", Duration.seconds(360)), ("1s", .seconds(1)), ("20ms", .milliseconds(20)), ("0.5s", .milliseconds(500)),
        ("1h2m3.5s", .milliseconds(3_723_500)), ("2m59.56s", .milliseconds(179_560)), ("250us", .microseconds(250)),
        ("10µs", .microseconds(10)), ("7ns", .nanoseconds(7)), ("7", .seconds(7)), ("1.5", .milliseconds(1500)),
        ("0s", .zero), ("24h", .seconds(86_400)),
    ])
    func goDurations_parse(text: String, expected: Duration) {
        #expect(RateLimits.parseDuration(text) == expected)
    }

    @Test(arguments: ["", "s", "ms", "1x", "1.2.3s", "-1s", "6m0", "1s2", "25h", "99999999999999999999h", "1 s", ".s", String(repeating: "1", count: 40)])
    func malformedDurations_areNil(text: String) {
        #expect(RateLimits.parseDuration(text) == nil)
    }

    @Test func malformedCounts_areNil() {
        let limits = RateLimits(headers: [
            "x-ratelimit-remaining-requests": "-1", "x-ratelimit-remaining-tokens": "1e3", "x-ratelimit-limit-tokens": "",
            "x-ratelimit-limit-requests": "9999999999999999999999",
        ])
        #expect(limits.isEmpty)
    }
}
