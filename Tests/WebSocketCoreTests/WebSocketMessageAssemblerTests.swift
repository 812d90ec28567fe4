import IOCore
import Testing
import WebSocketCore

@Suite struct WebSocketMessageAssemblerTests {
    /// Feeds frames to a fresh assembler and collects events until the first error.
    func assemble(_ frames: [WebSocketFrame], maxMessageSize: Int = 1 << 20) -> StreamOutcome {
        var assembler = WebSocketMessageAssembler(maxMessageSize: maxMessageSize)
        var outcome = StreamOutcome()
        for frame in frames {
            do {
                if let event = try assembler.receive(frame) {
                    outcome.events.append(event)
                }
            } catch {
                outcome.error = error
                break
            }
        }
        return outcome
    }

    func frame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, payload: ByteBuffer(bytes: bytes))
    }

    func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
        self.frame(opcode, Array(text.utf8), fin: fin)
    }

    @Test func receive_whenSingleFrameMessages_deliversEachAtOnce() {
        let outcome = self.assemble([
            self.frame(.text, "héllo"),
            self.frame(.binary, [0, 1, 2, 0xFF]),
            self.frame(.ping, "p"),
            self.frame(.pong, ""),
            self.frame(.text, ""),
        ])
        #expect(outcome.error == nil)
        #expect(
            outcome.events == [
                .text(ByteBuffer(string: "héllo")), .binary(ByteBuffer(bytes: [0, 1, 2, 0xFF])),
                .ping(ByteBuffer(string: "p")), .pong(ByteBuffer()), .text(ByteBuffer()),
            ]
        )
    }

    @Test func receive_whenFragmentedMessageHasPingBetweenFragments_deliversPingFirstThenWholeMessage() {
        let outcome = self.assemble([
            self.frame(.text, "one ", fin: false),
            self.frame(.ping, "are you there"),
            self.frame(.continuation, "two ", fin: false),
            self.frame(.pong, "yes"),
            self.frame(.continuation, "three"),
            self.frame(.binary, [1], fin: false),
            self.frame(.continuation, [2]),
        ])
        #expect(outcome.error == nil)
        #expect(
            outcome.events == [
                .ping(ByteBuffer(string: "are you there")), .pong(ByteBuffer(string: "yes")),
                .text(ByteBuffer(string: "one two three")), .binary(ByteBuffer(bytes: [1, 2])),
            ]
        )
    }

    @Test func receive_whenCloseArrivesBetweenFragments_deliversItAtOnce() {
        let outcome = self.assemble([
            self.frame(.binary, [1], fin: false),
            self.frame(.close, [0x03, 0xE9]),
        ])
        #expect(outcome.events == [.close(code: .goingAway, reason: "")])
    }

    @Test func receive_whenContinuationWithoutMessage_failsWithProtocolError() {
        let outcome = self.assemble([self.frame(.continuation, "x")])
        #expect(outcome.error == .unexpectedContinuation)
        #expect(outcome.error?.closeCode == .protocolError)
        let afterFinished = self.assemble([self.frame(.text, "a"), self.frame(.continuation, "b")])
        #expect(afterFinished.error == .unexpectedContinuation)
    }

    @Test(arguments: [WebSocketOpcode.text, .binary], [WebSocketOpcode.text, .binary])
    func receive_whenNewMessageStartsBeforeFragmentedOneEnds_failsWithProtocolError(
        first: WebSocketOpcode,
        second: WebSocketOpcode
    ) {
        let outcome = self.assemble([self.frame(first, "a", fin: false), self.frame(second, "b")])
        #expect(outcome.error == .unfinishedMessage)
        #expect(outcome.error?.closeCode == .protocolError)
    }

    @Test func receive_whenFrameHasReservedBit_failsWithProtocolError() {
        let frame = WebSocketFrame(rsv1: true, opcode: .text, payload: ByteBuffer(string: "x"))
        #expect(self.assemble([frame]).error == .reservedBitsSet)
    }

    @Test func receive_whenControlFrameIsFragmentedOrTooLong_failsWithProtocolError() {
        #expect(self.assemble([self.frame(.ping, "x", fin: false)]).error == .fragmentedControlFrame)
        #expect(self.assemble([self.frame(.pong, patternBytes(126))]).error == .controlFrameTooLong)
    }

    // MARK: Size limit

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func receive_whenMessageIsExactlyTheLimit_deliversIt(opcode: WebSocketOpcode) {
        let limit = 10
        let single = self.assemble([self.frame(opcode, "0123456789")], maxMessageSize: limit)
        #expect(single.error == nil && single.events.count == 1)
        let fragmented = self.assemble(
            [self.frame(opcode, "0123", fin: false), self.frame(.continuation, "456", fin: false),
             self.frame(.continuation, "789")],
            maxMessageSize: limit
        )
        #expect(fragmented.error == nil && fragmented.events.count == 1)
    }

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func receive_whenMessageExceedsTheLimit_failsWithMessageTooBigAtTheCrossingFragment(opcode: WebSocketOpcode) {
        let limit = 10
        let single = self.assemble([self.frame(opcode, "0123456789A")], maxMessageSize: limit)
        #expect(single.error == .messageTooLarge)
        #expect(single.error?.closeCode == .messageTooBig)
        // The crossing fragment is not final: the error must not wait for the end of the message.
        var assembler = WebSocketMessageAssembler(maxMessageSize: limit)
        #expect(throws: Never.self) { _ = try assembler.receive(self.frame(opcode, "012345", fin: false)) }
        #expect(throws: Never.self) { _ = try assembler.receive(self.frame(.continuation, "6789", fin: false)) }
        #expect(throws: WebSocketProtocolError.messageTooLarge) {
            _ = try assembler.receive(self.frame(.continuation, "A", fin: false))
        }
        #expect(throws: WebSocketProtocolError.messageTooLarge) {
            _ = try assembler.receive(self.frame(.ping, ""))
        }
    }

    @Test func receive_whenManyFragmentsAreReceived_countsControlFramesOutsideTheLimit() {
        let outcome = self.assemble(
            [self.frame(.binary, patternBytes(8), fin: false), self.frame(.ping, patternBytes(125)),
             self.frame(.continuation, patternBytes(2))],
            maxMessageSize: 10
        )
        #expect(outcome.error == nil)
        #expect(outcome.events.count == 2)
    }

    // MARK: UTF-8

    @Test(arguments: ["é", "€", "𝄞", "\u{10FFFF}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{FFFF}", "\u{10000}"])
    func receive_whenCodePointIsSplitBetweenFragmentsAtAnyByte_acceptsTheText(character: String) {
        let bytes = Array("a\(character)b".utf8)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let frames = [
                    self.frame(.text, Array(bytes[0..<first]), fin: false),
                    self.frame(.continuation, Array(bytes[first..<second]), fin: false),
                    self.frame(.continuation, Array(bytes[second...])),
                ]
                let outcome = self.assemble(frames)
                #expect(outcome.error == nil, "cut at \(first), \(second)")
                #expect(outcome.events == [.text(ByteBuffer(bytes: bytes))])
            }
        }
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xC0, 0x80],  // overlong U+0000
        [0xC1, 0xBF],  // overlong U+007F
        [0xE0, 0x80, 0x80],  // overlong, three bytes
        [0xE0, 0x9F, 0xBF],  // overlong U+07FF
        [0xF0, 0x80, 0x80, 0x80],  // overlong, four bytes
        [0xF0, 0x8F, 0xBF, 0xBF],  // overlong U+FFFF
        [0xED, 0xA0, 0x80],  // surrogate U+D800
        [0xED, 0xBF, 0xBF],  // surrogate U+DFFF
        [0xF4, 0x90, 0x80, 0x80],  // U+110000
        [0xF5, 0x80, 0x80, 0x80],  // lead byte above F4
        [0xFF],
        [0x80],  // lone continuation
        [0xC3],  // truncated two-byte
        [0xE2, 0x82],  // truncated three-byte
        [0xF0, 0x9D, 0x84],  // truncated four-byte
        [0xC3, 0x41],  // lead byte followed by ASCII
    ]

    @Test(arguments: invalidUTF8)
    func receive_whenTextIsInvalidUTF8_failsWithInvalidPayloadData(bytes: [UInt8]) {
        let message = Array("ok ".utf8) + bytes
        let single = self.assemble([self.frame(.text, message)])
        #expect(single.error == .invalidUTF8)
        #expect(single.error?.closeCode == .invalidPayloadData)
        // Fragmented at every position, with the invalid bytes anywhere.
        for cut in 0...message.count {
            let outcome = self.assemble([
                self.frame(.text, Array(message[..<cut]), fin: false), self.frame(.continuation, Array(message[cut...])),
            ])
            #expect(outcome.error == .invalidUTF8, "cut at \(cut)")
        }
    }

    @Test func receive_whenInvalidByteIsInANonFinalFragment_failsAtThatFragment() {
        var assembler = WebSocketMessageAssembler(maxMessageSize: 100)
        #expect(throws: Never.self) { _ = try assembler.receive(self.frame(.text, "abc", fin: false)) }
        #expect(throws: WebSocketProtocolError.invalidUTF8) {
            _ = try assembler.receive(self.frame(.continuation, [0xED, 0xA0], fin: false))
        }
    }

    @Test func receive_whenMessageEndsInsideACodePoint_failsWithInvalidPayloadData() {
        let outcome = self.assemble([
            self.frame(.text, [0x61, 0xF0, 0x9D], fin: false), self.frame(.continuation, [0x84]),
        ])
        #expect(outcome.error == .invalidUTF8)
    }

    @Test func receive_whenBinaryMessageIsNotUTF8_acceptsIt() {
        let outcome = self.assemble([self.frame(.binary, [0xFF, 0xC0], fin: false), self.frame(.continuation, [0x80])])
        #expect(outcome.events == [.binary(ByteBuffer(bytes: [0xFF, 0xC0, 0x80]))])
    }

    // MARK: Close frames

    @Test func receive_whenCloseIsEmpty_reportsNoCode() {
        #expect(self.assemble([self.frame(.close, [])]).events == [.close(code: nil, reason: "")])
    }

    @Test func receive_whenCloseHasOneByte_failsWithProtocolError() {
        let outcome = self.assemble([self.frame(.close, [0x03])])
        #expect(outcome.error == .invalidClosePayload)
        #expect(outcome.error?.closeCode == .protocolError)
    }

    @Test func receive_whenCloseHasCodeAndReason_reportsBoth() {
        let outcome = self.assemble([self.frame(.close, [0x0F, 0xA0] + Array("über".utf8))])
        #expect(outcome.events == [.close(code: WebSocketCloseCode(4000), reason: "über")])
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
    func receive_whenCloseCodeIsValidOnWire_acceptsIt(code: UInt16) {
        let outcome = self.assemble([self.frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)])])
        #expect(outcome.events == [.close(code: WebSocketCloseCode(code), reason: "")])
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
    func receive_whenCloseCodeIsNotValidOnWire_failsWithProtocolError(code: UInt16) {
        let outcome = self.assemble([self.frame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)])])
        #expect(outcome.error == .invalidCloseCode)
        #expect(outcome.error?.closeCode == .protocolError)
    }

    @Test func receive_whenCloseReasonIsNotUTF8_failsWithInvalidPayloadData() {
        let outcome = self.assemble([self.frame(.close, [0x03, 0xE8, 0x61, 0xC0, 0xAF])])
        #expect(outcome.error == .invalidUTF8)
        #expect(outcome.error?.closeCode == .invalidPayloadData)
    }

    @Test func closeCode_isValidOnWire_matchesTheRFCAndTheIANARegistry() {
        let valid = (0...UInt16.max).filter { WebSocketCloseCode($0).isValidOnWire }
        let expected = Array(1000...1003) + Array(1007...1014) + Array(3000...4999)
        #expect(valid == expected.map { UInt16($0) })
        #expect(!WebSocketCloseCode.noStatusReceived.isValidOnWire)
        #expect(!WebSocketCloseCode.abnormalClosure.isValidOnWire)
    }

    @Test func protocolErrors_haveReasonsThatFitInACloseFrame() {
        let errors: [WebSocketProtocolError] = [
            .reservedBitsSet, .unknownOpcode, .fragmentedControlFrame, .controlFrameTooLong, .invalidPayloadLength,
            .frameTooLarge, .unmaskedFrame, .maskedFrame, .unexpectedContinuation, .unfinishedMessage,
            .messageTooLarge, .invalidUTF8, .invalidClosePayload, .invalidCloseCode,
        ]
        for error in errors {
            #expect(error.reason.utf8.count <= 123)
            #expect(!error.shortDescription.contains(" "))
        }
        #expect(Set(errors.map(\.shortDescription)).count == errors.count)
    }
}
