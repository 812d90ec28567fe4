import IOCore
import JSON
import SocketIOCore
import Testing
import TestKit

@Suite struct SocketIOEncodingTests {
    /// The specification's examples and the official suite's server packets.
    @Test(arguments: [
        (SocketIOPacket(type: .connect), "0"),
        (
            SocketIOPacket.connect(namespace: "/admin", data: ["sid": "oSO0OpakMV_3jnilAAAA"]),
            #"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
        ),
        (SocketIOPacket.connect(data: ["sid": "abc"]), #"0{"sid":"abc"}"#),
        (SocketIOPacket(type: .connectError, data: ["message": "Not authorized"]), #"4{"message":"Not authorized"}"#),
        (
            SocketIOPacket.connectError(namespace: "/random", message: "Invalid namespace"),
            #"4/random,{"message":"Invalid namespace"}"#
        ),
        (SocketIOPacket.connectError(message: "no", data: ["code": 7]), #"4{"message":"no","data":{"code":7}}"#),
        (SocketIOPacket.event(name: "foo"), #"2["foo"]"#),
        (SocketIOPacket.event(namespace: "/admin", name: "bar"), #"2/admin,["bar"]"#),
        (SocketIOPacket.event(name: "foo", id: 12), #"212["foo"]"#),
        (SocketIOPacket.event(name: "auth", arguments: [[:]]), #"2["auth",{}]"#),
        (
            SocketIOPacket.event(namespace: "/custom", name: "auth", arguments: [["token": "abc"]]),
            #"2/custom,["auth",{"token":"abc"}]"#
        ),
        (
            SocketIOPacket.event(name: "message-back", arguments: [1, "2", ["3": [true]]]),
            #"2["message-back",1,"2",{"3":[true]}]"#
        ),
        (SocketIOPacket.ack(namespace: "/admin", id: 13, arguments: ["bar"]), #"3/admin,13["bar"]"#),
        (SocketIOPacket.ack(id: 456, arguments: [1, "2", ["3": [false]]]), #"3456[1,"2",{"3":[false]}]"#),
        (SocketIOPacket.ack(id: 0, arguments: []), "30[]"),
        (SocketIOPacket(type: .disconnect), "1"),
        (SocketIOPacket.disconnect(namespace: "/admin"), "1/admin,"),
        (SocketIOPacket(type: .connect, namespace: ""), "0"),
        (SocketIOPacket(type: .event, data: .null), "2"),
        (SocketIOPacket(type: .binaryEvent, data: ["no binary"], attachments: 3), #"2["no binary"]"#),
        (SocketIOPacket(type: .binaryAck, id: 1, data: [1]), "31[1]"),
        (
            SocketIOPacket(type: .connect, data: ["raw": .binary(ByteBuffer(bytes: [1, 255]))]),
            #"0{"raw":{"type":"Buffer","data":[1,255]}}"#
        ),
        (SocketIOPacket.event(name: "q\"uote\n"), #"2["q\"uote\n"]"#),
    ])
    func encode_whenPacketHasNoAttachments_writesReferenceText(packet: SocketIOPacket, wire: String) {
        let (text, attachments) = encode(packet)
        #expect(text == wire)
        #expect(attachments.isEmpty)
    }

    @Test func encode_whenEventHoldsBinary_writesBinaryEventWithPlaceholdersInDocumentOrder() {
        let packet = SocketIOPacket.event(
            name: "message-back",
            arguments: [.binary(ByteBuffer(bytes: [1, 2, 3])), .binary(ByteBuffer(bytes: [4, 5, 6]))]
        )
        let (text, attachments) = encode(packet)
        #expect(text == #"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(attachments == [[1, 2, 3], [4, 5, 6]])
    }

    @Test func encode_whenAckHoldsBinary_writesBinaryAckWithId() {
        let packet = SocketIOPacket.ack(
            id: 789,
            arguments: [.binary(ByteBuffer(bytes: [1, 2, 3])), .binary(ByteBuffer(bytes: [4, 5, 6]))]
        )
        let (text, attachments) = encode(packet)
        #expect(text == #"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        #expect(attachments == [[1, 2, 3], [4, 5, 6]])
    }

    @Test func encode_whenBinaryNestedInObjects_numbersInDocumentOrder() {
        var inner = JSONObject()
        inner["z"] = .binary(ByteBuffer(bytes: [2]))
        inner["a"] = .array([.binary(ByteBuffer(bytes: [3])), "x"])
        let packet = SocketIOPacket.event(
            namespace: "/admin",
            name: "baz",
            arguments: [.binary(ByteBuffer(bytes: [1])), .object(inner), .binary(ByteBuffer())],
            id: 15
        )
        let (text, attachments) = encode(packet)
        #expect(
            text
                == #"54-/admin,15["baz",{"_placeholder":true,"num":0},{"z":{"_placeholder":true,"num":1},"a":[{"_placeholder":true,"num":2},"x"]},{"_placeholder":true,"num":3}]"#
        )
        #expect(attachments == [[1], [2], [3], []])
    }

    @Test func encode_whenCallerBufferHasEngineIOPrefixAndAttachments_appendsAfterThem() {
        var text = ByteBuffer(string: "4")
        var attachments = [ByteBuffer(bytes: [9])]
        SocketIOPacket.event(name: "b", arguments: [.binary(ByteBuffer(bytes: [7]))]).encode(
            into: &text,
            attachments: &attachments
        )
        #expect(SocketIOCoreTests.text(text) == #"451-["b",{"_placeholder":true,"num":0}]"#)
        #expect(attachments.map(\.readableBytesArray) == [[9], [7]])
    }

    @Test func fastPaths_whenGivenTheSameContent_writeExactlyWhatTheGeneralEncoderWrites() {
        var generator = SeededGenerator(state: 11)
        for round in 0..<500 {
            let binary = round % 3 == 0
            let arguments = (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                randomValue(&generator, depth: 3, binary: binary)
            }
            let namespace = ["/", "/chat", "/ünï"].randomElement(using: &generator)!
            let id: Int? = Bool.random(using: &generator) ? Int.random(in: 0...1_000_000, using: &generator) : nil
            let name = randomString(&generator)

            var eventText = ByteBuffer()
            var eventAttachments: [ByteBuffer] = []
            SocketIOPacket.encodeEvent(
                namespace: namespace,
                name: name,
                arguments: arguments,
                id: id,
                into: &eventText,
                attachments: &eventAttachments
            )
            let event = SocketIOPacket.event(namespace: namespace, name: name, arguments: arguments, id: id).encode()
            #expect(eventText == event.text)
            #expect(eventAttachments == event.attachments)

            var ackText = ByteBuffer()
            var ackAttachments: [ByteBuffer] = []
            SocketIOPacket.encodeAck(
                namespace: namespace,
                id: id ?? 0,
                arguments: arguments,
                into: &ackText,
                attachments: &ackAttachments
            )
            let ack = SocketIOPacket.ack(namespace: namespace, id: id ?? 0, arguments: arguments).encode()
            #expect(ackText == ack.text)
            #expect(ackAttachments == ack.attachments)
        }
    }

    @Test func roundTrip_whenRandomPacketsAreEncoded_decoderGivesThemBack() throws {
        var generator = SeededGenerator(state: 5)
        var decoder = SocketIODecoder()
        for round in 0..<2000 {
            let binary = round % 2 == 0
            let namespace = ["/", "/chat", "/a/b", "/ünï"].randomElement(using: &generator)!
            let id: Int? =
                Bool.random(using: &generator) ? Int.random(in: 0...SocketIOPacket.maxAckID, using: &generator) : nil
            let arguments = (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                randomValue(&generator, depth: 3, binary: binary)
            }
            let packet: SocketIOPacket
            switch Int.random(in: 0..<5, using: &generator) {
            case 0:
                packet = .event(
                    namespace: namespace,
                    name: "e" + randomString(&generator),
                    arguments: arguments,
                    id: id
                )
            case 1: packet = .ack(namespace: namespace, id: id ?? 1, arguments: arguments)
            case 2: packet = .connect(namespace: namespace, data: Bool.random(using: &generator) ? ["token": "t"] : nil)
            case 3: packet = .disconnect(namespace: namespace)
            default: packet = .connectError(namespace: namespace, message: randomString(&generator))
            }
            let encoded = packet.encode()
            var decoded = try decoder.decode(text: encoded.text)
            for (index, attachment) in encoded.attachments.enumerated() {
                #expect(decoded == nil)
                decoded = try decoder.decode(binary: attachment)
                if index == encoded.attachments.count - 1 {
                    #expect(decoded != nil)
                }
            }
            #expect(decoded == packet)
            #expect(!decoder.isAwaitingAttachments)
        }
    }
}
