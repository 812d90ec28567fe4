public import IOCore

/// Decodes `Decodable` types from ``JSONValue``s (or straight from JSON bytes), without Foundation.
///
/// It behaves like Foundation's `JSONDecoder` with default strategies: numbers decode into any
/// integer type when they are integers in range (`42`, `4.2e1`), into `Double` and `Float` when
/// finite; `Bool` only from `true`/`false`; a missing key or a `null` for a non-optional is an
/// error; dictionaries need `String` (or `Int`) keys. Errors are `DecodingError`s with the coding
/// path, so a caller can say "conversationId missing" or "messages[2].role is not a string". Their
/// descriptions name the expected and found kinds, never the document's values.
///
/// ``JSONValue``, ``JSONObject`` and ``JSONNumber`` fields decode as themselves, keeping order and
/// number text.
public struct JSONValueDecoder: Sendable {
    /// Limits for the `from bytes` overloads.
    public var limits: JSONLimits
    /// Handed to the types being decoded as `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// A decoder with default limits and no user info.
    public init(limits: JSONLimits = JSONLimits(), userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.limits = limits
        self.userInfo = userInfo
    }

    /// Decodes a `T` from `value`.
    /// - Throws: `DecodingError` (key not found, value not found, type mismatch, data corrupted).
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let options = DecodingOptions(userInfo: self.userInfo)
        return try JSONValueDecoding(value: value, codingPath: [], options: options).unbox(value, as: T.self, path: [])
    }

    /// Parses `bytes` as JSON and decodes a `T` from it.
    /// - Throws: `DecodingError.dataCorrupted` whose underlying error is the ``JSONError`` when the
    ///   bytes are not JSON; otherwise as ``decode(_:from:)-(_,JSONValue)``.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, limits: self.limits)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: [], debugDescription: "The given data was not valid JSON.", underlyingError: error)
            )
        }
        return try self.decode(type, from: value)
    }

    /// Parses the readable bytes of `buffer` as JSON and decodes a `T` from it (see
    /// ``decode(_:from:)-(_,UnsafeRawBufferPointer)``).
    public func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try buffer.withUnsafeReadableBytes { raw in try self.decode(type, from: raw) }
    }
}

/// What every decoder of one decode shares: the user info, converted once (an empty dictionary
/// costs no allocation, so the common case is free).
struct DecodingOptions {
    let userInfo: [CodingUserInfoKey: Any]

    init(userInfo: [CodingUserInfoKey: any Sendable]) {
        var converted: [CodingUserInfoKey: Any] = [:]
        for (key, value) in userInfo { converted[key] = value }
        self.userInfo = converted
    }
}

/// A coding key for array positions, `super`, and dictionary keys.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    /// The key Foundation uses for `superDecoder()`.
    static let superKey = JSONCodingKey(stringValue: "super")
}

/// The `Decoder` for one value: the value, where it is, and the shared options.
struct JSONValueDecoding: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let options: DecodingOptions

    var userInfo: [CodingUserInfoKey: Any] { self.options.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = self.value else {
            throw JSONValueDecoding.mismatch([String: JSONValue].self, found: self.value, path: self.codingPath)
        }
        return KeyedDecodingContainer(JSONKeyedDecodingContainer<Key>(object: object, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = self.value else {
            throw JSONValueDecoding.mismatch([JSONValue].self, found: self.value, path: self.codingPath)
        }
        return JSONUnkeyedDecodingContainer(elements: elements, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        JSONSingleValueDecodingContainer(decoder: self)
    }

    // MARK: Unboxing

    /// A decoder for a value below this one.
    func child(_ value: JSONValue, path: [any CodingKey]) -> JSONValueDecoding {
        JSONValueDecoding(value: value, codingPath: path, options: self.options)
    }

    /// Decodes any `T` from `value`, which sits at `path`; JSON types decode as themselves.
    func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, path: [any CodingKey]) throws -> T {
        if T.self == JSONValue.self {
            return value as! T  // T is JSONValue
        }
        return try T(from: self.child(value, path: path))
    }

    func unboxBool(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let bool) = value else {
            throw JSONValueDecoding.mismatch(Bool.self, found: value, path: path())
        }
        return bool
    }

    func unboxString(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let string) = value else {
            throw JSONValueDecoding.mismatch(String.self, found: value, path: path())
        }
        return string
    }

    func unboxInteger<T: FixedWidthInteger>(_ value: JSONValue, as type: T.Type, path: @autoclosure () -> [any CodingKey])
        throws -> T
    {
        guard case .number(let number) = value else {
            throw JSONValueDecoding.mismatch(T.self, found: value, path: path())
        }
        guard let integer = number.exactInteger(as: T.self) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path(), debugDescription: "Number is not an integer that fits in \(T.self).")
            )
        }
        return integer
    }

    func unboxDouble(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard case .number(let number) = value else {
            throw JSONValueDecoding.mismatch(Double.self, found: value, path: path())
        }
        let double = number.doubleValue
        guard double.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path(), debugDescription: "Number does not fit in Double.")
            )
        }
        return double
    }

    func unboxFloat(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> Float {
        guard case .number(let number) = value else {
            throw JSONValueDecoding.mismatch(Float.self, found: value, path: path())
        }
        let float = number.floatValue
        guard float.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path(), debugDescription: "Number does not fit in Float.")
            )
        }
        return float
    }

    /// The error for finding `value` where a `expected` was wanted: `valueNotFound` for `null` (as
    /// Foundation reports it), `typeMismatch` otherwise. Names kinds only, never values.
    static func mismatch(_ expected: Any.Type, found value: JSONValue, path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(
                expected,
                DecodingError.Context(codingPath: path, debugDescription: "Expected \(expected) value but found null instead.")
            )
        }
        return DecodingError.typeMismatch(
            expected,
            DecodingError.Context(
                codingPath: path,
                debugDescription: "Expected to decode \(expected) but found \(JSONValueDecoding.kind(of: value)) instead."
            )
        )
    }

    /// The JSON kind of `value`, for error descriptions.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        case .binary: "binary data"
        }
    }
}

/// Decodes the members of one object.
struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let decoder: JSONValueDecoding

    var codingPath: [any CodingKey] { self.decoder.codingPath }

    var allKeys: [Key] { self.object.storage.entries.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool {
        self.object.contains(key: key.stringValue)
    }

    /// The member's value, or `keyNotFound`.
    func value(for key: Key) throws -> JSONValue {
        guard let value = self.object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(codingPath: self.codingPath, debugDescription: "No value associated with key \(key.stringValue).")
            )
        }
        return value
    }

    func path(_ key: Key) -> [any CodingKey] { self.codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { try self.value(for: key).isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try self.decoder.unboxBool(self.value(for: key), path: self.path(key))
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try self.decoder.unboxString(self.value(for: key), path: self.path(key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try self.decoder.unboxDouble(self.value(for: key), path: self.path(key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try self.decoder.unboxFloat(self.value(for: key), path: self.path(key))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.integer(key) }

    func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
        try self.decoder.unboxInteger(self.value(for: key), as: T.self, path: self.path(key))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try self.decoder.unbox(self.value(for: key), as: T.self, path: self.path(key))
    }

    // One lookup instead of the default contains + decodeNil + decode.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try self.present(key).map { try self.decoder.unboxBool($0, path: self.path(key)) }
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try self.present(key).map { try self.decoder.unboxString($0, path: self.path(key)) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try self.present(key).map { try self.decoder.unboxDouble($0, path: self.path(key)) }
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try self.present(key).map { try self.decoder.unboxFloat($0, path: self.path(key)) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try self.integerIfPresent(key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try self.integerIfPresent(key) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try self.present(key).map { try self.decoder.unbox($0, as: T.self, path: self.path(key)) }
    }

    /// The member's value unless it is absent or null.
    func present(_ key: Key) -> JSONValue? {
        guard let value = self.object[key.stringValue], !value.isNull else { return nil }
        return value
    }

    func integerIfPresent<T: FixedWidthInteger>(_ key: Key) throws -> T? {
        try self.present(key).map { try self.decoder.unboxInteger($0, as: T.self, path: self.path(key)) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try self.decoder.child(self.value(for: key), path: self.path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try self.decoder.child(self.value(for: key), path: self.path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        self.decoder.child(self.object["super"] ?? .null, path: self.codingPath + [JSONCodingKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        self.decoder.child(self.object[key.stringValue] ?? .null, path: self.path(key))
    }
}

/// Decodes the elements of one array, front to back.
struct JSONUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let decoder: JSONValueDecoding
    /// The next element to decode.
    var currentIndex: Int = 0

    init(elements: [JSONValue], decoder: JSONValueDecoding) {
        self.elements = elements
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { self.decoder.codingPath }
    var count: Int? { self.elements.count }
    var isAtEnd: Bool { self.currentIndex >= self.elements.count }

    /// The path of the current element.
    var elementPath: [any CodingKey] { self.codingPath + [JSONCodingKey(intValue: self.currentIndex)] }

    /// The current element, or `valueNotFound` at the end.
    func current(_ type: Any.Type) throws -> JSONValue {
        guard !self.isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(codingPath: self.elementPath, debugDescription: "Unkeyed container is at end.")
            )
        }
        return self.elements[self.currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard try self.current(Never.self).isNull else { return false }
        self.currentIndex += 1
        return true
    }

    /// Decodes the current element with `unbox` and moves on only if that succeeded.
    mutating func next<T>(_ type: T.Type, _ unbox: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        let value = try unbox(self.current(type), self.elementPath)
        self.currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        try self.next(type) { [decoder] in try decoder.unboxBool($0, path: $1) }
    }
    mutating func decode(_ type: String.Type) throws -> String {
        try self.next(type) { [decoder] in try decoder.unboxString($0, path: $1) }
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        try self.next(type) { [decoder] in try decoder.unboxDouble($0, path: $1) }
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        try self.next(type) { [decoder] in try decoder.unboxFloat($0, path: $1) }
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try self.integer() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try self.integer() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try self.integer() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try self.integer() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try self.integer() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try self.integer() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try self.integer() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try self.integer() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try self.integer() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try self.integer() }

    mutating func integer<T: FixedWidthInteger>() throws -> T {
        try self.next(T.self) { [decoder] in try decoder.unboxInteger($0, as: T.self, path: $1) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try self.next(type) { [decoder] in try decoder.unbox($0, as: T.self, path: $1) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try self.next(KeyedDecodingContainer<NestedKey>.self) { [decoder] in
            try decoder.child($0, path: $1).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try self.next((any UnkeyedDecodingContainer).self) { [decoder] in
            try decoder.child($0, path: $1).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        try self.next((any Decoder).self) { [decoder] in decoder.child($0, path: $1) }
    }
}

/// Decodes the decoder's value itself.
struct JSONSingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoder: JSONValueDecoding

    var codingPath: [any CodingKey] { self.decoder.codingPath }
    var value: JSONValue { self.decoder.value }

    func decodeNil() -> Bool { self.value.isNull }

    func decode(_ type: Bool.Type) throws -> Bool { try self.decoder.unboxBool(self.value, path: self.codingPath) }
    func decode(_ type: String.Type) throws -> String { try self.decoder.unboxString(self.value, path: self.codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try self.decoder.unboxDouble(self.value, path: self.codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try self.decoder.unboxFloat(self.value, path: self.codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try self.integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try self.integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try self.integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try self.integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try self.integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try self.integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try self.integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try self.integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try self.integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try self.integer() }

    func integer<T: FixedWidthInteger>() throws -> T {
        try self.decoder.unboxInteger(self.value, as: T.self, path: self.codingPath)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try self.decoder.unbox(self.value, as: T.self, path: self.codingPath)
    }
}
