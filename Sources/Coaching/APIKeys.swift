/// The API keys clients present in the Socket.IO `auth` payload (`{apiKey}`), checked in constant time.
public struct APIKeyAuthenticator: Sendable {
    /// Why a key set cannot be used.
    public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// A recognised key: an index and a short non-secret label for logs and quotas.
    public struct Identity: Sendable, Hashable {
        /// `key-<n>` (1-based, in configuration order): safe to log, stable across nodes.
        public var id: String
    }

    /// Keys shorter than this are refused in production.
    public static let productionMinimumLength = 32

    private let keys: [[UInt8]]

    /// - Parameters:
    ///   - keys: the accepted keys; empty means no key is configured.
    ///   - production: refuse keys shorter than ``productionMinimumLength``, and an empty set.
    public init(keys: [String], production: Bool) throws(ConfigurationError) {
        let cleaned = keys.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        if production {
            guard !cleaned.isEmpty else {
                throw ConfigurationError(description: "BACKEND_API_KEY is required in production (EARPIECE_ENV=production)")
            }
            if let short = cleaned.firstIndex(where: { $0.utf8.count < Self.productionMinimumLength }) {
                throw ConfigurationError(
                    description: "BACKEND_API_KEY key \(short + 1) of \(cleaned.count) is \(cleaned[short].utf8.count) characters; production needs at least \(Self.productionMinimumLength)"
                )
            }
        }
        self.keys = cleaned.map { Array($0.utf8) }
    }

    /// Parses `BACKEND_API_KEY`: one key, or several separated by commas.
    public static func keys(fromEnvironment value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ",").map(String.init)
    }

    /// Whether any key is configured; without one every connection is accepted (development).
    public var isEnabled: Bool { !self.keys.isEmpty }

    public var keyCount: Int { self.keys.count }

    /// The identity of `presented`, or nil. Compares against every key, always over the full length of each,
    /// so the time taken tells nothing about which key or how much of it matched.
    public func identify(_ presented: String) -> Identity? {
        let candidate = Array(presented.utf8)
        var match = -1
        for (index, key) in self.keys.enumerated() {
            if Self.constantTimeEquals(candidate, key) && match < 0 { match = index }
        }
        return match >= 0 ? Identity(id: "key-\(match + 1)") : nil
    }

    /// Equal contents, in time that depends only on the lengths.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count) | UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<rhs.count {
            let left = index < lhs.count ? lhs[index] : 0
            difference |= left ^ rhs[index]
        }
        return difference == 0
    }
}
