import IOCore
import JSON
import SocketIOCore
import TestKit

/// The text of a buffer.
func text(_ buffer: ByteBuffer) -> String {
    buffer.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
}

/// Parses test JSON; the literal is known to be valid.
func json(_ string: String) -> JSONValue {
    try! JSONParser.parse(string)
}

/// Decodes one packet from a string.
func decode(
    _ string: String,
    limits: SocketIODecoderLimits = SocketIODecoderLimits()
) throws(SocketIODecodeError) -> SocketIOPacket {
    try SocketIOPacket.decode(text: ByteBuffer(string: string), limits: limits)
}

/// The error decoding `string` throws, or nil when it decodes.
func decodeError(_ string: String, limits: SocketIODecoderLimits = SocketIODecoderLimits()) -> SocketIODecodeError? {
    do {
        _ = try decode(string, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// Encodes a packet to its text and attachments.
func encode(_ packet: SocketIOPacket) -> (String, [[UInt8]]) {
    let encoded = packet.encode()
    return (text(encoded.text), encoded.attachments.map(\.readableBytesArray))
}

/// A random JSON value, with binary leaves when `binary` is set, nested at most `depth` deep.
func randomValue(_ generator: inout SeededGenerator, depth: Int, binary: Bool) -> JSONValue {
    let choice = Int.random(in: 0..<(depth > 0 ? 9 : 7), using: &generator)
    switch choice {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &generator))
    case 2: return .number(JSONNumber(Int.random(in: -1_000_000...1_000_000, using: &generator)))
    case 3: return .number(JSONNumber(Double.random(in: -1e6...1e6, using: &generator)))
    case 4, 5: return .string(randomString(&generator))
    case 6:
        guard binary else { return .string("") }
        return .binary(
            ByteBuffer(
                bytes: (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            )
        )
    case 7:
        return .array(
            (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                randomValue(&generator, depth: depth - 1, binary: binary)
            }
        )
    default:
        var object = JSONObject()
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            // `_placeholder` keys would be read back as placeholders; avoid them in random data.
            object[randomString(&generator) + "k"] = randomValue(&generator, depth: depth - 1, binary: binary)
        }
        return .object(object)
    }
}

/// A short random string with characters that need escaping now and then.
func randomString(_ generator: inout SeededGenerator) -> String {
    let pieces = ["a", "é", "\"", "\\", "\n", "\u{1}", "/", ",", "1", "[", "{", "😀", " ", "_placeholder"]
    return (0..<Int.random(in: 0...5, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
}
