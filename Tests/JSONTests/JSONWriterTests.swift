import Foundation
import IOCore
import JSON
import Testing

/// Strings with the text `JSON.stringify` gives them.
let escapingTable: [(String, String)] = [
    ("", "\"\""),
    ("plain", "\"plain\""),
    ("\"", "\"\\\"\""),
    ("\\", "\"\\\\\""),
    ("/", "\"/\""),
    ("\u{08}", "\"\\b\""),
    ("\u{0C}", "\"\\f\""),
    ("\n", "\"\\n\""),
    ("\r", "\"\\r\""),
    ("\t", "\"\\t\""),
    ("\u{00}", "\"\\u0000\""),
    ("\u{01}", "\"\\u0001\""),
    ("\u{0B}", "\"\\u000b\""),
    ("\u{1B}", "\"\\u001b\""),
    ("\u{1F}", "\"\\u001f\""),
    (" ", "\" \""),
    ("\u{7F}", "\"\u{7F}\""),
    ("é", "\"é\""),
    ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
    ("😀", "\"😀\""),
    ("a\"b\\c\nd", "\"a\\\"b\\\\c\\nd\""),
    ("0123456789abcdef\u{00}", "\"0123456789abcdef\\u0000\""),
    ("<script>", "\"<script>\""),
]

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("strings are escaped exactly as JSON.stringify escapes them", arguments: escapingTable.indices)
    func stringsEscapeLikeJSONStringify(index: Int) throws {
        let (string, expected) = escapingTable[index]
        var buffer = ByteBuffer()
        JSONWriter.writeString(string, into: &buffer)
        #expect(buffer.readString() == expected)
        #expect(try JSONValue.string(string).jsonString == expected)
        // And the parser reads it back.
        #expect(try JSONParser.parse(expected) == .string(string))
    }

    @Test("every ASCII character and escapes at every word position match Node's JSON.stringify")
    func escapingMatchesNode() throws {
        guard let node = ["/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"].first(where: FileManager.default.isExecutableFile)
        else {
            print("skipping: node is not installed")
            return
        }
        var strings: [String] = (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        for position in 0..<20 {
            strings.append(String(repeating: "x", count: position) + "\u{07}\"é\\" + String(repeating: "y", count: 20 - position))
        }
        strings.append("\u{2028}\u{FEFF}\u{10FFFF}\u{0}end")
        // Node gets the strings as JSON (which it parses) and prints JSON.stringify of each per line.
        var input = ByteBuffer()
        for string in strings {
            JSONWriter.writeString(string, into: &input)
            input.writeByte(UInt8(ascii: "\n"))
        }
        let script = """
            const lines = require('fs').readFileSync(0, 'utf8').split('\\n').slice(0, -1);
            process.stdout.write(lines.map(l => JSON.stringify(JSON.parse(l))).join('\\n') + '\\n');
            """
        let ours = input.readString()
        let theirs = try runProcess(node, arguments: ["-e", script], input: ours)
        #expect(theirs == ours)
    }

    @Test("a parsed document is written back with key order and number text unchanged")
    func roundTripPreservesKeyOrderAndNumberText() throws {
        let document =
            "{\"zeta\":1.50,\"alpha\":[1e3,-0,0.1,1E-7,12345678901234567890],\"mid\":{\"y\":null,\"x\":true,\"w\":false}," +
            "\"s\":\"a\\nb\\u00e9\",\"\":{}}"
        let value = try JSONParser.parse(document)
        #expect(try value.jsonString == document.replacingOccurrences(of: "\\u00e9", with: "é"))
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid", "s", ""])
    }

    @Test("whitespace is dropped when writing")
    func whitespaceIsDropped() throws {
        let value = try JSONParser.parse("  { \"a\" : [ 1 , 2 ] ,\n \"b\" : \"c d\" }  ")
        #expect(try value.jsonString == "{\"a\":[1,2],\"b\":\"c d\"}")
    }

    @Test("jsonBytes holds the same text as jsonString")
    func jsonBytesMatchesJSONString() throws {
        let value: JSONValue = ["a": [1, 2.5, "x", nil, true]]
        var bytes = try value.jsonBytes
        #expect(bytes.readString() == (try value.jsonString))
        #expect(try value.jsonString == "{\"a\":[1,2.5,\"x\",null,true]}")
    }

    @Test("write appends to what the buffer already holds")
    func writeAppendsToBuffer() throws {
        var buffer = ByteBuffer(string: "42")
        try JSONWriter.write(["x"], into: &buffer)
        JSONWriter.writeNumber(JSONNumber(7), into: &buffer)
        #expect(buffer.readString() == "42[\"x\"]7")
    }

    @Test("a binary leaf without a hook is refused")
    func binaryWithoutHookIsRefused() {
        let value: JSONValue = ["event", ["data": .binary(ByteBuffer(bytes: [1, 2, 3]))]]
        var buffer = ByteBuffer()
        #expect(throws: JSONError.binaryNotAllowed) {
            try JSONWriter.write(value, into: &buffer)
        }
        #expect(throws: JSONError.binaryNotAllowed) {
            _ = try value.jsonString
        }
    }

    @Test("the binary hook writes each leaf's replacement in document order")
    func binaryHookWritesPlaceholders() throws {
        let value: JSONValue = [
            "event", .binary(ByteBuffer(bytes: [1])), ["nested": .binary(ByteBuffer(bytes: [2, 3]))],
        ]
        var buffer = ByteBuffer()
        var seen: [Int] = []
        JSONWriter.write(value, into: &buffer) { bytes, output in
            output.writeString("{\"_placeholder\":true,\"num\":\(seen.count)}")
            seen.append(bytes.readableBytes)
        }
        #expect(seen == [1, 2])
        #expect(
            buffer.readString()
                == "[\"event\",{\"_placeholder\":true,\"num\":0},{\"nested\":{\"_placeholder\":true,\"num\":1}}]"
        )
    }

    @Test("strings and documents larger than the writer's chunk are written exactly")
    func largeOutputCrossesChunkBoundaries() throws {
        // A straightforward reference escaper, byte by byte.
        func reference(_ string: String) -> String {
            var out = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case let control where control.value < 0x20:
                    out += "\\u00" + (control.value < 0x10 ? "0" : "") + String(control.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        for length in [1_000, 1_019, 1_020, 1_021, 1_022, 1_023, 1_024, 1_025, 2_047, 2_048, 5_000] {
            for escape in ["\n", "\u{01}", "é", "\""] {
                let string = String(repeating: "a", count: length / 2) + escape + String(repeating: "b", count: length - length / 2)
                var buffer = ByteBuffer(string: "prefix")
                JSONWriter.writeString(string, into: &buffer)
                #expect(buffer.readString() == "prefix" + reference(string))
                let array: JSONValue = [.string(string), .string(string), 1]
                #expect(try array.jsonString == "[" + reference(string) + "," + reference(string) + ",1]")
            }
        }
        // Many small pieces: flushes happen mid-value.
        let many = JSONValue.array((0..<2_000).map { .object(["k\($0)": .string("v\n\($0)")]) })
        let text = try many.jsonString
        #expect(try JSONParser.parse(text) == many)
        #expect(text.hasPrefix("[{\"k0\":\"v\\n0\"},{\"k1\":"))
    }

    @Test("a binary hook after a partly filled chunk sees all the text before its leaf")
    func binaryHookSeesPrecedingText() {
        let long = String(repeating: "x", count: 1_500)
        let value: JSONValue = [.string("a"), .binary(ByteBuffer(bytes: [9])), .string(long), .binary(ByteBuffer(bytes: [8]))]
        var buffer = ByteBuffer()
        var prefixes: [Int] = []
        JSONWriter.write(value, into: &buffer) { _, output in
            prefixes.append(output.readableBytes)
            output.writeString("0")
        }
        #expect(prefixes == [5, 5 + 1 + 1 + 1_502 + 1])
        #expect(buffer.readString() == "[\"a\",0,\"\(long)\",0]")
    }

    @Test("deep nesting up to the depth ceiling writes and parses back")
    func deepNestingRoundTrips() throws {
        var value: JSONValue = 1
        for level in 0..<JSONLimits.depthCeiling {
            value = level.isMultiple(of: 2) ? [value] : ["k": value]
        }
        let text = try value.jsonString
        let parsed = try JSONParser.parse(text, limits: JSONLimits(maxDepth: JSONLimits.depthCeiling))
        #expect(parsed == value)
    }
}
