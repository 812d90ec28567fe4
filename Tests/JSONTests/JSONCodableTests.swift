import IOCore
import JSON
import Testing

/// A message as the copilot protocol might send it.
struct ChatMessage: Codable, Equatable {
    var role: String
    var content: String
    var name: String?
}

/// A request with every kind of field the bridge supports.
struct ChatRequest: Codable, Equatable {
    var conversationId: String
    var model: String
    var temperature: Double
    var topP: Float
    var maxTokens: Int
    var seed: UInt64
    var small: Int8
    var stream: Bool
    var messages: [ChatMessage]
    var metadata: [String: Int]
    var extra: JSONValue
    var note: String?
}

/// An enum with associated values: its synthesized conformance uses nested keyed containers.
enum Intent: Codable, Equatable {
    case say(text: String)
    case wait(seconds: Double, reason: String?)
    case stop
}

/// Encodes through nested and super containers by hand.
struct HandWritten: Codable, Equatable {
    var x: Int
    var y: [Int]

    enum Keys: String, CodingKey { case point, list, parent }
    enum PointKeys: String, CodingKey { case x }

    init(x: Int, y: [Int]) {
        self.x = x
        self.y = y
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let point = try container.nestedContainer(keyedBy: PointKeys.self, forKey: .point)
        self.x = try point.decode(Int.self, forKey: .x)
        var list = try container.nestedUnkeyedContainer(forKey: .list)
        var values: [Int] = []
        while !list.isAtEnd { values.append(try list.decode(Int.self)) }
        self.y = values
        let parent = try container.superDecoder(forKey: .parent)
        #expect(try parent.singleValueContainer().decode(String.self) == "base")
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        var point = container.nestedContainer(keyedBy: PointKeys.self, forKey: .point)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        // Written after the nested containers were created: they must still land in place.
        try point.encode(self.x, forKey: .x)
        for value in self.y { try list.encode(value) }
        var parent = container.superEncoder(forKey: .parent).singleValueContainer()
        try parent.encode("base")
    }
}

/// The coding path of a decoding error, as dotted text (`messages.Index 2.role`).
func pathText(_ error: DecodingError) -> String {
    let context: DecodingError.Context
    switch error {
    case .keyNotFound(let key, let keyContext):
        return (keyContext.codingPath + [key]).map(\.stringValue).joined(separator: ".")
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        context = c
    @unknown default:
        return "?"
    }
    return context.codingPath.map(\.stringValue).joined(separator: ".")
}

/// Decodes `T` from JSON text, returning the `DecodingError` it fails with.
func decodingError<T: Decodable>(_ type: T.Type, _ json: String) -> DecodingError? {
    do {
        _ = try JSONValueDecoder().decode(type, from: ByteBuffer(string: json))
        return nil
    } catch let error as DecodingError {
        return error
    } catch {
        Issue.record("not a DecodingError: \(error)")
        return nil
    }
}

@Suite("Codable bridge")
struct JSONCodableTests {
    let request = ChatRequest(
        conversationId: "c-1",
        model: "gpt",
        temperature: 0.7,
        topP: 0.1,
        maxTokens: 256,
        seed: UInt64.max,
        small: -128,
        stream: true,
        messages: [ChatMessage(role: "user", content: "hi\n\"there\"", name: nil), ChatMessage(role: "assistant", content: "é", name: "bot")],
        metadata: ["one": 1],
        extra: ["keep": [1.50, "order"], "as": "is"],
        note: nil
    )

    @Test("encoding writes keys in declaration order and leaves nil out")
    func encodingKeepsDeclarationOrderAndOmitsNil() throws {
        let value = try JSONValueEncoder().encode(self.request)
        #expect(
            value.objectValue?.keys == [
                "conversationId", "model", "temperature", "topP", "maxTokens", "seed", "small", "stream", "messages",
                "metadata", "extra",
            ]
        )
        #expect(
            try value.jsonString
                == "{\"conversationId\":\"c-1\",\"model\":\"gpt\",\"temperature\":0.7,\"topP\":0.1,\"maxTokens\":256,"
                + "\"seed\":18446744073709551615,\"small\":-128,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\\n\\\"there\\\"\"},{\"role\":\"assistant\",\"content\":\"é\",\"name\":\"bot\"}],"
                + "\"metadata\":{\"one\":1},\"extra\":{\"keep\":[1.5,\"order\"],\"as\":\"is\"}}"
        )
    }

    @Test("encodeNilAsNull writes nil optionals as null")
    func encodeNilAsNullWritesNull() throws {
        let value = try JSONValueEncoder(encodeNilAsNull: true).encode(ChatMessage(role: "r", content: "c", name: nil))
        #expect(try value.jsonString == "{\"role\":\"r\",\"content\":\"c\",\"name\":null}")
    }

    @Test("a value survives encode then decode, through a JSONValue and through bytes")
    func roundTripThroughValueAndBytes() throws {
        let value = try JSONValueEncoder().encode(self.request)
        #expect(try JSONValueDecoder().decode(ChatRequest.self, from: value) == self.request)
        var buffer = ByteBuffer()
        try JSONValueEncoder().encode(self.request, into: &buffer)
        #expect(try JSONValueDecoder().decode(ChatRequest.self, from: buffer) == self.request)
    }

    @Test("a JSONValue field keeps its key order and number text through decoding")
    func jsonValueFieldKeepsOrderAndText() throws {
        struct Event: Codable {
            var name: String
            var data: JSONValue
            var object: JSONObject
            var number: JSONNumber
        }
        let json = "{\"name\":\"e\",\"data\":{\"z\":1.50,\"a\":[1e3]},\"object\":{\"y\":1,\"x\":2},\"number\":-0.0}"
        let event = try JSONValueDecoder().decode(Event.self, from: ByteBuffer(string: json))
        #expect(try event.data.jsonString == "{\"z\":1.50,\"a\":[1e3]}")
        #expect(event.object.keys == ["y", "x"])
        #expect(event.number.text == "-0.0")
        #expect(try JSONValueEncoder().encode(event).jsonString == json)
    }

    @Test("enums with associated values round-trip")
    func enumsRoundTrip() throws {
        let intents: [Intent] = [.say(text: "hello"), .wait(seconds: 1.5, reason: nil), .stop]
        let value = try JSONValueEncoder().encode(intents)
        #expect(try JSONValueDecoder().decode([Intent].self, from: value) == intents)
        #expect(try value.jsonString == "[{\"say\":{\"text\":\"hello\"}},{\"wait\":{\"seconds\":1.5}},{\"stop\":{}}]")
    }

    @Test("nested, unkeyed and super containers written by hand land in place")
    func handWrittenContainersRoundTrip() throws {
        let original = HandWritten(x: 3, y: [1, 2])
        let value = try JSONValueEncoder().encode(original)
        #expect(try value.jsonString == "{\"point\":{\"x\":3},\"list\":[1,2],\"parent\":\"base\"}")
        #expect(try JSONValueDecoder().decode(HandWritten.self, from: value) == original)
    }

    @Test("top-level scalars, optionals and collections encode and decode")
    func topLevelValues() throws {
        let encoder = JSONValueEncoder()
        let decoder = JSONValueDecoder()
        #expect(try encoder.encode(42) == 42)
        #expect(try encoder.encode("s") == "s")
        #expect(try encoder.encode([1, nil, 3] as [Int?]) == [1, nil, 3])
        #expect(try encoder.encode([2: "b", 1: "a"] as [Int: String]).objectValue?.count == 2)
        #expect(try decoder.decode([Int: String].self, from: ["1": "a", "2": "b"]) == [1: "a", 2: "b"])
        #expect(try decoder.decode([Int?].self, from: [1, nil]) == [1, nil])
        #expect(try decoder.decode(Int?.self, from: nil) == nil)
        #expect(try decoder.decode(Float.self, from: 0.1) == 0.1)
        #expect(try decoder.decode(Int.self, from: .number(JSONNumber(text: "4.2e1")!)) == 42)
        #expect(try decoder.decode(JSONValue.self, from: ["a": 1]) == ["a": 1])
        #expect(try decoder.decode(UInt64.self, from: .number(JSONNumber(text: "18446744073709551615")!)) == .max)
        #expect(try decoder.decode(Int64.self, from: .number(JSONNumber(text: "-9223372036854775808")!)) == .min)
    }

    @Test("a missing key names the key and its path")
    func missingKeyNamesKey() {
        let error = decodingError(ChatMessage.self, "{\"content\":\"x\"}")
        guard case .keyNotFound(let key, _)? = error else {
            Issue.record("expected keyNotFound, got \(String(describing: error))")
            return
        }
        #expect(key.stringValue == "role")
        let nested = decodingError([String: ChatMessage].self, "{\"first\":{\"role\":\"r\"}}")
        #expect(nested.map(pathText) == "first.content")
    }

    @Test("a type mismatch reports the path to the field and does not crash")
    func typeMismatchReportsPath() {
        let json = "{\"messages\":[{\"role\":\"a\",\"content\":\"b\"},{\"role\":\"a\",\"content\":\"b\"},{\"role\":7,\"content\":\"b\"}]}"
        struct Thread: Codable { var messages: [ChatMessage] }
        let error = decodingError(Thread.self, json)
        guard case .typeMismatch(let type, let context)? = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(ObjectIdentifier(type) == ObjectIdentifier(String.self))
        #expect(context.codingPath.map(\.stringValue) == ["messages", "Index 2", "role"])
        #expect(context.codingPath[1].intValue == 2)
        #expect(context.debugDescription.contains("number"))
    }

    @Test("every kind of mismatch is an error, never a trap")
    func mismatchesAreErrors() {
        #expect(decodingError(ChatMessage.self, "[]") != nil)
        #expect(decodingError(ChatMessage.self, "\"x\"") != nil)
        #expect(decodingError([Int].self, "{}") != nil)
        #expect(decodingError(Int.self, "\"1\"") != nil)
        #expect(decodingError(Int.self, "true") != nil)
        #expect(decodingError(Bool.self, "1") != nil)
        #expect(decodingError(String.self, "1") != nil)
        #expect(decodingError(Double.self, "[1]") != nil)
        #expect(decodingError(JSONObject.self, "[1]") != nil)
        #expect(decodingError(JSONNumber.self, "\"1\"") != nil)
        #expect(decodingError([Int].self, "[1,\"2\"]").map(pathText) == "Index 1")
        #expect(decodingError(Intent.self, "{\"say\":{}}") != nil)
        #expect(decodingError(Intent.self, "{\"unknown\":{}}") != nil)
        #expect(decodingError(Intent.self, "{}") != nil)
    }

    @Test("null for a non-optional is valueNotFound")
    func nullForNonOptionalIsValueNotFound() throws {
        guard case .valueNotFound(_, let context)? = decodingError(ChatMessage.self, "{\"role\":null,\"content\":\"x\"}") else {
            Issue.record("expected valueNotFound")
            return
        }
        #expect(context.codingPath.map(\.stringValue) == ["role"])
        #expect(try JSONValueDecoder().decode(ChatMessage.self, from: ["role": "r", "content": "c", "name": nil]).name == nil)
    }

    @Test("integers out of range for their width, and fractions, are dataCorrupted")
    func integerRangeIsChecked() {
        struct Widths: Codable {
            var i8: Int8?
            var u8: UInt8?
            var u: UInt?
            var i: Int?
            var i32: Int32?
        }
        for json in ["{\"i8\":128}", "{\"i8\":-129}", "{\"u8\":256}", "{\"u\":-1}", "{\"i\":1.5}", "{\"i\":1e19}", "{\"i32\":2147483648}"] {
            guard case .dataCorrupted(let context)? = decodingError(Widths.self, json) else {
                Issue.record("expected dataCorrupted for \(json)")
                continue
            }
            #expect(context.codingPath.count == 1)
        }
        #expect((try? JSONValueDecoder().decode(Widths.self, from: ["i8": -128, "u8": 255, "i": 1e18, "i32": -2147483648]))?.i8 == -128)
    }

    @Test("doubles beyond range are dataCorrupted, not infinity")
    func doublesBeyondRangeAreRejected() {
        guard case .dataCorrupted? = decodingError(Double.self, "1e400") else {
            Issue.record("expected dataCorrupted")
            return
        }
        guard case .dataCorrupted? = decodingError(Float.self, "1e39") else {
            Issue.record("expected dataCorrupted")
            return
        }
    }

    @Test("invalid JSON bytes are dataCorrupted with the JSONError underneath")
    func invalidBytesAreDataCorrupted() {
        guard case .dataCorrupted(let context)? = decodingError(ChatMessage.self, "{\"role\":") else {
            Issue.record("expected dataCorrupted")
            return
        }
        #expect(context.underlyingError as? JSONError == .unexpectedEndOfInput)
    }

    @Test("the unkeyed container reports its end and does not advance on failure")
    func unkeyedContainerEndAndFailure() {
        struct Pair: Decodable {
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                #expect(container.count == 2)
                #expect(throws: DecodingError.self) { try container.decode(Int.self) }
                #expect(container.currentIndex == 0)
                #expect(try container.decode(String.self) == "a")
                #expect(try container.decodeNil())
                #expect(container.isAtEnd)
                #expect(throws: DecodingError.self) { try container.decode(Int.self) }
                #expect(throws: DecodingError.self) { try container.decodeNil() }
            }
        }
        #expect(throws: Never.self) { try JSONValueDecoder().decode(Pair.self, from: ["a", nil]) }
    }

    @Test("non-finite doubles are an encoding error with a path")
    func nonFiniteDoublesAreEncodingErrors() {
        struct Sample: Encodable { var values: [Double] }
        do {
            _ = try JSONValueEncoder().encode(Sample(values: [1, .nan]))
            Issue.record("expected an error")
        } catch let EncodingError.invalidValue(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["values", "Index 1"])
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Float.infinity) }
    }

    @Test("a value that encodes nothing at top level is an error; nested it is an empty object")
    func emptyEncodings() throws {
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        struct Holder: Encodable { var inner = Nothing() }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Nothing()) }
        #expect(try JSONValueEncoder().encode(Holder()).jsonString == "{\"inner\":{}}")
    }

    @Test("binary leaves pass through the value encoder but not into bytes")
    func binaryLeavesInEncoder() throws {
        struct Attachment: Encodable { var data: JSONValue }
        let value = try JSONValueEncoder().encode(Attachment(data: .binary(ByteBuffer(bytes: [1]))))
        #expect(value["data"]?.binaryValue != nil)
        var buffer = ByteBuffer()
        #expect(throws: EncodingError.self) {
            try JSONValueEncoder().encode(Attachment(data: .binary(ByteBuffer(bytes: [1]))), into: &buffer)
        }
    }

    @Test("user info reaches the types being coded")
    func userInfoReachesTypes() throws {
        let key = CodingUserInfoKey(rawValue: "flag")!
        struct Probe: Codable {
            static let key = CodingUserInfoKey(rawValue: "flag")!
            init() {}
            init(from decoder: any Decoder) throws {
                #expect(decoder.userInfo[Probe.key] as? Int == 1)
            }
            func encode(to encoder: any Encoder) throws {
                #expect(encoder.userInfo[Probe.key] as? Int == 2)
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            }
        }
        _ = try JSONValueDecoder(userInfo: [key: 1]).decode(Probe.self, from: nil)
        _ = try JSONValueEncoder(userInfo: [key: 2]).encode(Probe())
    }
}
