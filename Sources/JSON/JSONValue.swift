public import IOCore

/// A JSON document, or a Socket.IO payload: JSON plus binary leaves.
///
/// Objects keep their key order and numbers their source text (see ``JSONObject`` and
/// ``JSONNumber``), so a parsed document is written back byte for byte (apart from insignificant
/// whitespace and the spelling of string escapes).
///
/// ``binary(_:)`` is **not JSON**. Socket.IO lets an event carry binary attachments anywhere in its
/// arguments; its codec replaces each one by a placeholder object (`{"_placeholder":true,"num":0}`)
/// and sends the bytes separately. ``JSONParser`` never produces it. ``JSONWriter`` refuses it with
/// ``JSONError/binaryNotAllowed`` unless it is given a `binary` hook, which writes the replacement.
///
/// The enum is not `indirect`: arrays and objects already keep their elements on the heap, so
/// boxing every case would only add an allocation per value. A value is 24 bytes.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, with its exact text.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, in key order.
    case object(JSONObject)
    /// Binary data for Socket.IO; not JSON (see the type's documentation).
    case binary(ByteBuffer)
}

extension JSONValue {
    /// Whether the value is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The string, when the value is a string.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The number as `Int`, when the value is a number that is an integer fitting `Int` exactly.
    public var intValue: Int? {
        if case .number(let number) = self { return number.intValue }
        return nil
    }

    /// The number as the nearest `Double`, when the value is a number.
    public var doubleValue: Double? {
        if case .number(let number) = self { return number.doubleValue }
        return nil
    }

    /// The number, when the value is a number.
    public var numberValue: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// The Boolean, when the value is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// The elements, when the value is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The object, when the value is an object.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The bytes, when the value is a binary leaf.
    public var binaryValue: ByteBuffer? {
        if case .binary(let buffer) = self { return buffer }
        return nil
    }

    /// The member `key` when the value is an object that has it; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` when the value is an array that long; nil otherwise (never traps).
    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    /// A number value for an integer.
    public init(_ value: Int) {
        self = .number(JSONNumber(value))
    }

    /// A number value for a double, formatted as JavaScript does; non-finite doubles give `null`,
    /// as in `JSON.stringify`.
    public init(_ value: Double) {
        self = value.isFinite ? .number(JSONNumber(value)) : .null
    }

    /// A string value.
    public init(_ value: String) {
        self = .string(value)
    }

    /// A Boolean value.
    public init(_ value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByNilLiteral {
    /// `null`.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// `true` or `false`.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// A number.
    public init(integerLiteral value: Int) {
        self = .number(JSONNumber(value))
    }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// A number, formatted as JavaScript formats the double.
    public init(floatLiteral value: Double) {
        self.init(value)
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// A string.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// An array.
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// An object with the literal's members in order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}
