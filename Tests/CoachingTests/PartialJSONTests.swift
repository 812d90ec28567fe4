import Coaching
import Foundation
import JSON
import Testing
import TestKit

/// Feeds `text` to a fresh extractor in pieces cut at the given UTF-8 offsets and returns it, checking after
/// each piece that the value only grows.
private func extract(_ text: String, key: String = "suggestion", cuts: [Int]) -> PartialJSON {
    var extractor = PartialJSON(key: key)
    let bytes = Array(text.utf8)
    var start = 0
    for end in cuts.sorted() + [bytes.count] where end >= start {
        let before = extractor.valueByteCount
        bytes[start..<end].withUnsafeBytes { extractor.feed($0) }
        #expect(extractor.valueByteCount >= before)
        start = end
    }
    return extractor
}

/// The top-level "suggestion" string of `document` as JSONParser reads it.
private func parsedSuggestion(_ document: String) -> String? {
    (try? JSONParser.parse(document))?["suggestion"]?.stringValue
}


/// How long each fuzz test runs: about a second by default, `EARPIECE_FUZZ_SECONDS` for a longer run.
private func fuzzBudget() -> Duration {
    if let text = ProcessInfo.processInfo.environment["EARPIECE_FUZZ_SECONDS"], let seconds = Double(text), seconds > 0 {
        return .milliseconds(Int(seconds * 1_000))
    }
    return .seconds(1)
}

@Suite struct PartialJSONTests {
    static let answer = #"{"kind":"objection","headline":"Price pushback","suggestion":"Acknowledge the budget, then ask.","options":[{"label":"A","script":"B"}],"confidence":0.8}"#

    @Test func value_growsByteByByte_untilTheClosingQuote() {
        var extractor = PartialJSON(key: "suggestion")
        var seen: [String] = []
        for byte in Self.answer.utf8 {
            withUnsafeBytes(of: byte) { extractor.feed($0) }
            if seen.last != extractor.value { seen.append(extractor.value) }
        }
        #expect(extractor.value == "Acknowledge the budget, then ask.")
        #expect(extractor.isComplete)
        #expect(extractor.scalarCount == 33)
        #expect(seen.first == "")
        #expect(seen.count == 34)  // "" and then one more character each time.
        for text in seen { #expect("Acknowledge the budget, then ask.".hasPrefix(text)) }
    }

    @Test func value_isEmpty_whileTheMemberHasNotStarted() {
        var extractor = PartialJSON(key: "suggestion")
        extractor.update(accumulated: #"{"kind":"objection","headline":"Price push"#)
        #expect(extractor.value == "")
        #expect(extractor.phase == .searching)
        extractor.update(accumulated: #"{"kind":"objection","headline":"Price pushback","suggestion":""#)
        #expect(extractor.phase == .reading)
        #expect(extractor.value == "")
    }

    @Test func update_scansOnlyTheNewBytes_andReportsGrowth() {
        var extractor = PartialJSON(key: "suggestion")
        // (Results bound first: #expect cannot call a mutating method.)
        let first = extractor.update(accumulated: #"{"suggestion":"Ask"#)
        #expect(first)
        #expect(extractor.consumedBytes == 18)
        let again = extractor.update(accumulated: #"{"suggestion":"Ask"#)
        #expect(!again)
        let grown = extractor.update(accumulated: #"{"suggestion":"Ask them"#)
        #expect(grown)
        #expect(extractor.value == "Ask them")
        #expect(extractor.consumedBytes == 23)
    }

    @Test func update_withShorterText_startsOver() {
        var extractor = PartialJSON(key: "suggestion")
        extractor.update(accumulated: #"{"suggestion":"First answer"}"#)
        #expect(extractor.isComplete)
        extractor.update(accumulated: #"{"suggestion":"Sec"#)
        #expect(extractor.value == "Sec")
        #expect(extractor.phase == .reading)
    }

    @Test func escapes_areDecoded_whereverThePiecesEnd() {
        let document = #"{"suggestion":"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9j\u4E2Dk\ud83d\ude00l"}"#
        let expected = "a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti\u{E9}j\u{4E2D}k\u{1F600}l"
        #expect(parsedSuggestion(document) == expected)
        let count = document.utf8.count
        for cut in 0...count {
            for second in stride(from: cut, through: count, by: 3) {
                let extractor = extract(document, cuts: [cut, second])
                #expect(extractor.value == expected, "cuts \(cut), \(second)")
                #expect(extractor.isComplete)
            }
        }
    }

    @Test func surrogatePair_splitBetweenItsHalves_isHeldBackUntilComplete() {
        var extractor = PartialJSON(key: "suggestion")
        extractor.update(accumulated: #"{"suggestion":"Hi \ud83d"#)
        #expect(extractor.value == "Hi ")
        extractor.update(accumulated: #"{"suggestion":"Hi \ud83d\"#)
        #expect(extractor.value == "Hi ")
        extractor.update(accumulated: #"{"suggestion":"Hi \ud83d\ude"#)
        #expect(extractor.value == "Hi ")
        extractor.update(accumulated: #"{"suggestion":"Hi \ud83d\ude00"#)
        #expect(extractor.value == "Hi \u{1F600}")
        #expect(extractor.scalarCount == 4)
    }

    @Test func loneSurrogates_becomeReplacementCharacters_likeJSONParser() {
        let documents = [
            #"{"suggestion":"a\ud83db"}"#,
            #"{"suggestion":"a\ud83d"}"#,
            #"{"suggestion":"a\ude00b"}"#,
            #"{"suggestion":"a\ud83d\u0041b"}"#,
            #"{"suggestion":"a\ud83d\ud83d\ude00b"}"#,
            #"{"suggestion":"a\ud83d\nb"}"#,
        ]
        for document in documents {
            let expected = parsedSuggestion(document)
            #expect(expected != nil)
            for cut in 0...document.utf8.count {
                let extractor = extract(document, cuts: [cut])
                #expect(extractor.value == expected, "\(document) cut at \(cut)")
            }
        }
    }

    @Test func multiByteCharacter_splitAcrossPieces_isHeldBackUntilComplete() {
        let document = #"{"suggestion":"Grüße 中文 😀"}"#
        let bytes = Array(document.utf8)
        var extractor = PartialJSON(key: "suggestion")
        for byte in bytes {
            withUnsafeBytes(of: byte) { extractor.feed($0) }
            // Every intermediate value is valid text and a prefix of the final value.
            #expect("Grüße 中文 😀".utf8.starts(with: extractor.value.utf8))
            #expect(!extractor.value.contains("\u{FFFD}"))
        }
        #expect(extractor.value == "Grüße 中文 😀")
        #expect(extractor.scalarCount == 10)
    }

    @Test func nestedMembersAndSimilarKeys_areIgnored() {
        let document = #"""
            { "options" : [ {"suggestion": "nested"}, "suggestion" ], "meta": {"a": {"suggestion": "deeper"}},
              "suggestionx": "longer key", "xsuggestion": "other", "note": "\"suggestion\": \"fake\"",
              "suggestion" : "the real one" }
            """#
        #expect(parsedSuggestion(document) == "the real one")
        let extractor = extract(document, cuts: [])
        #expect(extractor.value == "the real one")
        #expect(extractor.isComplete)
    }

    @Test func escapedKey_matchesAfterDecoding() {
        let extractor = extract(#"{"sugg\u0065stion":"yes"}"#, cuts: [8])
        #expect(extractor.value == "yes")
    }

    @Test func otherKey_isExtractedWhenAskedFor() {
        let extractor = extract(Self.answer, key: "kind", cuts: [5, 12])
        #expect(extractor.value == "objection")
        #expect(extractor.isComplete)
    }

    @Test func nonStringValue_yieldsNothing() {
        for document in [#"{"suggestion":null,"x":"y"}"#, #"{"suggestion":12,"x":"y"}"#, #"{"suggestion":["a"],"x":"b"}"#, #"{"suggestion":{"a":"b"},"x":"c"}"#] {
            let extractor = extract(document, cuts: [3])
            #expect(extractor.value == "", "\(document)")
            #expect(extractor.phase == .stopped, "\(document)")
        }
    }

    @Test func documentThatIsNotAnObject_stopsAtOnce() {
        for document in [#"["suggestion","x"]"#, #""suggestion""#, "```json\n{\"suggestion\":\"x\"}", "null"] {
            let extractor = extract(document, cuts: [])
            #expect(extractor.phase == .stopped, "\(document)")
            #expect(extractor.value == "")
        }
    }

    @Test func rawControlCharacterInString_stopsTheScan() {
        let extractor = extract("{\"suggestion\":\"line one\nline two\"}", cuts: [])
        #expect(extractor.phase == .stopped)
        #expect(extractor.value == "line one")
    }

    @Test func invalidEscape_stopsTheScan() {
        for document in [#"{"suggestion":"a\qb"}"#, #"{"suggestion":"a\u12g4b"}"#] {
            let extractor = extract(document, cuts: [])
            #expect(extractor.phase == .stopped, "\(document)")
            #expect(extractor.value == "a")
        }
    }

    @Test func valueLongerThanTheLimit_stopsAtTheLimit() {
        let long = String(repeating: "word ", count: 100)
        var extractor = PartialJSON(key: "suggestion", maximumValueBytes: 64)
        extractor.update(accumulated: "{\"suggestion\":\"\(long)\"}")
        #expect(extractor.phase == .stopped)
        #expect(extractor.valueByteCount == 64)
        var escaped = PartialJSON(key: "suggestion", maximumValueBytes: 4)
        escaped.update(accumulated: #"{"suggestion":"abc\u00e9"}"#)
        #expect(escaped.phase == .stopped)
        #expect(escaped.value == "abc")
    }

    @Test func sentenceEnd_isReported() {
        var extractor = PartialJSON(key: "suggestion")
        extractor.update(accumulated: #"{"suggestion":"Ask them."#)
        #expect(extractor.valueEndsSentence)
        extractor.update(accumulated: #"{"suggestion":"Ask them. Then"#)
        #expect(!extractor.valueEndsSentence)
        extractor.update(accumulated: #"{"suggestion":"Ask them. Then wait…"#)
        #expect(extractor.valueEndsSentence)
    }

    // MARK: Fuzzing

    /// Random splits of random valid answers: every intermediate value is a UTF-8 prefix of what JSONParser
    /// reads from the whole answer, and the final value equals it.
    @Test func fuzz_randomSplitsOfValidAnswers_yieldPrefixesOfTheFinalSuggestion() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SeededGenerator(state: seed)
        let deadline = ContinuousClock.now + fuzzBudget()
        var documents = 0
        var failures = 0
        // At least 150 documents whatever the machine's speed, more while the time budget lasts.
        while (documents < 150 || ContinuousClock.now < deadline) && failures < 5 {
            documents += 1
            let document = AnswerGenerator.document(using: &random)
            guard let expected = parsedSuggestion(document) else {
                Issue.record("generator made an invalid document (seed \(seed)): \(document)")
                failures += 1
                continue
            }
            let bytes = Array(document.utf8)
            // Pieces cut at any byte, as a transport might deliver them.
            var cuts: [Int] = []
            for _ in 0..<Int.random(in: 0...12, using: &random) { cuts.append(Int.random(in: 0...bytes.count, using: &random)) }
            var extractor = PartialJSON(key: "suggestion")
            var start = 0
            var ok = true
            for end in cuts.sorted() + [bytes.count] {
                bytes[start..<end].withUnsafeBytes { extractor.feed($0) }
                start = end
                if !expected.utf8.starts(with: extractor.value.utf8) { ok = false }
            }
            if !ok || extractor.value != expected || !extractor.isComplete { ok = false }
            // Accumulated text cut at scalar boundaries, as the language model seam delivers it.
            var accumulated = PartialJSON(key: "suggestion")
            let scalars = Array(document.unicodeScalars)
            var position = 0
            while position < scalars.count {
                position = min(scalars.count, position + Int.random(in: 1...9, using: &random))
                var prefix = String.UnicodeScalarView()
                prefix.append(contentsOf: scalars[..<position])
                accumulated.update(accumulated: String(prefix))
                if !expected.utf8.starts(with: accumulated.value.utf8) { ok = false }
            }
            if accumulated.value != expected || !accumulated.isComplete { ok = false }
            if !ok {
                failures += 1
                Issue.record("seed \(seed), document \(documents): \(document)")
            }
        }
        print("PartialJSON fuzz (valid answers): \(documents) documents, seed \(seed)")
    }

    /// Garbage and mutated answers never trap, and the result does not depend on where the pieces end.
    @Test func fuzz_garbageAndMutatedAnswers_neverCrash_andDoNotDependOnSplits() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var random = SeededGenerator(state: seed)
        let deadline = ContinuousClock.now + fuzzBudget()
        var inputs = 0
        var failures = 0
        let alphabet = Array(#"{}[]":,\ u"suggestion"0123456789abcdefABCDEFnrtbf/ dD8eE"#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xA9, 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80, 0xFF]
        // At least 150 inputs whatever the machine's speed, more while the time budget lasts.
        while (inputs < 150 || ContinuousClock.now < deadline) && failures < 5 {
            inputs += 1
            var bytes: [UInt8]
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            case 1:
                bytes = (0..<Int.random(in: 0...80, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            default:
                bytes = Array(AnswerGenerator.document(using: &random).utf8)
                for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                    let index = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: bytes[index] = alphabet.randomElement(using: &random)!
                    case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: index)
                    case 2: bytes.remove(at: index)
                    default: bytes.removeSubrange(index...)
                    }
                }
            }
            var whole = PartialJSON(key: "suggestion", maximumValueBytes: Int.random(in: 8...200, using: &random))
            bytes.withUnsafeBytes { whole.feed($0) }
            var split = PartialJSON(key: "suggestion", maximumValueBytes: whole.maximumValueBytes)
            var start = 0
            var ok = true
            var cuts: [Int] = []
            for _ in 0..<Int.random(in: 0...10, using: &random) { cuts.append(Int.random(in: 0...bytes.count, using: &random)) }
            for end in cuts.sorted() + [bytes.count] {
                bytes[start..<end].withUnsafeBytes { split.feed($0) }
                start = end
                if split.valueByteCount > whole.valueByteCount || split.scalarCount > whole.scalarCount { ok = false }
            }
            if split.value != whole.value || split.phase != whole.phase || split.scalarCount != whole.scalarCount { ok = false }
            if whole.valueByteCount > whole.maximumValueBytes { ok = false }
            if !ok {
                failures += 1
                Issue.record("seed \(seed), input \(inputs): \(bytes)")
            }
        }
        print("PartialJSON fuzz (garbage): \(inputs) inputs, seed \(seed)")
    }
}

/// Writes random `coaching_tip`-like answers with every way JSON can spell a string: raw and escaped
/// characters, surrogate pairs, decoy keys, nesting and whitespace.
private enum AnswerGenerator {
    static let pool: [Unicode.Scalar] = [
        "a", "b", "k", "Z", " ", " ", ".", ",", "!", "?", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}",
        "é", "ü", "ß", "中", "文", "\u{301}", "\u{2028}", "\u{FFFF}", "😀", "🎉", "\u{10FFFF}", "u", "0", "D",
    ]

    static func document<R: RandomNumberGenerator>(using random: inout R) -> String {
        var members: [(String, String)] = [
            ("kind", self.string(["objection", "none", "next_step"].randomElement(using: &random)!, using: &random)),
            ("headline", self.string(self.text(using: &random), using: &random)),
            ("suggestion", self.string(self.text(using: &random), using: &random)),
            ("options", #"[{"label":"# + self.string("L", using: &random) + #","suggestion":"decoy","script":"# + self.string(self.text(using: &random), using: &random) + "}]"),
            ("confidence", ["0.8", "1", "0", "-1.5e-3"].randomElement(using: &random)!),
        ]
        if Bool.random(using: &random) {
            let decoys = [
                ("suggestionx", #""decoy""#), ("xsuggestion", "[\"suggestion\",{\"suggestion\":\"decoy\"}]"),
                ("meta", #"{"suggestion":{"suggestion":"decoy"},"n":[1,2,[3]]}"#), ("flag", "true"), ("nothing", "null"),
            ]
            members.insert(decoys.randomElement(using: &random)!, at: Int.random(in: 0...members.count, using: &random))
        }
        if Int.random(in: 0..<4, using: &random) == 0 { members.shuffle(using: &random) }
        var text = self.space(using: &random) + "{"
        for (index, member) in members.enumerated() {
            if index > 0 { text += "," }
            let key = member.0 == "suggestion" && Int.random(in: 0..<5, using: &random) == 0 ? #""sugg\u0065stion""# : "\"\(member.0)\""
            text += self.space(using: &random) + key + self.space(using: &random) + ":" + self.space(using: &random) + member.1
                + self.space(using: &random)
        }
        return text + "}" + self.space(using: &random)
    }

    static func text<R: RandomNumberGenerator>(using random: inout R) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...40, using: &random) { scalars.append(self.pool.randomElement(using: &random)!) }
        return String(scalars)
    }

    static func space<R: RandomNumberGenerator>(using random: inout R) -> String {
        ["", "", "", " ", "\n  ", "\t", "\r\n"].randomElement(using: &random)!
    }

    /// `value` as a JSON string literal, each character spelled at random among its valid spellings.
    static func string<R: RandomNumberGenerator>(_ value: String, using random: inout R) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            let escapeAnyway = Int.random(in: 0..<4, using: &random) == 0
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "/": text += escapeAnyway ? "\\/" : "/"
            case "\n": text += escapeAnyway ? "\\u000a" : "\\n"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20: text += self.unicodeEscape(scalar.value, using: &random)
            case _ where scalar.value >= 0x80 && escapeAnyway:
                if scalar.value >= 0x10000 {
                    let value = scalar.value - 0x10000
                    text += self.unicodeEscape(0xD800 + (value >> 10), using: &random)
                    text += self.unicodeEscape(0xDC00 + (value & 0x3FF), using: &random)
                } else {
                    text += self.unicodeEscape(scalar.value, using: &random)
                }
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }

    static func unicodeEscape<R: RandomNumberGenerator>(_ unit: UInt32, using random: inout R) -> String {
        let hex = String(unit, radix: 16)
        let padded = String(repeating: "0", count: 4 - hex.count) + hex
        return "\\u" + (Bool.random(using: &random) ? padded.uppercased() : padded)
    }
}

@Suite("PartialJSON at its size limit")
struct PartialJSONLimitTests {
    @Test(arguments: [
        (#"{"suggestion":"ab\ud800c"}"#, 3, "ab"),
        (#"{"suggestion":"a\ud800\u0041"}"#, 2, "a"),
        (#"{"suggestion":"a\ud800\n"}"#, 2, "a"),
        (#"{"suggestion":"ab\ud800"}"#, 3, "ab"),
    ])
    func aReplacementThatDoesNotFit_stopsTheValue_forGood(text: String, limit: Int, expected: String) {
        var partial = PartialJSON(key: "suggestion", maximumValueBytes: limit)
        partial.update(accumulated: text)
        #expect(partial.value == expected)
        #expect(partial.phase == .stopped)
    }
}

