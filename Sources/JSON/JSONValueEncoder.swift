public import IOCore

/// Encodes `Encodable` types into ``JSONValue``s (or straight into JSON bytes), without Foundation.
///
/// Objects keep the order in which members were encoded (for synthesized conformances, the order of
/// the `CodingKeys`), so requests built from structs read like their declarations. Like Foundation's
/// `JSONEncoder`: optionals that are nil are left out of keyed containers (unless
/// ``encodeNilAsNull`` is set); non-finite `Double`/`Float` are an `EncodingError.invalidValue`;
/// `Float` keeps its own shortest digits (`0.1`, not `0.10000000149011612`).
///
/// ``JSONValue``, ``JSONObject`` and ``JSONNumber`` values encode as themselves.
public struct JSONValueEncoder: Sendable {
    /// Whether a nil optional in a keyed container is written as `null` instead of being left out.
    public var encodeNilAsNull: Bool
    /// Handed to the types being encoded as `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// An encoder that leaves out nil optionals.
    public init(encodeNilAsNull: Bool = false, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.encodeNilAsNull = encodeNilAsNull
        self.userInfo = userInfo
    }

    /// Encodes `value` into a ``JSONValue``.
    /// - Throws: `EncodingError.invalidValue` for a non-finite number, or when `value` encodes nothing.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let json = JSONValueEncoding.asJSONValue(value) {
            return json
        }
        var userInfo: [CodingUserInfoKey: Any] = [:]
        for (key, value) in self.userInfo { userInfo[key] = value }
        let options = EncodingOptions(encodeNilAsNull: self.encodeNilAsNull, userInfo: userInfo)
        let root = EncodingNode()
        try value.encode(to: JSONValueEncoding(node: root, codingPath: [], options: options))
        if case .empty = root.content {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values.")
            )
        }
        return root.finish()
    }

    /// Encodes `value` and appends it as JSON text to `buffer`.
    /// - Throws: `EncodingError` as ``encode(_:)``; `EncodingError.invalidValue` when the result
    ///   contains a ``JSONValue/binary(_:)`` leaf, which is not JSON.
    public func encode<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        let json = try self.encode(value)
        do {
            try JSONWriter.write(json, into: &buffer)
        } catch {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: [], debugDescription: "Binary data cannot be written as JSON.", underlyingError: error)
            )
        }
    }
}

/// What every encoder of one encode shares.
struct EncodingOptions {
    let encodeNilAsNull: Bool
    let userInfo: [CodingUserInfoKey: Any]
}

/// One slot of the tree being built: a finished value, or a node that containers may still write to.
enum EncodingSlot {
    case value(JSONValue)
    case node(EncodingNode)
}

/// A value under construction. Containers handed out by `Encoder` and `nestedContainer` must keep
/// writing into the same place after they are returned, so the tree is built from reference nodes;
/// ``finish()`` turns it into a ``JSONValue`` once encoding is done.
final class EncodingNode {
    /// What the node holds so far.
    enum Content {
        /// Nothing encoded yet; finishes as `{}` (what Foundation does for a type that encodes nothing).
        case empty
        case value(JSONValue)
        case array([EncodingSlot])
        case object(OrderedKeyedStorage<EncodingSlot>)
    }

    var content: Content = .empty

    /// Makes the node an object (keeping members already there) for a keyed container.
    func becomeObject() {
        if case .object = self.content { return }
        // Room for a few members up front saves the 1 -> 2 -> 4 regrowth of typical small structs.
        self.content = .object(OrderedKeyedStorage(minimumCapacity: 4))
    }

    /// Makes the node an array (keeping elements already there) for an unkeyed container.
    func becomeArray() {
        if case .array = self.content { return }
        self.content = .array([])
    }

    /// Sets member `key`; the node is an object.
    func set(_ slot: EncodingSlot, for key: String) {
        guard case .object(var storage) = self.content else {
            return  // a container of another kind took over this node; that container's writes win
        }
        self.content = .empty  // release the reference so `storage` is unique and not copied
        storage.set(slot, for: key)
        self.content = .object(storage)
    }

    /// Appends an element; the node is an array.
    func append(_ slot: EncodingSlot) {
        guard case .array(var elements) = self.content else {
            return
        }
        self.content = .empty
        elements.append(slot)
        self.content = .array(elements)
    }

    /// The number of elements, for an array node.
    var arrayCount: Int {
        if case .array(let elements) = self.content { return elements.count }
        return 0
    }

    /// The finished value.
    func finish() -> JSONValue {
        switch self.content {
        case .empty:
            return .object(JSONObject())
        case .value(let value):
            return value
        case .array(let slots):
            return .array(slots.map(EncodingNode.finish))
        case .object(let storage):
            var object = JSONObject(minimumCapacity: storage.entries.count)
            for entry in storage.entries {
                object.storage.entries.append((key: entry.key, value: EncodingNode.finish(entry.value)))
            }
            object.storage.rebuildIndex()
            return .object(object)
        }
    }

    static func finish(_ slot: EncodingSlot) -> JSONValue {
        switch slot {
        case .value(let value): value
        case .node(let node): node.finish()
        }
    }
}

/// The `Encoder` for one value: the node it writes into, where it is, and the shared options.
struct JSONValueEncoding: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    let options: EncodingOptions

    var userInfo: [CodingUserInfoKey: Any] { self.options.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        self.node.becomeObject()
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        self.node.becomeArray()
        return JSONUnkeyedEncodingContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueEncodingContainer(encoder: self)
    }

    /// A value of a JSON type, taken as is.
    static func asJSONValue<T: Encodable>(_ value: T) -> JSONValue? {
        if let json = value as? JSONValue { return json }
        if let object = value as? JSONObject { return .object(object) }
        if let number = value as? JSONNumber { return .number(number) }
        return nil
    }

    /// Encodes any `T` that sits at `path` into a slot.
    func box<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> EncodingSlot {
        if let json = JSONValueEncoding.asJSONValue(value) {
            return .value(json)
        }
        let child = EncodingNode()
        try value.encode(to: JSONValueEncoding(node: child, codingPath: path, options: self.options))
        if case .value(let json) = child.content {
            return .value(json)
        }
        return .node(child)
    }

    static func box(_ value: Double, path: @autoclosure () -> [any CodingKey]) throws -> EncodingSlot {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: path(), debugDescription: "Unable to encode Double.\(value) directly in JSON.")
            )
        }
        return .value(.number(JSONNumber(value)))
    }

    static func box(_ value: Float, path: @autoclosure () -> [any CodingKey]) throws -> EncodingSlot {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: path(), debugDescription: "Unable to encode Float.\(value) directly in JSON.")
            )
        }
        return .value(.number(JSONNumber(value)))
    }

    static func box<T: BinaryInteger>(_ value: T) -> EncodingSlot {
        .value(.number(JSONNumber(value)))
    }

    /// A child encoder for a nested container at `path`, after `attach` has put its node in place.
    func nested(path: [any CodingKey], attach: (EncodingNode) -> Void) -> JSONValueEncoding {
        let child = EncodingNode()
        attach(child)
        return JSONValueEncoding(node: child, codingPath: path, options: self.options)
    }
}

/// Writes the members of one object, in the order they are encoded.
struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONValueEncoding

    var codingPath: [any CodingKey] { self.encoder.codingPath }

    func path(_ key: Key) -> [any CodingKey] { self.codingPath + [key] }

    func set(_ slot: EncodingSlot, _ key: Key) { self.encoder.node.set(slot, for: key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { self.set(.value(.null), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.set(.value(.bool(value)), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { self.set(.value(.string(value)), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        self.set(try JSONValueEncoding.box(value, path: self.path(key)), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        self.set(try JSONValueEncoding.box(value, path: self.path(key)), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.set(JSONValueEncoding.box(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        self.set(try self.encoder.box(value, path: self.path(key)), key)
    }

    // The default `encodeIfPresent` skips nil; these honour `encodeNilAsNull` instead.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try self.ifPresent(value, key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try self.ifPresent(value, key) }

    /// Encodes `value`, or for nil, `null` or nothing depending on the options.
    mutating func ifPresent<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value {
            try self.encode(value, forKey: key)
        } else if self.encoder.options.encodeNilAsNull {
            self.set(.value(.null), key)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let node = self.encoder.node
        return self.encoder.nested(path: self.path(key)) { node.set(.node($0), for: key.stringValue) }
            .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let node = self.encoder.node
        return self.encoder.nested(path: self.path(key)) { node.set(.node($0), for: key.stringValue) }
            .unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let node = self.encoder.node
        return self.encoder.nested(path: self.codingPath + [JSONCodingKey.superKey]) {
            node.set(.node($0), for: JSONCodingKey.superKey.stringValue)
        }
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let node = self.encoder.node
        return self.encoder.nested(path: self.path(key)) { node.set(.node($0), for: key.stringValue) }
    }
}

/// Writes the elements of one array, in order.
struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: JSONValueEncoding

    var codingPath: [any CodingKey] { self.encoder.codingPath }
    var count: Int { self.encoder.node.arrayCount }

    /// The path of the next element.
    var elementPath: [any CodingKey] { self.codingPath + [JSONCodingKey(intValue: self.count)] }

    func append(_ slot: EncodingSlot) { self.encoder.node.append(slot) }

    mutating func encodeNil() throws { self.append(.value(.null)) }
    mutating func encode(_ value: Bool) throws { self.append(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { self.append(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { self.append(try JSONValueEncoding.box(value, path: self.elementPath)) }
    mutating func encode(_ value: Float) throws { self.append(try JSONValueEncoding.box(value, path: self.elementPath)) }
    mutating func encode(_ value: Int) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int8) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int16) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int32) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int64) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt8) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt16) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt32) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt64) throws { self.append(JSONValueEncoding.box(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        self.append(try self.encoder.box(value, path: self.elementPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let node = self.encoder.node
        return self.encoder.nested(path: self.elementPath) { node.append(.node($0)) }.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let node = self.encoder.node
        return self.encoder.nested(path: self.elementPath) { node.append(.node($0)) }.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let node = self.encoder.node
        return self.encoder.nested(path: self.elementPath) { node.append(.node($0)) }
    }
}

/// Writes the encoder's single value.
struct JSONSingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoder: JSONValueEncoding

    var codingPath: [any CodingKey] { self.encoder.codingPath }

    func set(_ slot: EncodingSlot) {
        switch slot {
        case .value(let value): self.encoder.node.content = .value(value)
        case .node(let node): self.encoder.node.content = node.content  // not produced here; kept total
        }
    }

    mutating func encodeNil() throws { self.set(.value(.null)) }
    mutating func encode(_ value: Bool) throws { self.set(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { self.set(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { self.set(try JSONValueEncoding.box(value, path: self.codingPath)) }
    mutating func encode(_ value: Float) throws { self.set(try JSONValueEncoding.box(value, path: self.codingPath)) }
    mutating func encode(_ value: Int) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int8) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int16) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int32) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: Int64) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt8) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt16) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt32) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode(_ value: UInt64) throws { self.set(JSONValueEncoding.box(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let json = JSONValueEncoding.asJSONValue(value) {
            self.set(.value(json))
        } else {
            // The value takes this encoder's node for itself, as a wrapper type expects.
            try value.encode(to: self.encoder)
        }
    }
}
