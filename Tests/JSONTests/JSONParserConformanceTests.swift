import IOCore
import JSON
import Testing

/// Parses raw bytes (which may be invalid UTF-8).
func parseBytes(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(JSONError) -> JSONValue in try JSONParser.parse(raw, limits: limits) }
    }
    return try result.get()
}

/// The error parsing `bytes` throws, or nil when it parses.
func parseError(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) -> JSONError? {
    do {
        _ = try parseBytes(bytes, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// The compact text of a value that has no binary leaves.
func text(_ value: JSONValue) -> String {
    (try? value.jsonString) ?? "<binary>"
}

/// Documents every RFC 8259 parser must accept (JSONTestSuite `y_` style), with the compact text
/// each must write back as.
let acceptedDocuments: [(name: String, input: String, output: String)] = [
    ("empty array", "[]", "[]"),
    ("empty object", "{}", "{}"),
    ("nested empty", "[[],{}]", "[[],{}]"),
    ("whitespace around", " \t\r\n[1]\n\t ", "[1]"),
    ("whitespace everywhere", "{ \"a\" : [ 1 , 2 ] , \"b\" : { } }", "{\"a\":[1,2],\"b\":{}}"),
    ("top-level string", "\"a\"", "\"a\""),
    ("top-level number", "1", "1"),
    ("top-level true", "true", "true"),
    ("top-level false", "false", "false"),
    ("top-level null", "null", "null"),
    ("top-level number with whitespace", " 42 ", "42"),
    ("zero", "0", "0"),
    ("negative zero", "-0", "-0"),
    ("negative integer", "-1", "-1"),
    ("fraction kept", "1.50", "1.50"),
    ("exponent kept", "1e3", "1e3"),
    ("capital exponent kept", "1E3", "1E3"),
    ("exponent with plus", "1e+5", "1e+5"),
    ("exponent with minus", "1e-5", "1e-5"),
    ("fraction and exponent", "-0.0e-0", "-0.0e-0"),
    ("exponent leading zeros", "1e007", "1e007"),
    ("huge integer", "123456789012345678901234567890", "123456789012345678901234567890"),
    ("huge exponent", "1e999", "1e999"),
    ("tiny exponent", "1e-999", "1e-999"),
    ("array of scalars", "[1,\"a\",true,false,null,-2.5]", "[1,\"a\",true,false,null,-2.5]"),
    ("object order kept", "{\"b\":1,\"a\":2,\"c\":3}", "{\"b\":1,\"a\":2,\"c\":3}"),
    ("empty key", "{\"\":0}", "{\"\":0}"),
    ("duplicate key keeps first position and last value", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"),
    ("short escapes", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]"),
    ("escaped NUL", "[\"\\u0000\"]", "[\"\\u0000\"]"),
    ("escaped unit separator", "[\"\\u001F\"]", "[\"\\u001f\"]"),
    ("escaped ASCII letter", "[\"\\u0041\"]", "[\"A\"]"),
    ("escaped two-byte scalar", "[\"\\u00e9\"]", "[\"é\"]"),
    ("escaped three-byte scalar", "[\"\\u20AC\"]", "[\"€\"]"),
    ("escaped surrogate pair", "[\"\\uD83D\\uDE00\"]", "[\"😀\"]"),
    ("escaped highest scalar", "[\"\\uDBFF\\uDFFF\"]", "[\"\u{10FFFF}\"]"),
    ("escaped line separators", "[\"\\u2028\\u2029\"]", "[\"\u{2028}\u{2029}\"]"),
    ("raw two-byte UTF-8", "[\"é\"]", "[\"é\"]"),
    ("raw three-byte UTF-8", "[\"€\"]", "[\"€\"]"),
    ("raw four-byte UTF-8", "[\"😀\"]", "[\"😀\"]"),
    ("raw line separator", "[\"\u{2028}\"]", "[\"\u{2028}\"]"),
    ("raw DEL", "[\"\u{7F}\"]", "[\"\u{7F}\"]"),
    ("escape between plain runs", "[\"abcdefghij\\nklmnopqrstuvwxyz\"]", "[\"abcdefghij\\nklmnopqrstuvwxyz\"]"),
    ("long plain string", "[\"" + String(repeating: "x", count: 100) + "\"]", "[\"" + String(repeating: "x", count: 100) + "\"]"),
    ("nested structures", "{\"a\":[1,{\"b\":null,\"c\":[true]}]}", "{\"a\":[1,{\"b\":null,\"c\":[true]}]}"),
    ("socket.io event", "[\"echo\",{\"text\":\"hello\",\"n\":42,\"ok\":true}]", "[\"echo\",{\"text\":\"hello\",\"n\":42,\"ok\":true}]"),
]

/// Inputs every strict parser must reject (JSONTestSuite `n_` style), with the error expected.
let rejectedDocuments: [(name: String, input: [UInt8], error: JSONError)] = [
    ("empty input", [], .unexpectedEndOfInput),
    ("only whitespace", Array(" \n".utf8), .unexpectedEndOfInput),
    ("unclosed array", Array("[".utf8), .unexpectedEndOfInput),
    ("unclosed array after value", Array("[1".utf8), .unexpectedEndOfInput),
    ("unclosed array after comma", Array("[1,".utf8), .unexpectedEndOfInput),
    ("unclosed object", Array("{".utf8), .unexpectedEndOfInput),
    ("object key without value", Array("{\"a\"".utf8), .unexpectedEndOfInput),
    ("object after colon", Array("{\"a\":".utf8), .unexpectedEndOfInput),
    ("lone closing bracket", Array("]".utf8), .unexpectedCharacter),
    ("trailing comma in array", Array("[1,]".utf8), .unexpectedCharacter),
    ("leading comma in array", Array("[,1]".utf8), .unexpectedCharacter),
    ("double comma", Array("[1,,2]".utf8), .unexpectedCharacter),
    ("missing comma", Array("[1 2]".utf8), .unexpectedCharacter),
    ("trailing comma in object", Array("{\"a\":1,}".utf8), .unexpectedCharacter),
    ("comma only object", Array("{,}".utf8), .unexpectedCharacter),
    ("missing colon", Array("{\"a\" 1}".utf8), .unexpectedCharacter),
    ("missing value", Array("{\"a\":}".utf8), .unexpectedCharacter),
    ("unquoted key", Array("{a:1}".utf8), .unexpectedCharacter),
    ("number key", Array("{1:1}".utf8), .unexpectedCharacter),
    ("single-quoted key", Array("{'a':1}".utf8), .unexpectedCharacter),
    ("single-quoted string", Array("['a']".utf8), .unexpectedCharacter),
    ("array closed by brace", Array("[1}".utf8), .unexpectedCharacter),
    ("object closed by bracket", Array("{\"a\":1]".utf8), .unexpectedCharacter),
    ("leading zero", Array("[01]".utf8), .invalidNumber),
    ("negative leading zero", Array("[-01]".utf8), .invalidNumber),
    ("lone minus", Array("[-]".utf8), .invalidNumber),
    ("minus then space", Array("[- 1]".utf8), .invalidNumber),
    ("point without fraction", Array("[1.]".utf8), .invalidNumber),
    ("point without integer", Array("[.5]".utf8), .unexpectedCharacter),
    ("exponent without digits", Array("[1e]".utf8), .invalidNumber),
    ("exponent sign without digits", Array("[1e+]".utf8), .invalidNumber),
    ("point then exponent", Array("[1.e5]".utf8), .invalidNumber),
    ("plus sign", Array("[+1]".utf8), .unexpectedCharacter),
    ("hexadecimal", Array("[0x10]".utf8), .unexpectedCharacter),
    ("second point", Array("[1.5.3]".utf8), .unexpectedCharacter),
    ("fractional exponent", Array("[1e5.5]".utf8), .unexpectedCharacter),
    ("NaN", Array("[NaN]".utf8), .unexpectedCharacter),
    ("Infinity", Array("[Infinity]".utf8), .unexpectedCharacter),
    ("minus Infinity", Array("[-Infinity]".utf8), .invalidNumber),
    ("truncated true", Array("[tru]".utf8), .invalidLiteral),
    ("truncated null at end", Array("nul".utf8), .unexpectedEndOfInput),
    ("capitalised True", Array("[True]".utf8), .unexpectedCharacter),
    ("misspelt false", Array("[fals3]".utf8), .invalidLiteral),
    ("literal with tail", Array("[truex]".utf8), .unexpectedCharacter),
    ("block comment", Array("/* c */ 1".utf8), .unexpectedCharacter),
    ("line comment", Array("1 // c".utf8), .trailingCharacters),
    ("unterminated string", Array("[\"abc".utf8), .unexpectedEndOfInput),
    ("unterminated long string", Array(("[\"" + String(repeating: "a", count: 40)).utf8), .unexpectedEndOfInput),
    ("backslash at end", Array("\"\\".utf8), .unexpectedEndOfInput),
    ("raw control character", [0x5B, 0x22, 0x61, 0x01, 0x22, 0x5D], .controlCharacterInString),
    ("raw tab", Array("[\"\t\"]".utf8), .controlCharacterInString),
    ("raw newline", Array("[\"a\nb\"]".utf8), .controlCharacterInString),
    ("raw NUL", [0x22, 0x00, 0x22], .controlCharacterInString),
    ("control character after an escape", Array("[\"\\n\u{1F}\"]".utf8), .controlCharacterInString),
    ("unknown escape", Array("[\"\\x41\"]".utf8), .invalidEscape),
    ("escaped apostrophe", Array("[\"\\'\"]".utf8), .invalidEscape),
    ("escaped space", Array("[\"\\ \"]".utf8), .invalidEscape),
    ("short unicode escape", Array("[\"\\u12\"]".utf8), .invalidUnicodeEscape),
    ("non-hex unicode escape", Array("[\"\\u12G4\"]".utf8), .invalidUnicodeEscape),
    ("capital U escape", Array("[\"\\U0041\"]".utf8), .invalidEscape),
    ("truncated unicode escape", Array("\"\\u00".utf8), .unexpectedEndOfInput),
    ("bad escape after high surrogate", Array("[\"\\uD800\\u00G0\"]".utf8), .invalidUnicodeEscape),
    ("trailing garbage", Array("[1]x".utf8), .trailingCharacters),
    ("two values", Array("[1] [2]".utf8), .trailingCharacters),
    ("two numbers", Array("1 2".utf8), .trailingCharacters),
    ("extra closing brace", Array("{\"a\":1}}".utf8), .trailingCharacters),
    ("number then letter", Array("123abc".utf8), .trailingCharacters),
    ("byte order mark", [0xEF, 0xBB, 0xBF, 0x5B, 0x5D], .unexpectedCharacter),
    ("invalid byte outside a string", [0x5B, 0xFF, 0x5D], .unexpectedCharacter),
    ("overlong encoding", [0x22, 0xC0, 0x80, 0x22], .invalidUTF8),
    ("overlong three-byte encoding", [0x22, 0xE0, 0x80, 0xAF, 0x22], .invalidUTF8),
    ("encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8),
    ("above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8),
    ("lead byte F5", [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], .invalidUTF8),
    ("lone continuation byte", [0x22, 0x80, 0x22], .invalidUTF8),
    ("truncated sequence", [0x22, 0xE2, 0x82, 0x22], .invalidUTF8),
    ("truncated sequence before an escape", [0x22, 0xE2, 0x82, 0x5C, 0x6E, 0x22], .invalidUTF8),
    ("invalid byte after an escape", [0x22, 0x5C, 0x6E, 0xFF, 0x22], .invalidUTF8),
    ("invalid byte in a key", [0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D], .invalidUTF8),
]

@Suite("JSON parser conformance")
struct JSONParserConformanceTests {
    @Test("a valid document parses and is written back compactly", arguments: acceptedDocuments.indices)
    func validDocumentParsesAndRoundTrips(index: Int) throws {
        let (name, input, output) = acceptedDocuments[index]
        let value = try JSONParser.parse(input)
        #expect(text(value) == output, "\(name)")
        // Writing is a fixed point: what we write parses back to the same value.
        #expect(try JSONParser.parse(output) == value, "\(name)")
    }

    @Test("an invalid document is rejected with the expected error", arguments: rejectedDocuments.indices)
    func invalidDocumentIsRejected(index: Int) {
        let (name, input, expected) = rejectedDocuments[index]
        let error = parseError(input)
        #expect(error == expected, "\(name): got \(String(describing: error))")
        if let offset = error?.offset {
            #expect(offset >= 0 && offset <= input.count, "\(name)")
        }
    }

    @Test("every parse entry point gives the same value")
    func entryPointsAgree() throws {
        let document = "{\"a\":[1,\"é\",null]}"
        let fromString = try JSONParser.parse(document)
        let fromBuffer = try JSONParser.parse(ByteBuffer(string: document))
        let fromBytes = try parseBytes(Array(document.utf8))
        #expect(fromString == fromBuffer)
        #expect(fromString == fromBytes)
    }

    @Test("a buffer whose reader index has moved parses only its readable bytes")
    func bufferWithConsumedPrefixParsesReadableBytes() throws {
        var buffer = ByteBuffer(string: "42[\"x\"]")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try JSONParser.parse(buffer) == ["x"])
    }

    @Test("scalars parse to the expected cases")
    func scalarsParseToExpectedCases() throws {
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("\"hi\"") == .string("hi"))
        #expect(try JSONParser.parse("-12.5e3").numberValue?.text == "-12.5e3")
        #expect(try JSONParser.parse("[]") == .array([]))
        #expect(try JSONParser.parse("{}") == .object(JSONObject()))
    }

    @Test("error offsets point at the offending byte")
    func errorOffsetsPointAtOffendingByte() {
        #expect(parseError(Array("[1,]".utf8))?.offset == 3)
        #expect(parseError(Array("[1 2]".utf8))?.offset == 3)
        #expect(parseError([0x5B, 0x22, 0x61, 0x01, 0x22, 0x5D])?.offset == 3)
        #expect(parseError([0x22, 0x61, 0x62, 0xC0, 0x80, 0x22])?.offset == 3)
        #expect(parseError([0x22, 0x5C, 0x6E, 0x61, 0xFF, 0x22])?.offset == 4)
        #expect(parseError(Array("[1] x".utf8))?.offset == 4)
        #expect(parseError(Array("[\"\\q\"]".utf8))?.offset == 2)
        #expect(parseError(Array("[01]".utf8))?.offset == 1)
    }

    @Test("error descriptions never contain document text")
    func errorDescriptionsNeverContainDocumentText() {
        let secret = "customer-secret-token"
        for input in ["[\"\(secret)\" 1]", "{\"\(secret)\":}", "[\"\(secret)\\q\"]", "\(secret)"] {
            guard let error = parseError(Array(input.utf8)) else {
                Issue.record("expected an error")
                continue
            }
            #expect(!error.description.contains("secret"))
            #expect(!error.message.contains("secret"))
        }
    }

    @Test("a lone surrogate escape becomes U+FFFD")
    func loneSurrogateEscapeBecomesReplacementCharacter() throws {
        let cases: [(String, String)] = [
            ("\"\\uD800\"", "\u{FFFD}"),
            ("\"\\uDC00\"", "\u{FFFD}"),
            ("\"\\uDBFF\"", "\u{FFFD}"),
            ("\"\\uD800x\"", "\u{FFFD}x"),
            ("\"\\uD800\\u0041\"", "\u{FFFD}A"),
            ("\"\\uD800\\n\"", "\u{FFFD}\n"),
            ("\"\\uD800\\uD800\\uDC00\"", "\u{FFFD}\u{10000}"),
            ("\"\\uDC00\\uD800\"", "\u{FFFD}\u{FFFD}"),
            ("\"a\\uDE00b\"", "a\u{FFFD}b"),
        ]
        for (input, expected) in cases {
            #expect(try JSONParser.parse(input) == .string(expected), "\(input)")
        }
    }

    @Test("hex digits in escapes are case-insensitive")
    func hexDigitsAreCaseInsensitive() throws {
        #expect(try JSONParser.parse("\"\\u00E9\\u00e9\\uD83D\\ude00\"") == .string("éé😀"))
    }

    @Test("strings with escapes at every position of an eight-byte word decode correctly")
    func escapesAtEveryWordPositionDecode() throws {
        for prefix in 0..<17 {
            for suffix in 0..<9 {
                let plain = String(repeating: "a", count: prefix)
                let tail = String(repeating: "b", count: suffix)
                let input = "\"\(plain)\\n\(tail)\\u00e9\(plain)\""
                #expect(try JSONParser.parse(input) == .string("\(plain)\n\(tail)é\(plain)"))
                // The same with a quote and a control byte placed at every offset.
                let quoted = try JSONParser.parse("[\"\(plain)\",\"\(tail)\"]")
                #expect(quoted == [.string(plain), .string(tail)])
                #expect(parseError(Array("\"\(plain)\u{01}\(tail)\"".utf8)) == .controlCharacterInString)
            }
        }
    }

    @Test("every valid UTF-8 scalar boundary is accepted and every lead byte C0, C1, F5-FF rejected")
    func utf8BoundariesMatchRFC3629() throws {
        for scalar in [0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF] {
            let string = String(Unicode.Scalar(UInt32(scalar))!)
            #expect(try JSONParser.parse("\"\(string)\"") == .string(string))
        }
        for lead: UInt8 in [0xC0, 0xC1, 0xF5, 0xF8, 0xFC, 0xFE, 0xFF] {
            #expect(parseError([0x22, lead, 0x80, 0x80, 0x80, 0x22]) == .invalidUTF8)
        }
    }
}
