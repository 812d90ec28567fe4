/// ``JSONValue`` fields let a Codable type carry arbitrary JSON (an event's free-form payload).
///
/// With ``JSONValueDecoder`` and ``JSONValueEncoder`` the value passes through untouched (key order,
/// number text, even binary leaves). With other coders it maps onto their primitives: numbers go
/// through `Int64`, `UInt64` or `Double`, object key order is whatever the coder gives, and binary
/// leaves cannot be encoded.
extension JSONValue: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? JSONValueDecoding {
            self = decoder.value
            return
        }
        if let container = try? decoder.singleValueContainer() {
            if container.decodeNil() {
                self = .null
                return
            }
            if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
                return
            }
            if let integer = try? container.decode(Int64.self) {
                self = .number(JSONNumber(integer))
                return
            }
            if let integer = try? container.decode(UInt64.self) {
                self = .number(JSONNumber(integer))
                return
            }
            if let double = try? container.decode(Double.self) {
                self = .number(JSONNumber(double))
                return
            }
            if let string = try? container.decode(String.self) {
                self = .string(string)
                return
            }
        }
        if let keyed = try? decoder.container(keyedBy: JSONCodingKey.self) {
            var object = JSONObject()
            for key in keyed.allKeys {
                object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
            return
        }
        var unkeyed = try decoder.unkeyedContainer()
        var elements: [JSONValue] = []
        while !unkeyed.isAtEnd {
            elements.append(try unkeyed.decode(JSONValue.self))
        }
        self = .array(elements)
    }

    /// Encodes the value; a binary leaf is an `EncodingError.invalidValue` unless the encoder is a
    /// ``JSONValueEncoder``.
    public func encode(to encoder: any Encoder) throws {
        if let encoder = encoder as? JSONValueEncoding {
            encoder.node.content = .value(self)
            return
        }
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let bool):
            var container = encoder.singleValueContainer()
            try container.encode(bool)
        case .number(let number):
            try number.encode(to: encoder)
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements {
                try container.encode(element)
            }
        case .object(let object):
            try object.encode(to: encoder)
        case .binary:
            throw EncodingError.invalidValue(
                self,
                EncodingError.Context(codingPath: encoder.codingPath, debugDescription: "Binary data is not JSON.")
            )
        }
    }
}

/// An object field decodes only from a JSON object, and keeps its order with ``JSONValueDecoder``.
extension JSONObject: Codable {
    /// Decodes a JSON object.
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? JSONValueDecoding {
            guard case .object(let object) = decoder.value else {
                throw JSONValueDecoding.mismatch(JSONObject.self, found: decoder.value, path: decoder.codingPath)
            }
            self = object
            return
        }
        let keyed = try decoder.container(keyedBy: JSONCodingKey.self)
        var object = JSONObject()
        for key in keyed.allKeys {
            object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key)
        }
        self = object
    }

    /// Encodes the members in order.
    public func encode(to encoder: any Encoder) throws {
        if let encoder = encoder as? JSONValueEncoding {
            encoder.node.content = .value(.object(self))
            return
        }
        var container = encoder.container(keyedBy: JSONCodingKey.self)
        for entry in self.storage.entries {
            try container.encode(entry.value, forKey: JSONCodingKey(stringValue: entry.key))
        }
    }
}

/// A number field keeps its text with ``JSONValueDecoder``/``JSONValueEncoder``; other coders see
/// an integer when it is one, a `Double` otherwise.
extension JSONNumber: Codable {
    /// Decodes a JSON number.
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? JSONValueDecoding {
            guard case .number(let number) = decoder.value else {
                throw JSONValueDecoding.mismatch(JSONNumber.self, found: decoder.value, path: decoder.codingPath)
            }
            self = number
            return
        }
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.init(integer)
        } else if let integer = try? container.decode(UInt64.self) {
            self.init(integer)
        } else {
            self.init(try container.decode(Double.self))
        }
    }

    /// Encodes the number.
    public func encode(to encoder: any Encoder) throws {
        if let encoder = encoder as? JSONValueEncoding {
            encoder.node.content = .value(.number(self))
            return
        }
        var container = encoder.singleValueContainer()
        if let integer = self.exactInteger(as: Int64.self) {
            try container.encode(integer)
        } else if let integer = self.exactInteger(as: UInt64.self) {
            try container.encode(integer)
        } else {
            try container.encode(self.doubleValue)
        }
    }
}
