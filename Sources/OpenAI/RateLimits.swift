public import HTTPCore

/// The provider's rate-limit state from the `x-ratelimit-*` response headers.
///
/// Each field is nil when its header is missing or malformed (compatible servers often send none).
public struct RateLimits: Sendable, Hashable {
    /// Requests allowed per window (`x-ratelimit-limit-requests`).
    public var limitRequests: Int?
    /// Tokens allowed per window (`x-ratelimit-limit-tokens`).
    public var limitTokens: Int?
    /// Requests left in the window (`x-ratelimit-remaining-requests`).
    public var remainingRequests: Int?
    /// Tokens left in the window (`x-ratelimit-remaining-tokens`).
    public var remainingTokens: Int?
    /// Until the request budget is full again (`x-ratelimit-reset-requests`, e.g. `1s`, `6m0s`).
    public var resetRequests: Duration?
    /// Until the token budget is full again (`x-ratelimit-reset-tokens`, e.g. `20ms`).
    public var resetTokens: Duration?

    /// No information.
    public init() {}

    /// Reads the `x-ratelimit-*` headers of a response.
    public init(headers: HTTPHeaders) {
        self.limitRequests = headers["x-ratelimit-limit-requests"].flatMap(Self.parseCount)
        self.limitTokens = headers["x-ratelimit-limit-tokens"].flatMap(Self.parseCount)
        self.remainingRequests = headers["x-ratelimit-remaining-requests"].flatMap(Self.parseCount)
        self.remainingTokens = headers["x-ratelimit-remaining-tokens"].flatMap(Self.parseCount)
        self.resetRequests = headers["x-ratelimit-reset-requests"].flatMap(Self.parseDuration)
        self.resetTokens = headers["x-ratelimit-reset-tokens"].flatMap(Self.parseDuration)
    }

    /// Whether no header was present.
    public var isEmpty: Bool { self == RateLimits() }

    /// A non-negative decimal count of at most 18 digits.
    static func parseCount(_ text: String) -> Int? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 18, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(text)
    }

    /// Parses a Go-style duration as OpenAI sends it: one or more `<decimal><unit>` terms with units
    /// `h`, `m`, `s`, `ms`, `us`/`µs`, `ns` (`6m0s`, `1s`, `20ms`, `1h2m3.5s`, `0.5s`). A plain number
    /// counts as seconds, as some compatible servers send it. Nil for anything else, for more than
    /// 32 bytes, or for more than a day (no limit window is that long; it guards against overflow).
    public static func parseDuration(_ text: String) -> Duration? {
        var text = text
        return text.withUTF8 { bytes in Self.parseDuration(UnsafeRawBufferPointer(bytes)) }
    }

    static func parseDuration(_ bytes: UnsafeRawBufferPointer) -> Duration? {
        guard !bytes.isEmpty, bytes.count <= 32 else { return nil }
        let maximumNanoseconds: Int64 = 86_400 * 1_000_000_000
        var total: Int64 = 0
        var index = 0
        while index < bytes.count {
            // The number: digits with at most one decimal point, at least one digit.
            var whole: Int64 = 0
            var fraction: Int64 = 0
            var fractionScale: Int64 = 1
            var digits = 0
            var seenPoint = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    digits += 1
                    // 32 bytes bound the digit count; clamping keeps the arithmetic far from overflow.
                    if seenPoint {
                        if fractionScale < 1_000_000_000 {
                            fraction = fraction * 10 + Int64(byte - UInt8(ascii: "0"))
                            fractionScale *= 10
                        }
                    } else {
                        whole = min(whole * 10 + Int64(byte - UInt8(ascii: "0")), maximumNanoseconds)
                    }
                } else if byte == UInt8(ascii: ".") && !seenPoint {
                    seenPoint = true
                } else {
                    break
                }
                index += 1
            }
            guard digits > 0 else { return nil }
            // The unit.
            let unitStart = index
            while index < bytes.count {
                let byte = bytes[index]
                if (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") { break }
                index += 1
            }
            let unit = UnsafeRawBufferPointer(rebasing: bytes[unitStart..<index])
            let nanosecondsPerUnit: Int64
            if unit.isEmpty {
                // A bare number is seconds, but only as the whole string.
                guard unitStart == bytes.count, total == 0 else { return nil }
                nanosecondsPerUnit = 1_000_000_000
            } else if let known = Self.nanoseconds(perUnit: unit) {
                nanosecondsPerUnit = known
            } else {
                return nil
            }
            guard whole <= maximumNanoseconds / nanosecondsPerUnit else { return nil }
            // The fraction has at most 9 digits; through Double it cannot overflow (3.6e12 ns per hour × 1e9).
            let fractional = Int64((Double(fraction) / Double(fractionScale) * Double(nanosecondsPerUnit)).rounded())
            total += whole * nanosecondsPerUnit + fractional
            guard total <= maximumNanoseconds else { return nil }
        }
        return .nanoseconds(total)
    }

    private static func nanoseconds(perUnit unit: UnsafeRawBufferPointer) -> Int64? {
        switch unit.count {
        case 1:
            switch unit[0] {
            case UInt8(ascii: "h"): return 3_600_000_000_000
            case UInt8(ascii: "m"): return 60_000_000_000
            case UInt8(ascii: "s"): return 1_000_000_000
            default: return nil
            }
        case 2:
            guard unit[1] == UInt8(ascii: "s") else {
                // "µs" is three bytes in UTF-8 (C2 B5 or CE BC, then s); handled below.
                return nil
            }
            switch unit[0] {
            case UInt8(ascii: "m"): return 1_000_000
            case UInt8(ascii: "u"): return 1_000
            case UInt8(ascii: "n"): return 1
            default: return nil
            }
        case 3:
            let micro = (unit[0] == 0xC2 && unit[1] == 0xB5) || (unit[0] == 0xCE && unit[1] == 0xBC)
            return micro && unit[2] == UInt8(ascii: "s") ? 1_000 : nil
        default:
            return nil
        }
    }
}
