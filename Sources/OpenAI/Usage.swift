/// Token counts of one chat completion (`usage` in the response, or the last chunk of a stream).
public struct Usage: Sendable, Hashable {
    /// All prompt tokens, cached ones included (`usage.prompt_tokens`).
    public var promptTokens: Int
    /// The prompt tokens served from the provider's prompt cache, billed at the cached price
    /// (`usage.prompt_tokens_details.cached_tokens`).
    public var cachedPromptTokens: Int
    /// Tokens the model generated (`usage.completion_tokens`).
    public var completionTokens: Int

    /// Token counts, each clamped to `0...maximumCount`; `cachedPromptTokens` to `0...promptTokens`.
    public init(promptTokens: Int, cachedPromptTokens: Int = 0, completionTokens: Int) {
        self.promptTokens = min(max(0, promptTokens), Self.maximumCount)
        self.cachedPromptTokens = min(max(0, cachedPromptTokens), self.promptTokens)
        self.completionTokens = min(max(0, completionTokens), Self.maximumCount)
    }

    /// The largest count kept (2³⁰, about 10⁹): far beyond any real request, small enough that the cost
    /// of what a hostile server reports cannot overflow (see ``TokenPrices``).
    public static let maximumCount = 1 << 30

    /// Prompt plus completion tokens.
    public var totalTokens: Int { self.promptTokens + self.completionTokens }
    /// Prompt tokens billed at the full input price.
    public var uncachedPromptTokens: Int { self.promptTokens - self.cachedPromptTokens }

    /// Sums two usages, e.g. to account for a conversation.
    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            promptTokens: lhs.promptTokens + rhs.promptTokens,
            cachedPromptTokens: lhs.cachedPromptTokens + rhs.cachedPromptTokens,
            completionTokens: lhs.completionTokens + rhs.completionTokens
        )
    }
}

/// An amount of money in US dollars, kept as whole picodollars (10⁻¹² $) so that sums over millions
/// of requests are exact: a GPT-4o-mini prompt token costs 150 000 picodollars.
public struct Cost: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The amount in picodollars.
    public var picodollars: Int64

    /// An amount in picodollars.
    public init(picodollars: Int64) {
        self.picodollars = picodollars
    }

    /// Nothing.
    public static let zero = Cost(picodollars: 0)

    /// The amount in dollars (rounded to a `Double`: for display, not for sums).
    public var dollars: Double { Double(self.picodollars) / 1e12 }

    /// Adds two amounts.
    public static func + (lhs: Cost, rhs: Cost) -> Cost { Cost(picodollars: lhs.picodollars &+ rhs.picodollars) }

    /// Orders by amount.
    public static func < (lhs: Cost, rhs: Cost) -> Bool { lhs.picodollars < rhs.picodollars }

    /// Dollars with six decimals (micro-dollar precision), e.g. `$0.000123`.
    public var description: String {
        let magnitude = self.picodollars.magnitude
        let microdollars = magnitude / 1_000_000 + (magnitude % 1_000_000 >= 500_000 ? 1 : 0)
        let fraction = String(microdollars % 1_000_000)
        let sign = self.picodollars < 0 ? "-" : ""
        return "\(sign)$\(microdollars / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

/// What tokens cost, in US dollars per million tokens, as price lists quote them (each at most $1 000).
public struct TokenPrices: Sendable, Hashable {
    /// Per million uncached prompt tokens.
    public var inputPerMillion: Double
    /// Per million cached prompt tokens.
    public var cachedInputPerMillion: Double
    /// Per million completion tokens.
    public var outputPerMillion: Double

    /// Prices in dollars per million tokens.
    public init(inputPerMillion: Double, cachedInputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.outputPerMillion = outputPerMillion
    }

    /// GPT-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens.
    public static let gpt4oMini = TokenPrices(inputPerMillion: 0.15, cachedInputPerMillion: 0.075, outputPerMillion: 0.60)

    /// Free (a local model).
    public static let free = TokenPrices(inputPerMillion: 0, cachedInputPerMillion: 0, outputPerMillion: 0)

    /// What `usage` costs at these prices.
    public func cost(of usage: Usage) -> Cost {
        let picodollars =
            Int64(usage.uncachedPromptTokens) &* Self.picodollarsPerToken(self.inputPerMillion)
            &+ Int64(usage.cachedPromptTokens) &* Self.picodollarsPerToken(self.cachedInputPerMillion)
            &+ Int64(usage.completionTokens) &* Self.picodollarsPerToken(self.outputPerMillion)
        return Cost(picodollars: picodollars)
    }

    /// $ per million tokens → picodollars per token: $1/M = 10⁻⁶ $/token = 10⁶ picodollars, rounded to
    /// the nearest picodollar (exact for any price quoted to six decimals). Negative or non-finite prices
    /// count as free rather than trapping. Prices are capped at $1 000 per million tokens (10⁹
    /// picodollars per token), so three kinds of at most ``Usage/maximumCount`` tokens cost at most
    /// about 3.2 × 10¹⁸ picodollars, inside `Int64`.
    static func picodollarsPerToken(_ dollarsPerMillion: Double) -> Int64 {
        let value = (dollarsPerMillion * 1e6).rounded()
        guard value.isFinite, value > 0 else { return 0 }
        return Int64(min(value, 1e9))
    }
}
