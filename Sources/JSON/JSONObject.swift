/// Key-value pairs in insertion order, with a hash index once there are many.
///
/// Most Socket.IO objects have a handful of keys; a linear scan over them beats hashing and keeps
/// the object at two words. Past ``indexThreshold`` keys a `[String: Int]` index is built and kept
/// up to date, so that an object with 100 000 keys (from a hostile peer) still parses in linear time
/// rather than quadratic. Shared by ``JSONObject`` and the Codable encoder.
struct OrderedKeyedStorage<Value> {
    /// The pairs in insertion order; each key at most once.
    var entries: [(key: String, value: Value)]
    /// Position of each key in `entries`; nil while `entries.count <= indexThreshold`.
    var index: [String: Int]?

    /// Beyond this many keys, lookups go through the hash index.
    static var indexThreshold: Int { 16 }

    init() {
        self.entries = []
        self.index = nil
    }

    init(minimumCapacity: Int) {
        self.entries = []
        self.entries.reserveCapacity(minimumCapacity)
        self.index = nil
    }

    /// The position of `key`, or nil.
    @inline(__always)
    func position(of key: String) -> Int? {
        if let index = self.index {
            return index[key]
        }
        for position in self.entries.indices where self.entries[position].key == key {
            return position
        }
        return nil
    }

    /// Sets the value of `key`: in place when present (JavaScript keeps the first position of a
    /// repeated key and the last value), appended otherwise. Returns the value replaced, if any.
    @discardableResult
    mutating func set(_ value: Value, for key: String) -> Value? {
        if let position = self.position(of: key) {
            let old = self.entries[position].value
            self.entries[position].value = value
            return old
        }
        self.entries.append((key: key, value: value))
        if self.index != nil {
            self.index![key] = self.entries.count - 1
        } else if self.entries.count > Self.indexThreshold {
            self.rebuildIndex()
        }
        return nil
    }

    /// Removes `key`, returning its value.
    mutating func remove(_ key: String) -> Value? {
        guard let position = self.position(of: key) else {
            return nil
        }
        let old = self.entries.remove(at: position).value
        if self.index != nil {
            self.rebuildIndex()
        }
        return old
    }

    /// Rebuilds (or drops, when small) the hash index after a change of positions.
    mutating func rebuildIndex() {
        guard self.entries.count > Self.indexThreshold else {
            self.index = nil
            return
        }
        var index = [String: Int](minimumCapacity: self.entries.count)
        for (position, entry) in self.entries.enumerated() {
            index[entry.key] = position
        }
        self.index = index
    }
}

extension OrderedKeyedStorage: Sendable where Value: Sendable {}

/// A JSON object that keeps its members in order.
///
/// Key order is part of the document: the Socket.IO conformance suite compares echoed payloads as
/// text. A repeated key follows `JSON.parse`: the member keeps the position of the first occurrence
/// and takes the last value. Equality and hashing are order-sensitive (`{"a":1,"b":2}` and
/// `{"b":2,"a":1}` are different documents), like the text they are written as.
///
/// Lookups scan linearly while the object is small and use a hash index beyond 16 keys.
public struct JSONObject: Sendable {
    var storage: OrderedKeyedStorage<JSONValue>

    /// An empty object.
    public init() {
        self.storage = OrderedKeyedStorage()
    }

    /// An empty object with room for `minimumCapacity` members.
    public init(minimumCapacity: Int) {
        self.storage = OrderedKeyedStorage(minimumCapacity: minimumCapacity)
    }

    /// An object with the given members in order; a repeated key keeps its first position and last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        self.storage = OrderedKeyedStorage(minimumCapacity: members.underestimatedCount)
        for (key, value) in members {
            self.storage.set(value, for: key)
        }
    }

    /// The value of `key`, or nil when absent. Setting a new key appends it; setting an existing key
    /// replaces its value in place; setting nil removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = self.storage.position(of: key) else { return nil }
            return self.storage.entries[position].value
        }
        set {
            if let newValue {
                self.storage.set(newValue, for: key)
            } else {
                _ = self.storage.remove(key)
            }
        }
    }

    /// Sets the value of `key` (see ``subscript(_:)-(String)``) and returns the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: JSONValue, forKey key: String) -> JSONValue? {
        self.storage.set(value, for: key)
    }

    /// Removes `key` and returns its value; later members move up one position.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        self.storage.remove(key)
    }

    /// Whether `key` is present.
    public func contains(key: String) -> Bool {
        self.storage.position(of: key) != nil
    }

    /// The keys in order.
    public var keys: [String] { self.storage.entries.map(\.key) }

    /// The values in key order.
    public var values: [JSONValue] { self.storage.entries.map(\.value) }

    /// Reserves room for `minimumCapacity` members.
    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        self.storage.entries.reserveCapacity(minimumCapacity)
    }
}

extension JSONObject: RandomAccessCollection {
    /// A member: its key and value.
    public typealias Element = (key: String, value: JSONValue)

    /// The position of the first member (0).
    public var startIndex: Int { 0 }

    /// The position after the last member (``count``).
    public var endIndex: Int { self.storage.entries.count }

    /// The member at `position`, in insertion order.
    public subscript(position: Int) -> (key: String, value: JSONValue) {
        self.storage.entries[position]
    }
}

extension JSONObject: Hashable {
    /// Same members in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        let left = lhs.storage.entries
        let right = rhs.storage.entries
        guard left.count == right.count else { return false }
        for position in left.indices {
            guard left[position].key == right[position].key, left[position].value == right[position].value else {
                return false
            }
        }
        return true
    }

    /// Hashes the members in order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.storage.entries.count)
        for entry in self.storage.entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// An object with the literal's members in order; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
