// libFuzzer target for the Socket.IO codec: `Fuzz/run.sh SocketIOFuzz SECONDS`.
//
// Every input is used twice:
// 1. As one text packet. A packet that decodes (a binary header is completed with made-up
//    attachments) must encode back to text and attachments that decode to the same packet, and the
//    EVENT/ACK fast-path encoders must write exactly what the general encoder writes.
// 2. As a conversation: pieces cut at 0x1E, a piece starting with 0x01 being a binary message and any
//    other a text message, fed to one `SocketIODecoder`. Completed packets are never binary types and
//    carry no attachment count; after an error the decoder is reset and goes on.
// Any disagreement, a broken invariant, or a memory error (ASan) is a finding.

import IOCore
import JSON
import SocketIOCore

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("SocketIOFuzz: \(message)")
}

/// Small limits so that the fuzzer reaches them.
let limits = SocketIODecoderLimits(maxAttachments: 4, maxNamespaceLength: 16, json: JSONLimits(maxDepth: 16))

/// Decodes `encoded` (text then attachments) with a fresh decoder.
func decodeEncoded(_ encoded: SocketIOEncodedPacket) -> SocketIOPacket? {
    var decoder = SocketIODecoder(limits: SocketIODecoderLimits(maxAttachments: 999, json: JSONLimits(maxDepth: 16)))
    do {
        var packet = try decoder.decode(text: encoded.text)
        for attachment in encoded.attachments {
            if packet != nil {
                fuzzFailure("a packet completed before its last attachment")
            }
            packet = try decoder.decode(binary: attachment)
        }
        return packet
    } catch {
        fuzzFailure("an encoded packet does not decode: \(error)")
    }
}

/// Checks decode → encode → decode for one packet, and the fast paths.
func fuzzRoundTrip(_ bytes: UnsafeRawBufferPointer) {
    guard let header = try? SocketIOPacket.decode(text: bytes, limits: limits) else {
        return
    }
    var reassembler = SocketIOBinaryReassembler()
    var packet: SocketIOPacket?
    do {
        packet = try reassembler.receive(header)
        var index: UInt8 = 0
        while packet == nil {
            packet = try reassembler.receive(attachment: ByteBuffer(bytes: [index, 0xAB]))
            index &+= 1
        }
    } catch {
        return  // a bad placeholder
    }
    guard let packet else {
        fuzzFailure("unreachable: the loop ends with a packet")
    }
    if packet.type.isBinary || packet.attachments != 0 {
        fuzzFailure("a completed packet is still binary")
    }
    let encoded = packet.encode()
    guard decodeEncoded(encoded) == packet else {
        fuzzFailure("a decoded packet does not survive encode/decode")
    }

    var text = ByteBuffer()
    var attachments: [ByteBuffer] = []
    switch packet.type {
    case .event:
        guard let name = packet.eventName else { return }
        SocketIOPacket.encodeEvent(
            namespace: packet.namespace,
            name: name,
            arguments: packet.arguments,
            id: packet.id,
            into: &text,
            attachments: &attachments
        )
    case .ack:
        guard let id = packet.id, packet.data != nil else { return }
        SocketIOPacket.encodeAck(
            namespace: packet.namespace,
            id: id,
            arguments: packet.arguments,
            into: &text,
            attachments: &attachments
        )
    default:
        return
    }
    if text != encoded.text || attachments != encoded.attachments {
        fuzzFailure("a fast-path encoder disagrees with the general encoder")
    }
}

/// Feeds the input as a sequence of messages to one decoder.
func fuzzConversation(_ bytes: UnsafeRawBufferPointer) {
    var decoder = SocketIODecoder(limits: limits)
    for piece in bytes.split(separator: 0x1E, omittingEmptySubsequences: false) {
        do {
            let packet: SocketIOPacket?
            if piece.first == 0x01 {
                packet = try decoder.decode(binary: ByteBuffer(bytes: piece.dropFirst()))
            } else {
                packet = try decoder.decode(text: UnsafeRawBufferPointer(rebasing: piece))
            }
            if let packet {
                if packet.type.isBinary || packet.attachments != 0 || decoder.isAwaitingAttachments {
                    fuzzFailure("a completed packet is still binary, or the decoder still waits")
                }
            }
        } catch {
            if decoder.isAwaitingAttachments {
                fuzzFailure("the decoder waits for attachments after an error")
            }
            _ = error.shortDescription
            decoder.reset()
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    fuzzRoundTrip(bytes)
    fuzzConversation(bytes)
    return 0
}
