import Foundation
import JSON
import Testing

/// Doubles with the text JavaScript's `String(x)` / `JSON.stringify(x)` gives them (checked with Node).
let javaScriptDoubles: [(Double, String)] = [
    (0.1 + 0.2, "0.30000000000000004"),
    (1e21, "1e+21"),
    (Double("123456789012345680000")!, "123456789012345680000"),
    (1e20, "100000000000000000000"),
    (1e-7, "1e-7"),
    (1e-6, "0.000001"),
    (0.000001234, "0.000001234"),
    (1.23e-18, "1.23e-18"),
    (-0.0, "0"),
    (0, "0"),
    (1, "1"),
    (-1, "-1"),
    (100, "100"),
    (1.5, "1.5"),
    (-2.5, "-2.5"),
    (4.35, "4.35"),
    (0.1, "0.1"),
    (12345678.9, "12345678.9"),
    (9007199254740992, "9007199254740992"),
    (1e16, "10000000000000000"),
    (Double("5e-324")!, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1.5e300, "1.5e+300"),
    (-1.5e-300, "-1.5e-300"),
    (2.2250738585072014e-308, "2.2250738585072014e-308"),
    (123.456, "123.456"),
    (0.001, "0.001"),
    (1e100, "1e+100"),
    (1.2345e21, "1.2345e+21"),
    (Double("999999999999999900000")!, "999999999999999900000"),
]

@Suite("JSON numbers")
struct JSONNumberTests {
    @Test("doubles are formatted as JavaScript formats them", arguments: javaScriptDoubles.indices)
    func doublesFormatLikeJavaScript(index: Int) {
        let (value, expected) = javaScriptDoubles[index]
        #expect(JSONNumber(value).text == expected)
        // And they read back as the same double.
        #expect(JSONNumber(value).doubleValue == value)
    }

    @Test("non-finite doubles become null, as in JSON.stringify")
    func nonFiniteDoublesBecomeNull() throws {
        #expect(JSONNumber(Double.nan).text == "null")
        #expect(JSONNumber(Double.infinity).text == "null")
        #expect(JSONNumber(-Double.infinity).text == "null")
        #expect(JSONValue(Double.nan) == .null)
        #expect(try JSONValue.array([.number(JSONNumber(Double.infinity))]).jsonString == "[null]")
    }

    @Test("floats keep their own shortest digits")
    func floatsKeepShortestDigits() {
        #expect(JSONNumber(Float(0.1)).text == "0.1")
        #expect(JSONNumber(Float(16777216)).text == "16777216")
        #expect(JSONNumber(Float(1e10)).text == "10000000000")
        #expect(JSONNumber(Float(3.4028235e38)).text == "3.4028235e+38")
        #expect(JSONNumber(Float(1e-7)).text == "1e-7")
        #expect(JSONNumber(Float(0.1)).floatValue == Float(0.1))
    }

    @Test("integers are written in decimal")
    func integersAreWrittenInDecimal() {
        #expect(JSONNumber(0).text == "0")
        #expect(JSONNumber(-42).text == "-42")
        #expect(JSONNumber(Int.max).text == "9223372036854775807")
        #expect(JSONNumber(Int.min).text == "-9223372036854775808")
        #expect(JSONNumber(UInt64.max).text == "18446744073709551615")
        #expect(JSONNumber(Int8(-128)).text == "-128")
        let literal: JSONNumber = 7
        #expect(literal.text == "7")
        let floatLiteral: JSONNumber = 2.50
        #expect(floatLiteral.text == "2.5")
    }

    @Test("a number built from a double equals the parsed integer text")
    func doubleOneEqualsParsedOne() throws {
        #expect(try JSONParser.parse("1") == .number(JSONNumber(1.0)))
        #expect(try JSONParser.parse("1.0") != .number(JSONNumber(1.0)))
    }

    @Test("intValue is exact and accepts any spelling of an integer")
    func intValueIsExact() {
        let cases: [(String, Int?)] = [
            ("0", 0), ("-0", 0), ("42", 42), ("-42", -42), ("42.0", 42), ("4.2e1", 42), ("4200e-2", 42),
            ("0.42e2", 42), ("1e3", 1000), ("1E+3", 1000), ("10e-1", 1), ("0.0", 0), ("0e5", 0), ("-0.000e-7", 0),
            ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
            ("9223372036854775808", nil), ("-9223372036854775809", nil),
            ("9007199254740993", 9_007_199_254_740_993),
            ("1.5", nil), ("0.1", nil), ("1e-1", nil), ("1e19", nil), ("1e18", 1_000_000_000_000_000_000),
            ("1e999999999999999999999", nil), ("1e-999999999999999999999", nil), ("0e999999999999999999999", 0),
            ("100000000000000000000000e-5", 1_000_000_000_000_000_000),
            ("30000000000000000000e-2", 300_000_000_000_000_000),
            ("0.00000000000000000000000000001e29", 1),
            ("12345678901234567890123e-10", nil),
        ]
        for (text, expected) in cases {
            #expect(JSONNumber(text: text)?.intValue == expected, "\(text)")
        }
    }

    @Test("exactInteger checks the range of each width")
    func exactIntegerChecksRange() {
        #expect(JSONNumber(text: "127")?.exactInteger(as: Int8.self) == 127)
        #expect(JSONNumber(text: "128")?.exactInteger(as: Int8.self) == nil)
        #expect(JSONNumber(text: "-128")?.exactInteger(as: Int8.self) == -128)
        #expect(JSONNumber(text: "-129")?.exactInteger(as: Int8.self) == nil)
        #expect(JSONNumber(text: "255")?.exactInteger(as: UInt8.self) == 255)
        #expect(JSONNumber(text: "-1")?.exactInteger(as: UInt8.self) == nil)
        #expect(JSONNumber(text: "-0")?.exactInteger(as: UInt8.self) == 0)
        #expect(JSONNumber(text: "18446744073709551615")?.exactInteger(as: UInt64.self) == UInt64.max)
        #expect(JSONNumber(text: "18446744073709551616")?.exactInteger(as: UInt64.self) == nil)
        #expect(JSONNumber(text: "1.8446744073709551615e19")?.exactInteger(as: UInt64.self) == UInt64.max)
    }

    @Test("doubleValue is correctly rounded and saturates")
    func doubleValueIsCorrectlyRounded() {
        #expect(JSONNumber(text: "0.1")?.doubleValue == 0.1)
        #expect(JSONNumber(text: "1e400")?.doubleValue == .infinity)
        #expect(JSONNumber(text: "-1e400")?.doubleValue == -.infinity)
        #expect(JSONNumber(text: "1e-400")?.doubleValue == 0)
        #expect(JSONNumber(text: "9007199254740993")?.doubleValue == 9_007_199_254_740_992)
        #expect(JSONNumber(Double.nan).doubleValue.isNaN)
        #expect(JSONNumber(Double.nan).intValue == nil)
        #expect(JSONNumber(Double.infinity).exactInteger(as: UInt8.self) == nil)
    }

    @Test("the text initializer validates the grammar")
    func textInitializerValidatesGrammar() {
        for valid in ["0", "-0", "1.50", "1e3", "-1.5E-3", "123456789012345678901234567890"] {
            #expect(JSONNumber(text: valid)?.text == valid)
        }
        for invalid in ["", "-", "01", "1.", ".1", "+1", "1e", "1e+", " 1", "1 ", "NaN", "Infinity", "0x1", "1.5.3", "null"] {
            #expect(JSONNumber(text: invalid) == nil, "\(invalid)")
        }
    }

    @Test("random doubles format exactly as Node's JSON.stringify does")
    func randomDoublesMatchNode() throws {
        guard let node = ["/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"].first(where: FileManager.default.isExecutableFile)
        else {
            print("skipping: node is not installed")
            return
        }
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = []
        while values.count < 3_000 {
            let value: Double
            switch values.count % 3 {
            case 0: value = Double(bitPattern: generator.next())  // any bit pattern
            case 1: value = Double(Int64.random(in: -1_000_000...1_000_000, using: &generator)) / 1000
            default: value = Double.random(in: -1...1, using: &generator) * pow(10, Double(Int.random(in: -30...30)))
            }
            if value.isFinite { values.append(value) }
        }
        // Node reads the bit patterns (exact) and prints JSON.stringify of each, one per line.
        let script = """
            const lines = require('fs').readFileSync(0, 'utf8').trim().split('\\n');
            const view = new DataView(new ArrayBuffer(8));
            const out = lines.map(h => { view.setBigUint64(0, BigInt('0x' + h)); return JSON.stringify(view.getFloat64(0)); });
            process.stdout.write(out.join('\\n'));
            """
        let input = values.map { String($0.bitPattern, radix: 16) }.joined(separator: "\n")
        let expected = try runProcess(node, arguments: ["-e", script], input: input).split(separator: "\n")
        #expect(expected.count == values.count)
        for (value, reference) in zip(values, expected) {
            #expect(JSONNumber(value).text == String(reference), "bits \(String(value.bitPattern, radix: 16))")
        }
    }
}

/// Runs `executable` with `input` on stdin and returns its stdout.
func runProcess(_ executable: String, arguments: [String], input: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    // Write from another thread: a large input could otherwise fill the pipe while stdout is unread.
    let data = Data(input.utf8)
    let writer = Thread {
        stdin.fileHandleForWriting.write(data)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}
