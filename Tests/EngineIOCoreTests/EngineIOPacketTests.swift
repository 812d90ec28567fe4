import EngineIOCore
import IOCore
import Testing

/// The text of a buffer, for comparisons.
func text(_ buffer: ByteBuffer) -> String {
    buffer.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
}

/// Decodes one text packet from a string.
func decodeText(_ string: String) throws(EngineIODecodeError) -> EngineIOPacket {
    try ByteBuffer(string: string).withUnsafeReadableBytes { bytes throws(EngineIODecodeError) in
        try EngineIOPacket.decode(text: bytes)
    }
}

/// The error decoding `string` throws, or nil.
func decodeError(_ string: String) -> EngineIODecodeError? {
    do {
        _ = try decodeText(string)
        return nil
    } catch {
        return error
    }
}

@Suite struct EngineIOPacketTests {
    @Test(arguments: [
        ("0{\"sid\":\"x\"}", EngineIOPacketType.open, "{\"sid\":\"x\"}"),
        ("1", .close, ""),
        ("2", .ping, ""),
        ("2probe", .ping, "probe"),
        ("3", .pong, ""),
        ("3probe", .pong, "probe"),
        ("4hello", .message, "hello"),
        ("4", .message, ""),
        ("4héllo \u{1F600}", .message, "héllo \u{1F600}"),
        ("5", .upgrade, ""),
        ("6", .noop, ""),
        ("6abc", .noop, "abc"),
        ("1bye", .close, "bye"),
    ])
    func decode_whenTextPacketHasTypeDigit_returnsTypeAndRestAsText(
        wire: String,
        type: EngineIOPacketType,
        data: String
    ) throws {
        let packet = try decodeText(wire)
        #expect(packet.type == type)
        #expect(packet.payload == .text(ByteBuffer(string: data)))
        #expect(!packet.isBinary)
        let fromWebSocket = try EngineIOPacket.decode(webSocketText: ByteBuffer(string: wire))
        #expect(fromWebSocket == packet)
    }

    @Test func decode_whenTextPacketIsBase64_returnsBinaryMessage() throws {
        let packet = try decodeText("bAQIDBA==")
        #expect(packet == EngineIOPacket(binary: ByteBuffer(bytes: [1, 2, 3, 4])))
        #expect(packet.type == .message)
        #expect(packet.isBinary)
        // The reference also accepts it as a WebSocket text message.
        #expect(try EngineIOPacket.decode(webSocketText: ByteBuffer(string: "bAQIDBA==")) == packet)
    }

    @Test func decode_whenBase64IsEmpty_returnsEmptyBinaryMessage() throws {
        #expect(try decodeText("b") == EngineIOPacket(binary: ByteBuffer()))
    }

    @Test(arguments: [
        ("", EngineIODecodeError.emptyPacket),
        ("abc", .invalidPacketType),
        ("7", .invalidPacketType),
        ("9hello", .invalidPacketType),
        ("/", .invalidPacketType),
        (" 4hello", .invalidPacketType),
        ("B AQID", .invalidPacketType),
        ("\u{1E}", .invalidPacketType),
        ("bAQIDBA=", .invalidBase64),
        ("bAQIDBA", .invalidBase64),
        ("bAQID BA==", .invalidBase64),
        ("bAQ-_BA==", .invalidBase64),
        ("bAQIDBB==", .invalidBase64),
        ("b=AAA", .invalidBase64),
    ])
    func decode_whenTextPacketIsInvalid_throwsTypedError(wire: String, expected: EngineIODecodeError) {
        #expect(decodeError(wire) == expected)
        #expect(throws: expected) { try EngineIOPacket.decode(webSocketText: ByteBuffer(string: wire)) }
    }

    @Test func decodeWebSocketBinary_whenAnyBytes_returnsBinaryMessageWithThoseBytes() {
        let bytes = ByteBuffer(bytes: [0x34, 0, 0xFF, 0x1E])
        #expect(EngineIOPacket.decode(webSocketBinary: bytes) == EngineIOPacket(binary: bytes))
        #expect(EngineIOPacket.decode(webSocketBinary: ByteBuffer()) == EngineIOPacket(binary: ByteBuffer()))
    }

    @Test func decodeWebSocketText_whenBufferWasPartlyRead_decodesOnlyUnreadBytes() throws {
        var buffer = ByteBuffer(string: "xx4hi")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try EngineIOPacket.decode(webSocketText: buffer) == .message("hi"))
    }

    @Test func encodeForWebSocket_whenTextPacket_writesDigitAndDataAsTextFrame() {
        let cases: [(EngineIOPacket, String)] = [
            (.ping, "2"), (.pong, "3"), (.probePong, "3probe"), (.noop, "6"), (.close, "1"),
            (.message("hello"), "4hello"), (.upgrade, "5"),
        ]
        for (packet, wire) in cases {
            var buffer = ByteBuffer()
            #expect(packet.encodeForWebSocket(into: &buffer) == .text)
            #expect(text(buffer) == wire)
        }
    }

    @Test func encodeForWebSocket_whenBinaryMessage_writesRawBytesAsBinaryFrame() {
        var buffer = ByteBuffer()
        #expect(EngineIOPacket(binary: ByteBuffer(bytes: [1, 2, 3, 4])).encodeForWebSocket(into: &buffer) == .binary)
        #expect(buffer.readableBytesArray == [1, 2, 3, 4])
    }

    @Test func encodeForPolling_whenBinaryMessage_writesBAndBase64() {
        var buffer = ByteBuffer()
        EngineIOPacket(binary: ByteBuffer(bytes: [1, 2, 3, 4])).encodeForPolling(into: &buffer)
        #expect(text(buffer) == "bAQIDBA==")
    }

    @Test func isProbePing_whenPingCarriesProbe_isTrueOnlyThen() throws {
        #expect(try decodeText("2probe").isProbePing)
        #expect(try !decodeText("2").isProbePing)
        #expect(try !decodeText("3probe").isProbePing)
        #expect(try !decodeText("2probes").isProbePing)
    }

    @Test func description_whenPacketHasData_showsSizeButNeverContent() {
        let packet = EngineIOPacket.message("secret customer text")
        #expect(!packet.description.contains("secret"))
        #expect(packet.description.contains("20"))
        #expect(!EngineIODecodeError.invalidBase64.description.isEmpty)
    }

    @Test func packetType_whenEveryCase_digitRoundTrips() {
        for type in EngineIOPacketType.allCases {
            #expect(EngineIOPacketType(digit: type.digit) == type)
        }
        #expect(EngineIOPacketType.allCases.map(\.digit) == Array("0123456".utf8))
        #expect(EngineIOPacketType(digit: UInt8(ascii: "7")) == nil)
        #expect(EngineIOPacketType(digit: UInt8(ascii: "b")) == nil)
    }
}
