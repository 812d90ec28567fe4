import IOCore
import WebSocketCore
import TestKit

/// The result of feeding a byte stream through the parser (and optionally the assembler): what came
/// out, and the error that stopped it, if any.
struct StreamOutcome: Equatable {
    var frames: [WebSocketFrame] = []
    var events: [WebSocketEvent] = []
    var error: WebSocketProtocolError?
}

/// Encodes a frame by hand, independently of the writer under test, so that parser tests do not
/// depend on it.
///
/// - Parameters:
///   - lengthEncoding: Forces the length form: 7 (direct), 16 or 64 bits; nil picks the shortest.
func makeFrameBytes(
    fin: Bool = true,
    rsv: UInt8 = 0,
    opcode: UInt8,
    payload: [UInt8],
    mask: [UInt8]? = nil,
    lengthEncoding: Int? = nil
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let count = payload.count
    let encoding = lengthEncoding ?? (count <= 125 ? 7 : (count <= 0xFFFF ? 16 : 64))
    switch encoding {
    case 7:
        bytes.append(maskBit | UInt8(count))
    case 16:
        bytes.append(maskBit | 126)
        bytes += [UInt8(count >> 8), UInt8(count & 0xFF)]
    default:
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8((UInt64(count) >> UInt64(shift)) & 0xFF))
        }
    }
    if let mask {
        bytes += mask
        for (index, byte) in payload.enumerated() {
            bytes.append(byte ^ mask[index % 4])
        }
    } else {
        bytes += payload
    }
    return bytes
}

/// Deterministic test bytes: `count` bytes derived from `seed`.
func patternBytes(_ count: Int, seed: Int = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 17 &+ ($0 >> 8)) }
}

/// Feeds `bytes` in pieces of the given sizes (the last piece takes the rest) through a parser and,
/// when `assemble` is set, an assembler.
func runStream(
    _ bytes: [UInt8],
    chunkSizes: [Int] = [],
    maxFrameSize: Int = 1 << 20,
    maxMessageSize: Int = 1 << 20,
    requireMaskedFrames: Bool = true,
    assemble: Bool = true
) -> StreamOutcome {
    var parser = WebSocketFrameParser(maxFrameSize: maxFrameSize, requireMaskedFrames: requireMaskedFrames)
    var assembler = WebSocketMessageAssembler(maxMessageSize: maxMessageSize)
    var outcome = StreamOutcome()
    var chunks: [ArraySlice<UInt8>] = []
    var start = 0
    for size in chunkSizes where start < bytes.count {
        let end = min(bytes.count, start + size)
        chunks.append(bytes[start..<end])
        start = end
    }
    if start < bytes.count || chunks.isEmpty {
        chunks.append(bytes[start...])
    }
    do throws(WebSocketProtocolError) {
        for chunk in chunks {
            let array = Array(chunk)
            var offset = 0
            // Bounded: each iteration consumes at least one byte or returns a frame of an empty
            // header-only input, and the loop stops when the chunk is used up.
            var iterations = 0
            while offset < array.count {
                iterations += 1
                precondition(iterations <= array.count + 1, "parser made no progress")
                // `Array.withUnsafeBytes` rethrows as `any Error`, so carry the typed error out in a Result.
                let result = array.withUnsafeBytes { raw in
                    Result { () throws(WebSocketProtocolError) in
                        try parser.next(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                    }
                }
                let (frame, consumed) = try result.get()
                precondition(consumed >= 0 && consumed <= array.count - offset, "consumed out of range")
                precondition(frame != nil || consumed == array.count - offset, "no frame but input left over")
                offset += consumed
                if let frame {
                    outcome.frames.append(frame)
                    if assemble, let event = try assembler.receive(frame) {
                        outcome.events.append(event)
                    }
                }
            }
        }
    } catch {
        outcome.error = error
    }
    return outcome
}

/// Every way to cut `bytes` that the split tests try: whole, each two-piece split, byte by byte, and
/// some random chunkings.
func allChunkings(of count: Int, randomRuns: Int = 20) -> [[Int]] {
    var result: [[Int]] = [[]]
    for split in 1..<max(count, 1) {
        result.append([split])
    }
    result.append(Array(repeating: 1, count: max(count, 1)))
    var generator = SeededGenerator(state: UInt64(count))
    for _ in 0..<randomRuns {
        var sizes: [Int] = []
        var total = 0
        while total < count {
            let size = Int.random(in: 1...max(1, min(count, 300)), using: &generator) % 37 + 1
            sizes.append(size)
            total += size
        }
        result.append(sizes)
    }
    return result
}

/// A client frame with a fixed mask, as a browser would send it.
let testMask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

extension ByteBuffer {
    /// The unread bytes, for comparisons.
    var array: [UInt8] { self.readableBytesArray }
}
