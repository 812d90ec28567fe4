// libFuzzer target for the JSON library: `Fuzz/run.sh JSONFuzz SECONDS`.
//
// Every input is used three ways:
// 1. As a document for `JSONParser` with default limits. If it parses, the input must be UTF-8; the
//    value is written, the text parsed again, and must come back equal; writing that is a fixed point.
//    Every number's accessors must agree with each other, and formatting its double must round-trip.
//    The Codable decoder reads the value into a JSONValue and into a struct, without trapping.
// 2. With tight limits: it may fail where the default parse succeeds, never the other way round,
//    and when both succeed they agree.
// 3. As text (repaired to UTF-8) for `JSONWriter.writeString`: it must parse back to the same string.
// A disagreement, a trap, or a memory error (ASan) is a finding.

import IOCore
import JSON

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("JSONFuzz: \(message)")
}

/// A struct with one field of each kind, so the decoder meets every mismatch.
struct FuzzShape: Decodable {
    var a: Int?
    var b: String?
    var c: [Double]?
    var d: [String: UInt8]?
    var e: Bool?
    var f: Float?
    var g: [FuzzShape]?
    var h: JSONValue?
}

/// Tight limits, so that each one is hit often.
let tightLimits = JSONLimits(maxDepth: 3, maxStringLength: 8, maxElementsPerContainer: 4, maxNumberLength: 6)

/// Checks the invariants of every number in `value`.
func checkNumbers(_ value: JSONValue) {
    switch value {
    case .number(let number):
        guard JSONNumber(text: number.text) == number else { fuzzFailure("parsed number text fails the grammar") }
        let double = number.doubleValue
        if let integer = number.intValue {
            if integer.magnitude < (1 << 53) && Double(integer) != double {
                fuzzFailure("intValue and doubleValue disagree")
            }
            if number.exactInteger(as: Int64.self) != Int64(integer) { fuzzFailure("exactInteger(Int64) disagrees") }
        }
        if let small = number.exactInteger(as: Int8.self), number.intValue != Int(small) {
            fuzzFailure("exactInteger(Int8) disagrees with intValue")
        }
        if double.isFinite {
            let formatted = JSONNumber(double)
            guard JSONNumber(text: formatted.text) != nil else { fuzzFailure("formatted double is not a JSON number") }
            if formatted.doubleValue != double { fuzzFailure("formatted double does not round-trip") }
        }
        let float = number.floatValue
        if float.isFinite && JSONNumber(float).floatValue != float { fuzzFailure("formatted float does not round-trip") }
    case .array(let elements):
        for element in elements { checkNumbers(element) }
    case .object(let object):
        for entry in object { checkNumbers(entry.value) }
    default:
        break
    }
}

/// Parses, writes and re-parses; checks numbers and the decoder.
func fuzzDocument(_ bytes: UnsafeRawBufferPointer) {
    let parsed: JSONValue?
    do {
        parsed = try JSONParser.parse(bytes)
    } catch {
        parsed = nil
        if let offset = error.offset, offset < 0 || offset > bytes.count { fuzzFailure("error offset out of range") }
    }
    let tight: JSONValue? = try? JSONParser.parse(bytes, limits: tightLimits)
    if let tight, tight != parsed { fuzzFailure("tight limits accepted what default limits did not, or differently") }
    guard let value = parsed else {
        return
    }
    if String(validating: bytes, as: UTF8.self) == nil {
        fuzzFailure("accepted invalid UTF-8")
    }
    let written: ByteBuffer
    do {
        written = try value.jsonBytes
    } catch {
        fuzzFailure("writing a parsed value failed")
    }
    let reparsed: JSONValue
    do {
        reparsed = try JSONParser.parse(written, limits: JSONLimits(maxDepth: 64, maxStringLength: .max, maxElementsPerContainer: .max, maxNumberLength: .max))
    } catch {
        fuzzFailure("written text does not parse: \(error)")
    }
    if reparsed != value { fuzzFailure("write/parse round trip changed the value") }
    if (try? reparsed.jsonBytes) != written { fuzzFailure("writing is not a fixed point") }
    checkNumbers(value)

    let decoder = JSONValueDecoder()
    guard (try? decoder.decode(JSONValue.self, from: value)) == value else { fuzzFailure("decoding a JSONValue changed it") }
    _ = try? decoder.decode(FuzzShape.self, from: value)
    _ = try? decoder.decode([FuzzShape].self, from: value)
    if let encoded = try? JSONValueEncoder().encode(value), encoded != value { fuzzFailure("encoding a JSONValue changed it") }
}

/// Writes the input as a string and parses it back.
func fuzzString(_ bytes: UnsafeRawBufferPointer) {
    let string = String(decoding: bytes, as: UTF8.self)
    var buffer = ByteBuffer()
    JSONWriter.writeString(string, into: &buffer)
    let limits = JSONLimits(maxStringLength: .max)
    guard let back = try? JSONParser.parse(buffer, limits: limits), back == .string(string) else {
        fuzzFailure("writeString output does not parse back to the string")
    }
}

/// The libFuzzer entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    fuzzDocument(bytes)
    fuzzString(bytes)
    return 0
}
