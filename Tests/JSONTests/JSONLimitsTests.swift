import JSON
import Testing

/// `depth` arrays nested around `inner`.
func nestedArrays(_ depth: Int, inner: String = "") -> String {
    String(repeating: "[", count: depth) + inner + String(repeating: "]", count: depth)
}

/// `depth` objects nested as `{"a":{"a":...}}` around `inner`.
func nestedObjects(_ depth: Int, inner: String = "0") -> String {
    String(repeating: "{\"a\":", count: depth) + inner + String(repeating: "}", count: depth)
}

@Suite("JSON parser limits")
struct JSONLimitsTests {
    @Test("nesting exactly at the default depth limit parses; one more level fails")
    func defaultDepthLimit() throws {
        #expect(JSONLimits().maxDepth == 64)
        _ = try JSONParser.parse(nestedArrays(64))
        _ = try JSONParser.parse(nestedObjects(64))
        _ = try JSONParser.parse(nestedArrays(32, inner: nestedObjects(32)))
        #expect(throws: JSONError.depthLimitExceeded) { try JSONParser.parse(nestedArrays(65)) }
        #expect(throws: JSONError.depthLimitExceeded) { try JSONParser.parse(nestedObjects(65)) }
        #expect(throws: JSONError.depthLimitExceeded) { try JSONParser.parse(nestedArrays(32, inner: nestedObjects(33))) }
    }

    @Test("a custom depth limit is exact, and depth 0 allows only scalars")
    func customDepthLimit() throws {
        let three = JSONLimits(maxDepth: 3)
        _ = try JSONParser.parse("[[[1]],[[2]]]", limits: three)
        #expect(throws: JSONError.depthLimitExceeded) { try JSONParser.parse("[[[[1]]]]", limits: three) }
        let zero = JSONLimits(maxDepth: 0)
        #expect(try JSONParser.parse("\"s\"", limits: zero) == "s")
        #expect(throws: JSONError.depthLimitExceeded) { try JSONParser.parse("[]", limits: zero) }
    }

    @Test("the depth limit is clamped to the ceiling")
    func depthLimitIsClamped() throws {
        var limits = JSONLimits(maxDepth: 1_000_000)
        #expect(limits.maxDepth == JSONLimits.depthCeiling)
        limits.maxDepth = -5
        #expect(limits.maxDepth == 0)
        limits.maxDepth = Int.max
        #expect(limits.maxDepth == JSONLimits.depthCeiling)
        // A deeply nested hostile document fails cleanly instead of exhausting the stack.
        #expect(throws: JSONError.depthLimitExceeded) {
            try JSONParser.parse(nestedArrays(100_000), limits: JSONLimits(maxDepth: .max))
        }
    }

    @Test("a string exactly at the length limit parses; one byte more fails, with or without escapes")
    func stringLengthLimit() throws {
        let limits = JSONLimits(maxStringLength: 10)
        _ = try JSONParser.parse("\"0123456789\"", limits: limits)
        _ = try JSONParser.parse("\"01234567\\n\"", limits: limits)
        _ = try JSONParser.parse("{\"0123456789\":1}", limits: limits)
        #expect(throws: JSONError.stringTooLong) { try JSONParser.parse("\"01234567890\"", limits: limits) }
        #expect(throws: JSONError.stringTooLong) { try JSONParser.parse("\"012345678\\n\"", limits: limits) }
        #expect(throws: JSONError.stringTooLong) { try JSONParser.parse("{\"01234567890\":1}", limits: limits) }
        // The limit counts source bytes: six bytes of escape for one character.
        #expect(throws: JSONError.stringTooLong) { try JSONParser.parse("\"\\u0041\\u0041\"", limits: limits) }
    }

    @Test("a container exactly at the element limit parses; one more element fails")
    func elementLimit() throws {
        let limits = JSONLimits(maxElementsPerContainer: 3)
        _ = try JSONParser.parse("[1,2,3]", limits: limits)
        _ = try JSONParser.parse("{\"a\":1,\"b\":2,\"c\":3}", limits: limits)
        _ = try JSONParser.parse("[[1,2,3],[1,2,3],{\"a\":1,\"b\":2,\"c\":3}]", limits: limits)
        #expect(throws: JSONError.tooManyElements) { try JSONParser.parse("[1,2,3,4]", limits: limits) }
        #expect(throws: JSONError.tooManyElements) { try JSONParser.parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", limits: limits) }
        // Repeated keys do not add members.
        _ = try JSONParser.parse("{\"a\":1,\"b\":2,\"c\":3,\"a\":4,\"b\":5}", limits: limits)
    }

    @Test("a number exactly at the length limit parses; one byte more fails")
    func numberLengthLimit() throws {
        let limits = JSONLimits(maxNumberLength: 5)
        _ = try JSONParser.parse("[-1e10]", limits: limits)
        _ = try JSONParser.parse("12345", limits: limits)
        #expect(throws: JSONError.numberTooLong) { try JSONParser.parse("123456", limits: limits) }
        #expect(throws: JSONError.numberTooLong) { try JSONParser.parse("[-1.5e3]", limits: limits) }
    }
}
