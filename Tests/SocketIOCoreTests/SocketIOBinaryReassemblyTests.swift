import IOCore
import JSON
import SocketIOCore
import Testing

@Suite struct SocketIOBinaryReassemblyTests {
    let first = ByteBuffer(bytes: [1, 2, 3])
    let second = ByteBuffer(bytes: [4, 5, 6])

    @Test func decoder_whenSuiteBinaryEventAndItsAttachmentsArrive_returnsEventWithBinaryInPlace() throws {
        var decoder = SocketIODecoder()
        let header = #"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        #expect(try decoder.decode(text: ByteBuffer(string: header)) == nil)
        #expect(decoder.isAwaitingAttachments)
        #expect(try decoder.decode(binary: self.first) == nil)
        let packet = try decoder.decode(binary: self.second)
        #expect(
            packet
                == SocketIOPacket(type: .event, data: .array(["message", .binary(self.first), .binary(self.second)]))
        )
        #expect(!decoder.isAwaitingAttachments)
        // The decoder is ready for the next packet.
        #expect(
            try decoder.decode(text: ByteBuffer(string: #"2["next"]"#)) == SocketIOPacket(type: .event, data: ["next"])
        )
    }

    @Test func decoder_whenBinaryAckWithId_returnsAckWithIdAndBinary() throws {
        var decoder = SocketIODecoder()
        let header = #"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        #expect(try decoder.decode(text: ByteBuffer(string: header)) == nil)
        #expect(try decoder.decode(binary: self.first) == nil)
        let packet = try decoder.decode(binary: self.second)
        #expect(
            packet == SocketIOPacket(type: .ack, id: 789, data: .array([.binary(self.first), .binary(self.second)]))
        )
    }

    @Test func reassembler_whenPlaceholdersNestedOutOfOrderOrRepeated_putsEachAttachmentWhereNumSays() throws {
        var reassembler = SocketIOBinaryReassembler()
        let header = try decode(
            #"52-/chat,["file",{"meta":{"b":{"_placeholder":true,"num":1},"a":[{"num":0,"_placeholder":true}]},"again":{"_placeholder":true,"num":1}}]"#
        )
        #expect(try reassembler.receive(header) == nil)
        #expect(reassembler.remainingAttachments == 2)
        #expect(try reassembler.receive(attachment: self.first) == nil)
        #expect(reassembler.remainingAttachments == 1)
        let packet = try reassembler.receive(attachment: self.second)
        var meta = JSONObject()
        meta["b"] = .binary(self.second)
        meta["a"] = .array([.binary(self.first)])
        var object = JSONObject()
        object["meta"] = .object(meta)
        object["again"] = .binary(self.second)
        #expect(packet == SocketIOPacket(type: .event, namespace: "/chat", data: .array(["file", .object(object)])))
        #expect(reassembler.remainingAttachments == 0)
    }

    @Test func reassembler_whenTextPacketArrivesMidWay_throwsUnexpectedTextPacketAndResets() throws {
        var decoder = SocketIODecoder()
        #expect(
            try decoder.decode(
                text: ByteBuffer(string: #"52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
            ) == nil
        )
        #expect(try decoder.decode(binary: self.first) == nil)
        #expect(throws: SocketIODecodeError.unexpectedTextPacket) {
            try decoder.decode(text: ByteBuffer(string: #"2["x"]"#))
        }
        #expect(!decoder.isAwaitingAttachments)

        // The same through the reassembler alone.
        var reassembler = SocketIOBinaryReassembler()
        #expect(try reassembler.receive(decode(#"51-["m",{"_placeholder":true,"num":0}]"#)) == nil)
        #expect(throws: SocketIODecodeError.unexpectedTextPacket) { try reassembler.receive(decode(#"2["x"]"#)) }
    }

    @Test func reassembler_whenAttachmentArrivesWithNothingPending_throwsUnexpectedBinaryPacket() throws {
        var decoder = SocketIODecoder()
        #expect(throws: SocketIODecodeError.unexpectedBinaryPacket) { try decoder.decode(binary: self.first) }
        // An extra attachment after a complete packet.
        #expect(try decoder.decode(text: ByteBuffer(string: #"51-["m",{"_placeholder":true,"num":0}]"#)) == nil)
        #expect(try decoder.decode(binary: self.first) != nil)
        #expect(throws: SocketIODecodeError.unexpectedBinaryPacket) { try decoder.decode(binary: self.second) }
    }

    @Test(arguments: [
        #"51-["m",{"_placeholder":true,"num":1}]"#,
        #"51-["m",{"_placeholder":true,"num":-1}]"#,
        #"51-["m",{"_placeholder":true,"num":0.5}]"#,
        #"51-["m",{"_placeholder":true,"num":"0"}]"#,
        #"51-["m",{"_placeholder":true}]"#,
        #"51-["m",{"_placeholder":true,"num":0,"extra":1}]"#,
        #"51-["m",{"_placeholder":true,"number":0}]"#,
        #"52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":2}]"#,
        #"51-["m",{"_placeholder":true,"num":99999999999999999999999}]"#,
    ])
    func reassembler_whenPlaceholderIsMalformedOrOutOfRange_throwsInvalidPlaceholder(header: String) throws {
        var decoder = SocketIODecoder()
        let packet = try decode(header)
        #expect(try decoder.decode(text: ByteBuffer(string: header)) == nil)
        for _ in 0..<(packet.attachments - 1) {
            #expect(try decoder.decode(binary: self.first) == nil)
        }
        #expect(throws: SocketIODecodeError.invalidPlaceholder) { try decoder.decode(binary: self.second) }
        #expect(!decoder.isAwaitingAttachments)
    }

    @Test func reassembler_whenPlaceholderNumIsIntegralFloat_acceptsItAsJavaScriptDoes() throws {
        var decoder = SocketIODecoder()
        #expect(try decoder.decode(text: ByteBuffer(string: #"51-["m",{"num":0.0,"_placeholder":true}]"#)) == nil)
        #expect(
            try decoder.decode(binary: self.first) == SocketIOPacket(type: .event, data: ["m", .binary(self.first)])
        )
    }

    @Test func reassembler_whenPlaceholderFlagIsNotTrue_leavesObjectAsData() throws {
        var decoder = SocketIODecoder()
        let header = #"51-["m",{"_placeholder":false,"num":0},{"_placeholder":"true"},{"_placeholder":true,"num":0}]"#
        #expect(try decoder.decode(text: ByteBuffer(string: header)) == nil)
        let packet = try decoder.decode(binary: self.first)
        #expect(
            packet?.data
                == .array([
                    "m", json(#"{"_placeholder":false,"num":0}"#), json(#"{"_placeholder":"true"}"#),
                    .binary(self.first),
                ])
        )
    }

    @Test func decoder_whenPlainPacketHoldsPlaceholderShape_leavesItAsData() throws {
        var decoder = SocketIODecoder()
        let packet = try decoder.decode(text: ByteBuffer(string: #"2["m",{"_placeholder":true,"num":0}]"#))
        #expect(packet?.data == json(#"["m",{"_placeholder":true,"num":0}]"#))
    }

    @Test func decoder_whenBinaryPacketAnnouncesNoAttachments_completesAtOnce() throws {
        var decoder = SocketIODecoder()
        #expect(
            try decoder.decode(text: ByteBuffer(string: #"50-["m",1]"#))
                == SocketIOPacket(type: .event, data: ["m", 1])
        )
        #expect(try decoder.decode(text: ByteBuffer(string: #"60-3[]"#)) == SocketIOPacket(type: .ack, id: 3, data: []))
        #expect(throws: SocketIODecodeError.invalidPlaceholder) {
            try decoder.decode(text: ByteBuffer(string: #"50-["m",{"_placeholder":true,"num":0}]"#))
        }
        #expect(!decoder.isAwaitingAttachments)
    }

    @Test func decoder_whenInvalidText_throwsAndStaysIdle() throws {
        var decoder = SocketIODecoder()
        #expect(throws: SocketIODecodeError.invalidPacketType) { try decoder.decode(text: ByteBuffer(string: "abc")) }
        #expect(try decoder.decode(text: ByteBuffer(string: "0")) == SocketIOPacket(type: .connect))
    }

    @Test func reset_whenPacketPending_dropsIt() throws {
        var decoder = SocketIODecoder()
        #expect(try decoder.decode(text: ByteBuffer(string: #"51-["m",{"_placeholder":true,"num":0}]"#)) == nil)
        decoder.reset()
        #expect(!decoder.isAwaitingAttachments)
        #expect(throws: SocketIODecodeError.unexpectedBinaryPacket) { try decoder.decode(binary: self.first) }
    }
}
