import IOCore
import Testing
import WebSocketCore
import TestKit

@Suite struct WebSocketFrameWriterTests {
    func written(
        _ opcode: WebSocketOpcode,
        _ payload: [UInt8],
        fin: Bool = true,
        maskingKey: WebSocketMaskingKey? = nil
    ) -> [UInt8] {
        var buffer = ByteBuffer()
        payload.withUnsafeBytes {
            WebSocketFrame.write(opcode: opcode, fin: fin, payload: $0, maskingKey: maskingKey, into: &buffer)
        }
        return buffer.array
    }

    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536])
    func write_whenPayloadHasLength_matchesTheHandEncodedFrame(length: Int) {
        let payload = patternBytes(length)
        #expect(self.written(.binary, payload) == makeFrameBytes(opcode: 2, payload: payload))
        let key = WebSocketMaskingKey(testMask)!
        #expect(self.written(.binary, payload, maskingKey: key) == makeFrameBytes(opcode: 2, payload: payload, mask: testMask))
        #expect(WebSocketFrame.headerLength(payloadLength: length, masked: false) + length == self.written(.binary, payload).count)
        #expect(WebSocketFrame.headerLength(payloadLength: length, masked: true) + length == self.written(.binary, payload, maskingKey: key).count)
    }

    @Test func write_whenServerSendsText_producesTheRFCExample() {
        // RFC 6455 section 5.7: a single-frame unmasked text message "Hello", and the masked one.
        #expect(self.written(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(
            self.written(.text, Array("Hello".utf8), maskingKey: WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D))
                == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        )
        #expect(self.written(.text, Array("Hel".utf8), fin: false) == [0x01, 0x03, 0x48, 0x65, 0x6C])
        #expect(self.written(.continuation, Array("lo".utf8)) == [0x80, 0x02, 0x6C, 0x6F])
    }

    @Test(arguments: WebSocketOpcode.allCases, [0, 3, 8, 17, 125, 126, 1_000, 70_000])
    func write_thenParse_roundTripsWithAndWithoutMask(opcode: WebSocketOpcode, length: Int) {
        guard !opcode.isControl || length <= 125 else {
            return
        }
        let payload = patternBytes(length, seed: length)
        let frame = WebSocketFrame(fin: true, opcode: opcode, payload: ByteBuffer(bytes: payload))
        for key in [nil, WebSocketMaskingKey(rawValue: 0x0102_0304), WebSocketMaskingKey(rawValue: 0xFFFF_FFFF)] {
            var buffer = ByteBuffer()
            WebSocketFrame.write(opcode: opcode, payload: ByteBuffer(bytes: payload), maskingKey: key, into: &buffer)
            let outcome = runStream(buffer.array, requireMaskedFrames: key != nil, assemble: false)
            #expect(outcome.error == nil)
            #expect(outcome.frames == [frame])
        }
    }

    @Test func write_whenFrameHasReservedBits_setsThemAndTheParserRejectsThem() {
        let frame = WebSocketFrame(fin: false, rsv1: true, rsv3: true, opcode: .binary, payload: ByteBuffer(bytes: [1]))
        var buffer = ByteBuffer()
        frame.write(into: &buffer)
        #expect(buffer.array == [0x52, 0x01, 0x01])
        #expect(runStream(buffer.array, requireMaskedFrames: false).error == .reservedBitsSet)
    }

    @Test func write_whenFragmentedMessageWithInterleavedPing_roundTripsThroughTheAssembler() {
        let key = WebSocketMaskingKey(9, 8, 7, 6)
        var buffer = ByteBuffer()
        WebSocketFrame.write(opcode: .text, fin: false, payload: ByteBuffer(string: "frag"), maskingKey: key, into: &buffer)
        WebSocketFrame.write(opcode: .ping, payload: ByteBuffer(string: "?"), maskingKey: key, into: &buffer)
        WebSocketFrame.write(opcode: .continuation, payload: ByteBuffer(string: "ment"), maskingKey: key, into: &buffer)
        WebSocketFrame.writeClose(code: .goingAway, reason: "bye", maskingKey: key, into: &buffer)
        let outcome = runStream(buffer.array)
        #expect(outcome.error == nil)
        #expect(
            outcome.events == [
                .ping(ByteBuffer(string: "?")), .text(ByteBuffer(string: "fragment")), .close(code: .goingAway, reason: "bye"),
            ]
        )
    }

    func closeBody(code: WebSocketCloseCode?, reason: String) -> [UInt8] {
        var buffer = ByteBuffer()
        WebSocketFrame.writeClose(code: code, reason: reason, into: &buffer)
        let bytes = buffer.array
        #expect(bytes[0] == 0x88)
        #expect(Int(bytes[1]) == bytes.count - 2)
        return Array(bytes.dropFirst(2))
    }

    @Test func writeClose_whenCodeAndReason_writesCodeThenReason() {
        #expect(self.closeBody(code: .normalClosure, reason: "done") == [0x03, 0xE8] + Array("done".utf8))
        #expect(self.closeBody(code: WebSocketCloseCode(4321), reason: "") == [0x10, 0xE1])
    }

    @Test func writeClose_whenNoCodeOrAReservedCode_writesAnEmptyBody() {
        #expect(self.closeBody(code: nil, reason: "ignored").isEmpty)
        #expect(self.closeBody(code: .noStatusReceived, reason: "x").isEmpty)
        #expect(self.closeBody(code: .abnormalClosure, reason: "").isEmpty)
    }

    @Test(arguments: ["a", "é", "€", "𝄞"])
    func writeClose_whenReasonIsTooLong_truncatesAtACharacterBoundary(character: String) {
        let reason = String(repeating: character, count: 200)
        let body = self.closeBody(code: .policyViolation, reason: reason)
        let reasonBytes = Array(body.dropFirst(2))
        let width = character.utf8.count
        #expect(reasonBytes.count == (123 / width) * width)
        #expect(String(decoding: reasonBytes, as: UTF8.self) == String(repeating: character, count: 123 / width))
        // Mixed widths: the cut lands before the character that would cross 123 bytes.
        let mixed = String(repeating: "a", count: 121) + "€" + "b"
        #expect(self.closeBody(code: .normalClosure, reason: mixed).count == 2 + 121)
        let exact = String(repeating: "a", count: 120) + "€"
        #expect(self.closeBody(code: .normalClosure, reason: exact).count == 2 + 123)
    }

    @Test func maskingKey_bytesAreInWireOrder() {
        let key = WebSocketMaskingKey(0x11, 0x22, 0x33, 0x44)
        #expect(key.rawValue == 0x1122_3344)
        #expect((0..<8).map { key.byte(at: $0) } == [0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x33, 0x44])
        #expect(WebSocketMaskingKey([1, 2, 3]) == nil)
        var generator = SeededGenerator(state: 1)
        #expect(WebSocketMaskingKey.random(using: &generator) != WebSocketMaskingKey.random(using: &generator))
    }
}
