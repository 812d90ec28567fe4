import Testing
import WebSocketCore
import TestKit

@Suite struct UTF8ValidatorTests {
    /// The reference: bytes are valid UTF-8 exactly when decoding with repair changes nothing.
    func referenceIsValid(_ bytes: [UInt8]) -> Bool {
        Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
    }

    func validatorIsValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
    }

    @Test func isValid_whenTextIsWellFormed_returnsTrue() {
        let samples = [
            "", "a", "hello world, this is long enough for the word loop", "κόσμε", "€ 100", "𝄞 music",
            "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}", "mixed ascii then é then more ascii text",
            String(repeating: "x", count: 1000) + "✓",
        ]
        for sample in samples {
            #expect(self.validatorIsValid(Array(sample.utf8)), "\(sample)")
        }
    }

    @Test(arguments: WebSocketMessageAssemblerTests.invalidUTF8)
    func isValid_whenSequenceIsIllFormed_returnsFalseAnywhereInTheText(bytes: [UInt8]) {
        #expect(!self.validatorIsValid(bytes))
        // In the middle of long ASCII runs, so that the word-at-a-time path meets it at every alignment.
        for prefixLength in 0..<17 {
            let text = Array(repeating: UInt8(ascii: "a"), count: prefixLength) + bytes + Array("tail ascii".utf8)
            #expect(!self.validatorIsValid(text), "prefix \(prefixLength)")
        }
    }

    @Test func isValid_forEveryOneAndTwoByteInput_matchesTheReference() {
        for first in 0...255 {
            #expect(self.validatorIsValid([UInt8(first)]) == self.referenceIsValid([UInt8(first)]))
            for second in 0...255 {
                let bytes = [UInt8(first), UInt8(second)]
                #expect(self.validatorIsValid(bytes) == self.referenceIsValid(bytes), "\(bytes)")
            }
        }
    }

    @Test func isValid_forEveryThreeByteLeadAndSecondByte_matchesTheReference() {
        for lead in 0xE0...0xF4 {
            for second in 0...255 {
                for third in [0x00, 0x7F, 0x80, 0xBF, 0xC0] {
                    let bytes = [UInt8(lead), UInt8(second), UInt8(third)]
                    #expect(self.validatorIsValid(bytes) == self.referenceIsValid(bytes), "\(bytes)")
                    let four = bytes + [0x80]
                    #expect(self.validatorIsValid(four) == self.referenceIsValid(four), "\(four)")
                }
            }
        }
    }

    @Test func validate_whenFedInPieces_agreesWithWholeValidationAtEverySplit() {
        let samples: [[UInt8]] = [
            Array("a€b𝄞cé d\u{10FFFF}".utf8),
            Array("abcdefgh€".utf8) + [0xED, 0xA0, 0x80],
            Array("12345678".utf8) + [0xF0, 0x9D],
        ]
        for bytes in samples {
            let whole = self.validatorIsValid(bytes)
            for first in 0...bytes.count {
                for second in first...bytes.count {
                    var validator = UTF8Validator()
                    var ok = true
                    bytes.withUnsafeBytes { raw in
                        ok = validator.validate(UnsafeRawBufferPointer(rebasing: raw[0..<first])) && ok
                        ok = validator.validate(UnsafeRawBufferPointer(rebasing: raw[first..<second])) && ok
                        ok = validator.validate(UnsafeRawBufferPointer(rebasing: raw[second...])) && ok
                    }
                    #expect((ok && validator.isComplete) == whole, "cut at \(first), \(second)")
                }
            }
        }
    }

    @Test func validate_whenCodePointIsUnfinished_isValidSoFarButNotComplete() {
        var validator = UTF8Validator()
        #expect([UInt8(0xF0), 0x9D].withUnsafeBytes { validator.validate($0) })
        #expect(validator.isValidSoFar)
        #expect(!validator.isComplete)
        #expect([UInt8(0x84), 0x9E].withUnsafeBytes { validator.validate($0) })
        #expect(validator.isComplete)
    }

    @Test func validate_afterFailure_staysFailedUntilReset() {
        var validator = UTF8Validator()
        #expect(![UInt8(0xFF)].withUnsafeBytes { validator.validate($0) })
        #expect(!Array("ok".utf8).withUnsafeBytes { validator.validate($0) })
        #expect(!validator.isComplete)
        validator.reset()
        #expect(Array("ok".utf8).withUnsafeBytes { validator.validate($0) })
        #expect(validator.isComplete)
    }

    @Test func isValid_forRandomInputs_matchesTheReference() {
        var generator = SeededGenerator(state: 42)
        // Bytes biased towards UTF-8 structure so that valid and invalid inputs both occur often.
        let palette: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
                                0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            let bytes = (0..<length).map { _ in palette.randomElement(using: &generator)! }
            #expect(self.validatorIsValid(bytes) == self.referenceIsValid(bytes), "\(bytes)")
        }
    }
}
