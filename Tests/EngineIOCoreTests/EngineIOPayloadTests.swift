import EngineIOCore
import IOCore
import Testing
import TestKit

/// Decodes a payload from a string, all or nothing.
func decodePayload(_ string: String, maxPackets: Int = 100) throws(EngineIODecodeError) -> [EngineIOPacket] {
    try EngineIOPayload.decode(ByteBuffer(string: string), maxPackets: maxPackets)
}

/// Encodes packets as one polling payload.
func encodePayload(_ packets: [EngineIOPacket]) -> String {
    var buffer = ByteBuffer()
    EngineIOPayload.encode(packets: packets, into: &buffer)
    return text(buffer)
}

@Suite struct EngineIOPayloadTests {
    @Test func decode_whenSuitePayloads_splitsIntoTheirPackets() throws {
        #expect(try decodePayload("4hello") == [.message("hello")])
        #expect(
            try decodePayload("4test1\u{1E}4test2\u{1E}4test3") == [
                .message("test1"), .message("test2"), .message("test3"),
            ]
        )
        #expect(
            try decodePayload("4hello\u{1E}bAQIDBA==") == [
                .message("hello"), .binaryMessage(ByteBuffer(bytes: [1, 2, 3, 4])),
            ]
        )
        #expect(try decodePayload("3") == [.pong])
        #expect(try decodePayload("1") == [.close])
    }

    @Test func decode_whenBinaryAndTextMixed_keepsOrder() throws {
        let payload = "bAQ==\u{1E}4a\u{1E}b\u{1E}6\u{1E}bAAEC\u{1E}3probe"
        #expect(
            try decodePayload(payload) == [
                .binaryMessage(ByteBuffer(bytes: [1])), .message("a"), .binaryMessage(ByteBuffer()), .noop,
                .binaryMessage(ByteBuffer(bytes: [0, 1, 2])), .probePong,
            ]
        )
    }

    @Test(arguments: [
        ("", EngineIODecodeError.emptyPacket),
        ("abc", .invalidPacketType),
        ("4hello\u{1E}", .emptyPacket),
        ("\u{1E}4hello", .emptyPacket),
        ("4a\u{1E}\u{1E}4b", .emptyPacket),
        ("4a\u{1E}x", .invalidPacketType),
        ("4a\u{1E}b!!!!", .invalidBase64),
    ])
    func decode_whenAnyPacketIsInvalid_throwsItsError(payload: String, expected: EngineIODecodeError) {
        #expect(throws: expected) { try decodePayload(payload) }
    }

    @Test func decodeUntilError_whenInvalidPacketFollowsValidOnes_returnsThePrefixAndTheError() {
        let result = EngineIOPayload.decodeUntilError(ByteBuffer(string: "4a\u{1E}2\u{1E}zz\u{1E}4c"), maxPackets: 10)
        #expect(result.packets == [.message("a"), .ping])
        #expect(result.error == .invalidPacketType)
        let whole = EngineIOPayload.decodeUntilError(ByteBuffer(string: "4a\u{1E}4b"), maxPackets: 10)
        #expect(whole == EngineIOPayload.PartialDecoding(packets: [.message("a"), .message("b")], error: nil))
    }

    @Test func decode_whenMorePacketsThanTheLimit_throwsTooManyPackets() throws {
        #expect(try decodePayload("6\u{1E}6\u{1E}6", maxPackets: 3).count == 3)
        #expect(throws: EngineIODecodeError.tooManyPackets) {
            try decodePayload("6\u{1E}6\u{1E}6\u{1E}6", maxPackets: 3)
        }
        // The count is checked before anything is decoded, so a bad packet after the limit still
        // reports the limit.
        #expect(throws: EngineIODecodeError.tooManyPackets) {
            try decodePayload("x\u{1E}6\u{1E}6\u{1E}6", maxPackets: 3)
        }
        let partial = EngineIOPayload.decodeUntilError(ByteBuffer(string: "6\u{1E}6\u{1E}6\u{1E}6"), maxPackets: 3)
        #expect(partial.packets == [.noop, .noop, .noop])
        #expect(partial.error == .tooManyPackets)
    }

    @Test func packetCount_whenSeparatorsPresent_isOneMoreThanSeparators() {
        for (payload, count) in [("", 1), ("4a", 1), ("\u{1E}", 2), ("4a\u{1E}4b\u{1E}", 3)] {
            var payload = payload
            #expect(payload.withUTF8 { EngineIOPayload.packetCount(UnsafeRawBufferPointer($0)) } == count)
        }
    }

    @Test func encode_whenPacketsMixed_joinsWithSeparatorAndBase64sBinary() {
        #expect(encodePayload([]) == "")
        #expect(encodePayload([.ping]) == "2")
        #expect(
            encodePayload([.message("hello"), .binaryMessage(ByteBuffer(bytes: [1, 2, 3, 4]))])
                == "4hello\u{1E}bAQIDBA=="
        )
        #expect(encodePayload([.noop, .close]) == "6\u{1E}1")
        #expect(encodePayload([.binaryMessage(ByteBuffer())]) == "b")
    }

    @Test func iterator_whenPayloadIsWalked_yieldsPacketsThenNilAndStopsAfterAnError() throws {
        var payload = Array("4a\u{1E}6".utf8)
        try payload.withUnsafeBytes { (bytes) throws in
            var iterator = EngineIOPayload.Iterator(bytes)
            #expect(try iterator.next() == .message("a"))
            #expect(try iterator.next() == .noop)
            #expect(try iterator.next() == nil)
            #expect(try iterator.next() == nil)
        }
        payload = Array("x\u{1E}6".utf8)
        payload.withUnsafeBytes { bytes in
            var iterator = EngineIOPayload.Iterator(bytes)
            #expect(throws: EngineIODecodeError.invalidPacketType) { try iterator.next() }
            #expect((try? iterator.next()) == .some(nil))
        }
    }

    /// A random valid packet: any type with text free of separators, or a binary message.
    static func randomPacket(_ generator: inout SeededGenerator) -> EngineIOPacket {
        let length = Int.random(in: 0...20, using: &generator)
        if Bool.random(using: &generator) {
            return .binaryMessage(
                ByteBuffer(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            )
        }
        let type = EngineIOPacketType.allCases.randomElement(using: &generator)!
        // Any byte but the separator; text is not validated as UTF-8 at this layer.
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }.map {
            $0 == 0x1E ? 0x41 : $0
        }
        return EngineIOPacket(type: type, text: ByteBuffer(bytes: bytes))
    }

    @Test func roundTrip_whenRandomPacketsAreEncoded_decodeGivesThemBack() throws {
        var generator = SeededGenerator(state: 42)
        for _ in 0..<2000 {
            let packets = (0..<Int.random(in: 1...8, using: &generator)).map { _ in Self.randomPacket(&generator) }
            var buffer = ByteBuffer()
            EngineIOPayload.encode(packets: packets, into: &buffer)
            #expect(try EngineIOPayload.decode(buffer, maxPackets: 8) == packets)
            for packet in packets {
                var frame = ByteBuffer()
                let kind = packet.encodeForWebSocket(into: &frame)
                let decoded =
                    try kind == .text
                    ? EngineIOPacket.decode(webSocketText: frame) : EngineIOPacket.decode(webSocketBinary: frame)
                #expect(decoded == packet)
            }
        }
    }

    @Test func decode_whenRandomBytes_neverCrashesAndAgreesWithPrefixDecoding() {
        var generator = SeededGenerator(state: 7)
        let alphabet = Array("0123456b4AQID=\u{1E}x/+".utf8)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }
            let buffer = ByteBuffer(bytes: bytes)
            let partial = EngineIOPayload.decodeUntilError(buffer, maxPackets: 100)
            do {
                let all = try EngineIOPayload.decode(buffer, maxPackets: 100)
                #expect(partial.error == nil)
                #expect(partial.packets == all)
            } catch {
                #expect(partial.error == error)
            }
        }
    }
}
