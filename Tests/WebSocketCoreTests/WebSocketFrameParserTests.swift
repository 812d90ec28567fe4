import IOCore
import Testing
import WebSocketCore

@Suite struct WebSocketFrameParserTests {
    @Test(arguments: WebSocketOpcode.allCases, [true, false])
    func parse_whenFrameOfEachOpcode_returnsItUnmasked(opcode: WebSocketOpcode, masked: Bool) {
        let payload = patternBytes(opcode.isControl ? 125 : 300)
        let bytes = makeFrameBytes(opcode: opcode.rawValue, payload: payload, mask: masked ? testMask : nil)
        let outcome = runStream(bytes, requireMaskedFrames: masked, assemble: false)
        #expect(outcome.error == nil)
        #expect(outcome.frames == [WebSocketFrame(fin: true, opcode: opcode, payload: ByteBuffer(bytes: payload))])
    }

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 125, 126, 127, 65535, 65536, 100_000])
    func parse_whenPayloadHasLength_usesTheRightEncodingAndUnmasks(length: Int) {
        let payload = patternBytes(length, seed: length)
        for masked in [true, false] {
            let bytes = makeFrameBytes(opcode: 2, payload: payload, mask: masked ? testMask : nil)
            let expectedHeader = (length <= 125 ? 2 : (length <= 65535 ? 4 : 10)) + (masked ? 4 : 0)
            #expect(bytes.count == expectedHeader + length)
            let outcome = runStream(bytes, requireMaskedFrames: masked, assemble: false)
            #expect(outcome.error == nil)
            #expect(outcome.frames.count == 1)
            #expect(outcome.frames.first?.payload.array == payload)
        }
    }

    @Test(arguments: [16, 64])
    func parse_whenLengthIsNotMinimallyEncoded_acceptsIt(encoding: Int) {
        let bytes = makeFrameBytes(opcode: 1, payload: Array("hello".utf8), mask: testMask, lengthEncoding: encoding)
        let outcome = runStream(bytes)
        #expect(outcome.error == nil)
        #expect(outcome.events == [.text(ByteBuffer(string: "hello"))])
    }

    @Test func parse_whenSeveralFramesInOneInput_returnsOneFrameAtATimeWithItsLength() throws {
        let first = makeFrameBytes(opcode: 1, payload: Array("abc".utf8), mask: testMask)
        let second = makeFrameBytes(opcode: 9, payload: [], mask: testMask)
        let third = makeFrameBytes(opcode: 2, payload: patternBytes(200), mask: testMask)
        let stream = first + second + third
        var parser = WebSocketFrameParser(maxFrameSize: 1000, requireMaskedFrames: true)
        var offset = 0
        var lengths: [Int] = []
        try stream.withUnsafeBytes { raw in
            while offset < raw.count {
                let (frame, consumed) = try parser.next(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                #expect(frame != nil)
                lengths.append(consumed)
                offset += consumed
            }
        }
        #expect(lengths == [first.count, second.count, third.count])
        #expect(!parser.hasPartialFrame)
    }

    @Test func parse_whenInputIsEmpty_consumesNothing() throws {
        var parser = WebSocketFrameParser(maxFrameSize: 1000, requireMaskedFrames: true)
        let result = try parser.next(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(result.frame == nil)
        #expect(result.consumed == 0)
    }

    @Test func parse_whenInputIsSplitAnywhere_producesTheSameFrames() {
        // Masked frames of assorted sizes and every opcode, so that every header form, every mask
        // phase and every control/data mix is cut at every byte.
        var stream: [UInt8] = []
        stream += makeFrameBytes(fin: false, opcode: 1, payload: Array("Hello, ".utf8), mask: testMask)
        stream += makeFrameBytes(opcode: 9, payload: Array("ping".utf8), mask: [1, 2, 3, 4])
        stream += makeFrameBytes(fin: false, opcode: 0, payload: [], mask: testMask)
        stream += makeFrameBytes(opcode: 0, payload: Array("world ✓ 𝄞".utf8), mask: [9, 8, 7, 6])
        stream += makeFrameBytes(opcode: 2, payload: patternBytes(131), mask: [0xFF, 0, 0xAA, 0x55])
        stream += makeFrameBytes(opcode: 10, payload: [], mask: testMask)
        stream += makeFrameBytes(opcode: 2, payload: patternBytes(37), mask: testMask, lengthEncoding: 64)
        stream += makeFrameBytes(opcode: 8, payload: [0x03, 0xE8] + Array("bye".utf8), mask: testMask)
        let reference = runStream(stream)
        #expect(reference.error == nil)
        #expect(reference.frames.count == 8)
        #expect(
            reference.events == [
                .ping(ByteBuffer(string: "ping")),
                .text(ByteBuffer(string: "Hello, world ✓ 𝄞")),
                .binary(ByteBuffer(bytes: patternBytes(131))),
                .pong(ByteBuffer()),
                .binary(ByteBuffer(bytes: patternBytes(37))),
                .close(code: .normalClosure, reason: "bye"),
            ]
        )
        for chunking in allChunkings(of: stream.count) {
            let outcome = runStream(stream, chunkSizes: chunking)
            #expect(outcome == reference, "chunk sizes \(chunking)")
        }
    }

    @Test func parse_whenLargeFrameArrivesInPieces_unmasksEachPieceWithTheRightKeyByte() {
        let payload = patternBytes(70_000, seed: 3)
        let stream = makeFrameBytes(opcode: 2, payload: payload, mask: [0x12, 0x34, 0x56, 0x78])
        for chunkSize in [1, 3, 5, 7, 1_000, 4_093, 65_536] {
            let sizes = Array(repeating: chunkSize, count: stream.count / chunkSize + 1)
            let outcome = runStream(stream, chunkSizes: sizes, assemble: false)
            #expect(outcome.error == nil)
            #expect(outcome.frames.first?.payload.array == payload, "chunk size \(chunkSize)")
        }
    }

    @Test func parse_whenFedByteByByte_keepsAPartialFrameUntilTheLastByte() throws {
        let stream = makeFrameBytes(opcode: 1, payload: Array("hi".utf8), mask: testMask)
        var parser = WebSocketFrameParser(maxFrameSize: 100, requireMaskedFrames: true)
        for (index, byte) in stream.enumerated() {
            let (frame, consumed) = try [byte].withUnsafeBytes { try parser.next($0) }
            #expect(consumed == 1)
            if index == stream.count - 1 {
                #expect(frame?.payload.array == Array("hi".utf8))
                #expect(!parser.hasPartialFrame)
            } else {
                #expect(frame == nil)
                #expect(parser.hasPartialFrame)
            }
        }
    }

    // MARK: Protocol errors

    /// Checks that `bytes` fails with `error` whole and cut at every byte, and that the error's close
    /// code is `code`.
    func expectFailure(
        _ bytes: [UInt8],
        _ error: WebSocketProtocolError,
        code: WebSocketCloseCode,
        maxFrameSize: Int = 1000,
        requireMaskedFrames: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(error.closeCode == code, sourceLocation: sourceLocation)
        for chunking in allChunkings(of: bytes.count, randomRuns: 3) {
            let outcome = runStream(
                bytes,
                chunkSizes: chunking,
                maxFrameSize: maxFrameSize,
                requireMaskedFrames: requireMaskedFrames,
                assemble: false
            )
            #expect(outcome.error == error, "chunk sizes \(chunking)", sourceLocation: sourceLocation)
            #expect(outcome.frames.isEmpty, sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [UInt8(1), 2, 4, 3, 7])
    func parse_whenReservedBitIsSet_failsWithProtocolError(rsv: UInt8) {
        let bytes = makeFrameBytes(rsv: rsv, opcode: 1, payload: Array("x".utf8), mask: testMask)
        self.expectFailure(bytes, .reservedBitsSet, code: .protocolError)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 11, 12, 13, 14, 15])
    func parse_whenOpcodeIsReserved_failsWithProtocolError(opcode: UInt8) {
        let bytes = makeFrameBytes(opcode: opcode, payload: [], mask: testMask)
        self.expectFailure(bytes, .unknownOpcode, code: .protocolError)
    }

    @Test(arguments: [UInt8(8), 9, 10])
    func parse_whenControlFrameHasFinClear_failsWithProtocolError(opcode: UInt8) {
        let bytes = makeFrameBytes(fin: false, opcode: opcode, payload: [], mask: testMask)
        self.expectFailure(bytes, .fragmentedControlFrame, code: .protocolError)
    }

    @Test(arguments: [UInt8(8), 9, 10])
    func parse_whenControlFramePayloadExceeds125Bytes_failsWithProtocolError(opcode: UInt8) {
        self.expectFailure(
            makeFrameBytes(opcode: opcode, payload: patternBytes(126), mask: testMask),
            .controlFrameTooLong,
            code: .protocolError
        )
        // Even a short payload announced with a 16-bit length is refused: the code says "over 125".
        self.expectFailure(
            makeFrameBytes(opcode: opcode, payload: patternBytes(5), mask: testMask, lengthEncoding: 16),
            .controlFrameTooLong,
            code: .protocolError
        )
    }

    @Test func parse_whenControlFrameCarries125Bytes_acceptsIt() {
        let bytes = makeFrameBytes(opcode: 9, payload: patternBytes(125), mask: testMask)
        #expect(runStream(bytes).events == [.ping(ByteBuffer(bytes: patternBytes(125)))])
    }

    @Test func parse_whenSixtyFourBitLengthHasTopBitSet_failsWithProtocolError() {
        var bytes: [UInt8] = [0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1]
        bytes += testMask
        self.expectFailure(bytes, .invalidPayloadLength, code: .protocolError, maxFrameSize: Int.max)
    }

    @Test(arguments: [126, 65_535, 65_536])
    func parse_whenFrameIsLargerThanTheLimit_failsWithMessageTooBigBeforeThePayload(length: Int) {
        // Only the header is sent: the limit must be enforced before any payload is buffered.
        let full = makeFrameBytes(opcode: 2, payload: patternBytes(length), mask: testMask)
        let headerLength = (length <= 65535 ? 4 : 10) + 4
        self.expectFailure(Array(full.prefix(headerLength)), .frameTooLarge, code: .messageTooBig, maxFrameSize: length - 1)
    }

    @Test func parse_whenFrameIsExactlyTheLimit_acceptsItAndOneMoreByteFails() {
        let limit = 300
        let exact = makeFrameBytes(opcode: 2, payload: patternBytes(limit), mask: testMask)
        #expect(runStream(exact, maxFrameSize: limit).frames.count == 1)
        let over = makeFrameBytes(opcode: 2, payload: patternBytes(limit + 1), mask: testMask)
        self.expectFailure(over, .frameTooLarge, code: .messageTooBig, maxFrameSize: limit)
        let small = makeFrameBytes(opcode: 2, payload: patternBytes(11), mask: testMask)
        self.expectFailure(small, .frameTooLarge, code: .messageTooBig, maxFrameSize: 10)
    }

    @Test func parse_whenServerReceivesUnmaskedFrame_failsWithProtocolError() {
        let bytes = makeFrameBytes(opcode: 1, payload: Array("hi".utf8))
        self.expectFailure(bytes, .unmaskedFrame, code: .protocolError, requireMaskedFrames: true)
    }

    @Test func parse_whenClientReceivesMaskedFrame_failsWithProtocolError() {
        let bytes = makeFrameBytes(opcode: 1, payload: Array("hi".utf8), mask: testMask)
        self.expectFailure(bytes, .maskedFrame, code: .protocolError, requireMaskedFrames: false)
    }

    @Test func parse_afterAnError_throwsTheSameErrorAgain() {
        var parser = WebSocketFrameParser(maxFrameSize: 100, requireMaskedFrames: true)
        let bad = makeFrameBytes(opcode: 3, payload: [], mask: testMask)
        let good = makeFrameBytes(opcode: 1, payload: [], mask: testMask)
        #expect(throws: WebSocketProtocolError.unknownOpcode) {
            _ = try bad.withUnsafeBytes { try parser.next($0) }
        }
        #expect(throws: WebSocketProtocolError.unknownOpcode) {
            _ = try good.withUnsafeBytes { try parser.next($0) }
        }
    }

    @Test func parse_whenHeaderErrorIsInFirstByte_failsBeforeTheSecondArrives() {
        var parser = WebSocketFrameParser(maxFrameSize: 100, requireMaskedFrames: true)
        #expect(throws: WebSocketProtocolError.reservedBitsSet) {
            _ = try [UInt8(0xC1)].withUnsafeBytes { try parser.next($0) }
        }
    }
}
