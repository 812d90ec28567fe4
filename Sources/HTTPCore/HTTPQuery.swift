/// A query string (`a=1&b=two+words&c=%C3%A9`) decoded into ordered name/value pairs.
///
/// Pairs are separated by `&`; empty pairs are skipped; a pair without `=` has an empty value. Names
/// and values are percent-decoded with `+` as a space (the form encoding browsers use). Names are
/// compared exactly (query names are case-sensitive).
public struct HTTPQuery: Sendable, Hashable, Sequence {
    /// One `name=value` pair, decoded.
    public struct Item: Sendable, Hashable {
        /// The decoded name.
        public var name: String
        /// The decoded value; empty when the pair had no `=`.
        public var value: String

        /// A pair.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The pairs in the order they appeared.
    public private(set) var items: [Item]

    /// Parses `query` (the text after `?`, without the `?`).
    /// - Parameters:
    ///   - query: the raw query string.
    ///   - maximumItemCount: the most pairs accepted; the query is untrusted input.
    /// - Throws: ``HTTPQueryError`` for a bad percent escape, bytes that do not decode to UTF-8, or
    ///   more than `maximumItemCount` pairs.
    public init(parsing query: String, maximumItemCount: Int = 256) throws(HTTPQueryError) {
        var items: [Item] = []
        var failure: HTTPQueryError?
        HTTPHeaders.withBytes(of: query) { bytes in
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x26 { end += 1 }  // "&"
                if end > start {
                    guard items.count < maximumItemCount else {
                        failure = .tooManyItems
                        return
                    }
                    var equals = start
                    while equals < end && bytes[equals] != HTTPBytes.equals { equals += 1 }
                    let name = UnsafeBufferPointer(rebasing: bytes[start..<equals])
                    let value = UnsafeBufferPointer(rebasing: bytes[Swift.min(equals + 1, end)..<end])
                    guard let decodedName = HTTPQuery.decode(name, failure: &failure),
                        let decodedValue = HTTPQuery.decode(value, failure: &failure)
                    else { return }
                    items.append(Item(name: decodedName, value: decodedValue))
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        self.items = items
    }

    /// The value of the first pair named `name`, or nil.
    public subscript(name: String) -> String? {
        self.items.first { $0.name == name }?.value
    }

    /// The values of every pair named `name`, in order.
    public func values(forName name: String) -> [String] {
        self.items.compactMap { $0.name == name ? $0.value : nil }
    }

    /// Iterates the pairs in order.
    public func makeIterator() -> IndexingIterator<[Item]> {
        self.items.makeIterator()
    }

    /// Decodes one name or value, recording why it failed.
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, failure: inout HTTPQueryError?) -> String? {
        if let decoded = PercentEncoding.decode(bytes, plusAsSpace: true) { return decoded }
        // Tell a bad escape from bad UTF-8 only on this failure path.
        var index = 0
        while index < bytes.count {
            if bytes[index] == HTTPBytes.percent {
                guard index + 2 < bytes.count, HTTPBytes.hexValue(bytes[index + 1]) != nil,
                    HTTPBytes.hexValue(bytes[index + 2]) != nil
                else {
                    failure = .invalidPercentEncoding
                    return nil
                }
                index += 3
            } else {
                index += 1
            }
        }
        failure = .invalidUTF8
        return nil
    }
}

/// Why a query string could not be decoded.
public struct HTTPQueryError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidPercentEncoding, invalidUTF8, tooManyItems
    }

    private let code: Code

    /// A `%` not followed by two hex digits.
    public static let invalidPercentEncoding = HTTPQueryError(code: .invalidPercentEncoding)
    /// Decoded bytes that are not valid UTF-8.
    public static let invalidUTF8 = HTTPQueryError(code: .invalidUTF8)
    /// More pairs than the limit.
    public static let tooManyItems = HTTPQueryError(code: .tooManyItems)

    /// A fixed description; never contains query data.
    public var message: String {
        switch self.code {
        case .invalidPercentEncoding: "invalid percent escape in query"
        case .invalidUTF8: "query does not decode to UTF-8"
        case .tooManyItems: "too many query parameters"
        }
    }

    /// The fixed message.
    public var description: String { "HTTPQueryError(\(self.message))" }
}
