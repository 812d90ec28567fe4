import IOCore
import JSON
import SocketIOCore
import Testing

@Suite struct SocketIODecodingTests {
    /// Every packet form of the specification's examples and of the official suite (client side).
    @Test(arguments: [
        ("0", SocketIOPacket(type: .connect)),
        ("0{\"token\":\"123\"}", SocketIOPacket(type: .connect, data: json(#"{"token":"123"}"#))),
        ("0/custom,", SocketIOPacket(type: .connect, namespace: "/custom")),
        ("0/custom", SocketIOPacket(type: .connect, namespace: "/custom")),
        (
            "0/custom,{\"token\":\"abc\"}",
            SocketIOPacket(type: .connect, namespace: "/custom", data: json(#"{"token":"abc"}"#))
        ),
        ("0/random", SocketIOPacket(type: .connect, namespace: "/random")),
        (
            "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
            SocketIOPacket(type: .connect, namespace: "/admin", data: json(#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#))
        ),
        ("1", SocketIOPacket(type: .disconnect)),
        ("1/admin,", SocketIOPacket(type: .disconnect, namespace: "/admin")),
        ("1/custom", SocketIOPacket(type: .disconnect, namespace: "/custom")),
        ("2[\"foo\"]", SocketIOPacket(type: .event, data: json(#"["foo"]"#))),
        ("2/admin,[\"bar\"]", SocketIOPacket(type: .event, namespace: "/admin", data: json(#"["bar"]"#))),
        ("212[\"foo\"]", SocketIOPacket(type: .event, id: 12, data: json(#"["foo"]"#))),
        (
            "2[\"message\",1,\"2\",{\"3\":[true]}]",
            SocketIOPacket(type: .event, data: json(#"["message",1,"2",{"3":[true]}]"#))
        ),
        (
            "2456[\"message-with-ack\",1,\"2\",{\"3\":[false]}]",
            SocketIOPacket(type: .event, id: 456, data: json(#"["message-with-ack",1,"2",{"3":[false]}]"#))
        ),
        (
            "2[\"message\",\"message to main namespace\"]",
            SocketIOPacket(type: .event, data: json(#"["message","message to main namespace"]"#))
        ),
        (
            "2[42,\"numeric event names are accepted\"]",
            SocketIOPacket(type: .event, data: json(#"[42,"numeric event names are accepted"]"#))
        ),
        ("2 [\"spaces\"] ", SocketIOPacket(type: .event, data: json(#"["spaces"]"#))),
        ("2/a,0[\"zero id\"]", SocketIOPacket(type: .event, namespace: "/a", id: 0, data: json(#"["zero id"]"#))),
        ("3/admin,13[\"bar\"]", SocketIOPacket(type: .ack, namespace: "/admin", id: 13, data: json(#"["bar"]"#))),
        ("3456[1,\"2\",{\"3\":[false]}]", SocketIOPacket(type: .ack, id: 456, data: json(#"[1,"2",{"3":[false]}]"#))),
        ("31[]", SocketIOPacket(type: .ack, id: 1, data: json("[]"))),
        ("3[]", SocketIOPacket(type: .ack, data: json("[]"))),
        ("37", SocketIOPacket(type: .ack, id: 7)),
        (
            "4{\"message\":\"Not authorized\"}",
            SocketIOPacket(type: .connectError, data: json(#"{"message":"Not authorized"}"#))
        ),
        (
            "4/random,{\"message\":\"Invalid namespace\"}",
            SocketIOPacket(type: .connectError, namespace: "/random", data: json(#"{"message":"Invalid namespace"}"#))
        ),
        ("4\"plain\"", SocketIOPacket(type: .connectError, data: .string("plain"))),
        ("41", SocketIOPacket(type: .connectError, id: 1)),
        (
            "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
            SocketIOPacket(type: .binaryEvent, data: json(#"["baz",{"_placeholder":true,"num":0}]"#), attachments: 1)
        ),
        (
            "52-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
            SocketIOPacket(
                type: .binaryEvent,
                data: json(#"["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
                attachments: 2
            )
        ),
        (
            "52-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
            SocketIOPacket(
                type: .binaryEvent,
                id: 789,
                data: json(#"["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
                attachments: 2
            )
        ),
        (
            "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]",
            SocketIOPacket(
                type: .binaryAck,
                id: 15,
                data: json(#"["bar",{"_placeholder":true,"num":0}]"#),
                attachments: 1
            )
        ),
        (
            "510-/x,3[\"many\"]",
            SocketIOPacket(type: .binaryEvent, namespace: "/x", id: 3, data: json(#"["many"]"#), attachments: 10)
        ),
        ("50-[\"none\"]", SocketIOPacket(type: .binaryEvent, data: json(#"["none"]"#), attachments: 0)),
        (
            "2/ünï,[\"utf8 namespace\"]",
            SocketIOPacket(type: .event, namespace: "/ünï", data: json(#"["utf8 namespace"]"#))
        ),
        ("2/,[\"slash only\"]", SocketIOPacket(type: .event, namespace: "/", data: json(#"["slash only"]"#))),
        (
            "29007199254740991[\"max id\"]",
            SocketIOPacket(type: .event, id: 9_007_199_254_740_991, data: json(#"["max id"]"#))
        ),
    ])
    func decode_whenPacketIsValid_returnsItsFields(wire: String, expected: SocketIOPacket) throws {
        #expect(try decode(wire) == expected)
    }

    /// Each validation rule, with the reference's verdict (any throw = invalid).
    @Test(arguments: [
        ("", SocketIODecodeError.emptyPacket),
        ("abc", .invalidPacketType),
        ("7[\"x\"]", .invalidPacketType),
        ("/", .invalidPacketType),
        ("2{}", .invalidPayload),
        ("2abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]", .invalidJSON(.unexpectedCharacter)),
        ("2", .missingPayload),
        ("212", .missingPayload),
        ("2[]", .invalidPayload),
        ("2[null]", .invalidPayload),
        ("2[true]", .invalidPayload),
        ("2[[\"nested\"]]", .invalidPayload),
        ("2\"str\"", .invalidPayload),
        ("2[\"connect\"]", .reservedEventName),
        ("2[\"connect_error\"]", .reservedEventName),
        ("2[\"disconnect\",1]", .reservedEventName),
        ("2[\"disconnecting\"]", .reservedEventName),
        ("2[\"newListener\"]", .reservedEventName),
        ("2/a,[\"removeListener\"]", .reservedEventName),
        ("0[]", .invalidPayload),
        ("0null", .invalidPayload),
        ("0\"token\"", .invalidPayload),
        ("0/custom,[1]", .invalidPayload),
        ("1{}", .invalidPayload),
        ("1/admin,\"x\"", .invalidPayload),
        ("3{}", .invalidPayload),
        ("31\"x\"", .invalidPayload),
        ("4[]", .invalidPayload),
        ("4true", .invalidPayload),
        ("5[\"x\"]", .invalidAttachmentCount),
        ("5-[\"x\"]", .invalidAttachmentCount),
        ("51[\"x\"]", .invalidAttachmentCount),
        ("51", .invalidAttachmentCount),
        ("5a-[\"x\"]", .invalidAttachmentCount),
        ("611-1[]", .tooManyAttachments),
        ("51000-[\"x\"]", .tooManyAttachments),
        ("599999999999999999999-[\"x\"]", .tooManyAttachments),
        ("51-{}", .invalidPayload),
        ("29007199254740992[\"x\"]", .invalidAckID),
        ("212345678901234567[\"x\"]", .invalidAckID),
        ("2999999999999999999999999[\"x\"]", .invalidAckID),
        ("2[\"x\"", .invalidJSON(.unexpectedEndOfInput)),
        ("2[\"x\"]]", .invalidJSON(.trailingCharacters)),
        ("2[\"x\",]", .invalidJSON(.unexpectedCharacter)),
        ("2/custom,", .missingPayload),
        ("2/custom,x", .invalidJSON(.unexpectedCharacter)),
    ])
    func decode_whenPacketBreaksARule_throwsThatError(wire: String, expected: SocketIODecodeError) {
        #expect(decodeError(wire) == expected)
    }

    @Test func decode_whenNamespaceLongerThanLimit_throwsNamespaceTooLong() throws {
        let limits = SocketIODecoderLimits(maxNamespaceLength: 8)
        #expect(try decode("2/1234567,[\"x\"]", limits: limits).namespace == "/1234567")
        #expect(decodeError("2/12345678,[\"x\"]", limits: limits) == .namespaceTooLong)
        #expect(decodeError("0/" + String(repeating: "n", count: 1_000_000), limits: limits) == .namespaceTooLong)
    }

    @Test func decode_whenNamespaceIsNotUTF8_throwsInvalidNamespace() {
        let bytes = ByteBuffer(bytes: Array("2/a".utf8) + [0xFF, 0xFE] + Array(",[\"x\"]".utf8))
        #expect(throws: SocketIODecodeError.invalidNamespace) { try SocketIOPacket.decode(text: bytes) }
    }

    @Test func decode_whenAttachmentLimitRaised_acceptsUpToIt() throws {
        let limits = SocketIODecoderLimits(maxAttachments: 3)
        #expect(try decode("53-[\"x\"]", limits: limits).attachments == 3)
        #expect(decodeError("54-[\"x\"]", limits: limits) == .tooManyAttachments)
    }

    @Test func decode_whenJSONLimitsExceeded_throwsInvalidJSON() {
        let limits = SocketIODecoderLimits(json: JSONLimits(maxDepth: 3))
        #expect(decodeError("2[\"x\",[[1]]]", limits: limits) == nil)
        let error = decodeError("2[\"x\",[[[1]]]]", limits: limits)
        #expect(error == .invalidJSON(.depthLimitExceeded))
        #expect(error?.jsonError == .depthLimitExceeded)
    }

    @Test func decode_whenBufferWasPartlyRead_decodesOnlyUnreadBytes() throws {
        var buffer = ByteBuffer(string: "42[\"echo\",\"hello\"]")
        buffer.moveReaderIndex(forwardBy: 1)  // the Engine.IO message type
        let packet = try SocketIOPacket.decode(text: buffer)
        #expect(packet.eventName == "echo")
        #expect(Array(packet.arguments) == ["hello"])
    }

    @Test func accessors_whenEventOrAck_giveNameAndArguments() throws {
        let event = try decode("21[\"echo\",1,{\"a\":null}]")
        #expect(event.eventName == "echo")
        #expect(Array(event.arguments) == [1, json(#"{"a":null}"#)])
        let ack = try decode("31[1,2]")
        #expect(ack.eventName == nil)
        #expect(Array(ack.arguments) == [1, 2])
        #expect(try decode("0{}").arguments.isEmpty)
        #expect(try decode("2[7]").eventName == nil)
    }

    @Test func errors_whenDescribed_neverContainPayloadText() {
        let secret = "2[\"secret-customer-text\" oops]"
        let error = decodeError(secret)
        #expect(error != nil)
        #expect(error.map { !String(describing: $0).contains("secret") } == true)
        #expect(error?.shortDescription == "invalid_json")
        let packet = SocketIOPacket.event(
            namespace: "/n",
            name: "secret-customer-text",
            arguments: ["more secret"],
            id: 3
        )
        #expect(!packet.description.contains("secret"))
    }
}
