/// The fields of a header (or trailer) section: ordered name/value pairs with case-insensitive names.
///
/// All names and values live in one byte array, with a second array of ranges into it. A parsed
/// head therefore costs two allocations however many fields it has, and lookups compare bytes
/// without building strings. Values are returned as strings on demand; bytes that are not valid
/// UTF-8 (obs-text) come back as U+FFFD.
///
/// Names and values are stored as given. The writers make sure that no value can split a message:
/// they write CR, LF and other control bytes as spaces.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// Where one field's name and value sit in `storage`.
    struct Field: Sendable, Hashable {
        var nameStart: Int
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
    }

    /// The bytes of every name and value; may also hold bytes of removed fields (see `deadBytes`).
    var storage: [UInt8]
    /// The fields in order.
    var fields: [Field]
    /// Bytes in `storage` that belong to removed fields; compacted away once they dominate.
    var deadBytes: Int

    /// No fields.
    public init() {
        self.storage = []
        self.fields = []
        self.deadBytes = 0
    }

    /// The given fields, in order.
    public init(_ fields: [(name: String, value: String)]) {
        self.init()
        self.fields.reserveCapacity(fields.count)
        for field in fields {
            self.add(name: field.name, value: field.value)
        }
    }

    /// The given fields, in the order written; a name may repeat.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init()
        self.fields.reserveCapacity(elements.count)
        for (name, value) in elements {
            self.add(name: name, value: value)
        }
    }

    /// Fields whose bytes a parser already copied into `storage`.
    init(storage: [UInt8], fields: [Field]) {
        self.storage = storage
        self.fields = fields
        self.deadBytes = 0
    }

    /// The number of fields.
    public var count: Int { self.fields.count }

    /// Whether there are no fields.
    public var isEmpty: Bool { self.fields.isEmpty }

    /// The value of the first field named `name` (compared ignoring ASCII case), or nil.
    public subscript(name: String) -> String? {
        guard let index = self.firstIndex(ofName: name) else { return nil }
        return self.value(at: index)
    }

    /// The values of every field named `name` (ignoring ASCII case), in order.
    public func values(forName name: String) -> [String] {
        var result: [String] = []
        HTTPHeaders.withBytes(of: name) { nameBytes in
            for index in self.fields.indices where self.nameMatches(at: index, nameBytes) {
                result.append(self.value(at: index))
            }
        }
        return result
    }

    /// Whether any field is named `name` (ignoring ASCII case).
    public func contains(name: String) -> Bool {
        self.firstIndex(ofName: name) != nil
    }

    /// Appends a field, keeping any others with the same name.
    public mutating func add(name: String, value: String) {
        let nameStart = self.storage.count
        self.storage.append(contentsOf: name.utf8)
        let valueStart = self.storage.count
        self.storage.append(contentsOf: value.utf8)
        self.fields.append(
            Field(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: self.storage.count)
        )
    }

    /// Sets the value of the first field named `name` in place and removes the others with that name,
    /// or appends the field when there is none.
    public mutating func replaceOrAdd(name: String, value: String) {
        guard let index = self.firstIndex(ofName: name) else {
            self.add(name: name, value: value)
            return
        }
        let field = self.fields[index]
        self.deadBytes += field.valueEnd - field.valueStart
        let valueStart = self.storage.count
        self.storage.append(contentsOf: value.utf8)
        self.fields[index].valueStart = valueStart
        self.fields[index].valueEnd = self.storage.count
        self.removeFields(named: name, after: index)
    }

    /// Removes every field named `name` (ignoring ASCII case).
    public mutating func remove(name: String) {
        self.removeFields(named: name, after: -1)
    }

    /// Whether a field named `name` holds `token` as one of its comma-separated elements, ignoring
    /// ASCII case and optional whitespace; for example `containsToken("upgrade", forName: "connection")`
    /// is true for `Connection: keep-alive, Upgrade`.
    public func containsToken(_ token: String, forName name: String) -> Bool {
        HTTPHeaders.withBytes(of: name) { nameBytes in
            HTTPHeaders.withBytes(of: token) { tokenBytes in
                self.storage.withUnsafeBufferPointer { storage in
                    for index in self.fields.indices where self.nameMatches(at: index, nameBytes) {
                        let field = self.fields[index]
                        if HTTPHeaders.listContains(
                            storage,
                            from: field.valueStart,
                            to: field.valueEnd,
                            token: tokenBytes
                        ) {
                            return true
                        }
                    }
                    return false
                }
            }
        }
    }

    /// Iterates the fields in order as `(name, value)` pairs.
    public func makeIterator() -> Iterator {
        Iterator(headers: self, index: 0)
    }

    /// Iterates the fields of ``HTTPHeaders`` in order.
    public struct Iterator: IteratorProtocol, Sendable {
        let headers: HTTPHeaders
        var index: Int

        /// The next field, or nil after the last.
        public mutating func next() -> (name: String, value: String)? {
            guard self.index < self.headers.fields.count else { return nil }
            defer { self.index += 1 }
            return (self.headers.name(at: self.index), self.headers.value(at: self.index))
        }
    }

    /// Lists names and values, except values of credential fields, which are redacted.
    public var description: String {
        var parts: [String] = []
        parts.reserveCapacity(self.fields.count)
        for (name, value) in self {
            switch name.lowercased() {
            case "authorization", "proxy-authorization", "cookie", "set-cookie":
                parts.append("\(name): <redacted>")
            default:
                parts.append("\(name): \(value)")
            }
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    /// Equal when both hold the same names (exact bytes) and values in the same order.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        guard lhs.fields.count == rhs.fields.count else { return false }
        return lhs.storage.withUnsafeBufferPointer { left in
            rhs.storage.withUnsafeBufferPointer { right in
                for index in lhs.fields.indices {
                    let l = lhs.fields[index]
                    let r = rhs.fields[index]
                    guard
                        left[l.nameStart..<l.nameEnd].elementsEqual(right[r.nameStart..<r.nameEnd]),
                        left[l.valueStart..<l.valueEnd].elementsEqual(right[r.valueStart..<r.valueEnd])
                    else { return false }
                }
                return true
            }
        }
    }

    /// Hashes the names and values in order, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.fields.count)
        self.storage.withUnsafeBytes { storage in
            for field in self.fields {
                hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: storage[field.nameStart..<field.nameEnd]))
                hasher.combine(0x3A as UInt8)
                hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: storage[field.valueStart..<field.valueEnd]))
            }
        }
    }

    // MARK: - Internal

    /// The name of field `index`.
    func name(at index: Int) -> String {
        let field = self.fields[index]
        return self.storage.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[field.nameStart..<field.nameEnd]), as: UTF8.self)
        }
    }

    /// The value of field `index`.
    func value(at index: Int) -> String {
        let field = self.fields[index]
        return self.storage.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[field.valueStart..<field.valueEnd]), as: UTF8.self)
        }
    }

    /// The index of the first field named `name`, ignoring ASCII case.
    func firstIndex(ofName name: String) -> Int? {
        HTTPHeaders.withBytes(of: name) { nameBytes in
            self.fields.indices.first { self.nameMatches(at: $0, nameBytes) }
        }
    }

    /// Whether field `index` is named `nameBytes`, ignoring ASCII case.
    func nameMatches(at index: Int, _ nameBytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let field = self.fields[index]
        guard field.nameEnd - field.nameStart == nameBytes.count else { return false }
        guard let nameBase = nameBytes.baseAddress else { return true }
        return self.storage.withUnsafeBufferPointer { storage in
            HTTPBytes.equalsCaseInsensitive(
                storage.baseAddress! + field.nameStart,
                nameBytes.count,
                nameBase,
                nameBytes.count
            )
        }
    }

    /// Removes the fields named `name` whose index is greater than `index`, then compacts the storage
    /// when removed bytes make up most of it.
    private mutating func removeFields(named name: String, after index: Int) {
        var removed = 0
        HTTPHeaders.withBytes(of: name) { nameBytes in
            var kept: [Field] = []
            kept.reserveCapacity(self.fields.count)
            for position in self.fields.indices {
                if position > index && self.nameMatches(at: position, nameBytes) {
                    let field = self.fields[position]
                    removed += field.valueEnd - field.nameStart
                } else {
                    kept.append(self.fields[position])
                }
            }
            if kept.count != self.fields.count { self.fields = kept }
        }
        self.deadBytes += removed
        if self.deadBytes > 256 && self.deadBytes * 2 > self.storage.count {
            self.compact()
        }
    }

    /// Rewrites `storage` with only the live fields.
    private mutating func compact() {
        var storage: [UInt8] = []
        storage.reserveCapacity(self.storage.count - self.deadBytes)
        var fields: [Field] = []
        fields.reserveCapacity(self.fields.count)
        for field in self.fields {
            let nameStart = storage.count
            storage.append(contentsOf: self.storage[field.nameStart..<field.nameEnd])
            let valueStart = storage.count
            storage.append(contentsOf: self.storage[field.valueStart..<field.valueEnd])
            fields.append(
                Field(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: storage.count)
            )
        }
        self.storage = storage
        self.fields = fields
        self.deadBytes = 0
    }

    /// Calls `body` with the UTF-8 bytes of `string`, without copying a native string.
    static func withBytes<R>(of string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var string = string
        return string.withUTF8(body)
    }

    /// Whether the comma-separated list in `storage[from..<to]` has an element equal to `token`,
    /// ignoring ASCII case and the optional whitespace around elements.
    static func listContains(
        _ storage: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        token: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        guard let base = storage.baseAddress, let tokenBase = token.baseAddress else { return false }
        var elementStart = start
        while elementStart <= end {
            var elementEnd = elementStart
            while elementEnd < end && base[elementEnd] != HTTPBytes.comma { elementEnd += 1 }
            var trimmedStart = elementStart
            var trimmedEnd = elementEnd
            while trimmedStart < trimmedEnd && HTTPBytes.isWhitespace(base[trimmedStart]) { trimmedStart += 1 }
            while trimmedEnd > trimmedStart && HTTPBytes.isWhitespace(base[trimmedEnd - 1]) { trimmedEnd -= 1 }
            if HTTPBytes.equalsCaseInsensitive(base + trimmedStart, trimmedEnd - trimmedStart, tokenBase, token.count) {
                return true
            }
            elementStart = elementEnd + 1
        }
        return false
    }
}
