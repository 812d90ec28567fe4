// libFuzzer target for the WebSocket codec: `Fuzz/run.sh WebSocketFrameFuzz SECONDS`.
//
// Every input is used twice:
// 1. As text for `UTF8Validator`, compared with the standard library: bytes are valid UTF-8 exactly
//    when decoding them with repair changes nothing. Whole and in pieces must agree.
// 2. As a byte stream for `WebSocketFrameParser` + `WebSocketMessageAssembler`. Its first byte picks
//    the side and the limits, its second seeds how the rest is cut. The stream is parsed whole and cut
//    into pieces; both runs must give the same frames, events and error. Every frame parsed is
//    written back with the writer and parsed again, and must come back unchanged.
// Any disagreement, a broken parser invariant, or a memory error (ASan) is a finding.

import IOCore
import WebSocketCore

/// What one run over a stream produced.
struct FuzzOutcome: Equatable {
    var frames: [WebSocketFrame] = []
    var events: [WebSocketEvent] = []
    var error: WebSocketProtocolError?
}

/// A tiny deterministic generator (SplitMix64) for piece sizes, so that a finding reproduces.
struct FuzzGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("WebSocketFrameFuzz: \(message)")
}

/// Checks `UTF8Validator` against the standard library, whole and cut in pieces.
func fuzzUTF8(_ bytes: UnsafeRawBufferPointer, seed: UInt64) {
    let decoded = String(decoding: bytes, as: UTF8.self)
    let reference = decoded.utf8.elementsEqual(bytes)
    if UTF8Validator.isValid(bytes) != reference {
        fuzzFailure("UTF8Validator.isValid disagrees with String(decoding:) (reference \(reference))")
    }
    var generator = FuzzGenerator(state: seed)
    var validator = UTF8Validator()
    var offset = 0
    var valid = true
    while offset < bytes.count {
        let size = min(bytes.count - offset, Int(generator.next() % 9))
        valid = validator.validate(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)])) && valid
        offset += size
    }
    if (valid && validator.isComplete) != reference {
        fuzzFailure("UTF8Validator in pieces disagrees with the reference (reference \(reference))")
    }
}

/// Parses `stream` in pieces of the given generator's sizes (or whole when `generator` is nil).
func runFrames(
    _ stream: UnsafeRawBufferPointer,
    requireMaskedFrames: Bool,
    maxFrameSize: Int,
    maxMessageSize: Int,
    generator: inout FuzzGenerator?
) -> FuzzOutcome {
    var parser = WebSocketFrameParser(maxFrameSize: maxFrameSize, requireMaskedFrames: requireMaskedFrames)
    var assembler = WebSocketMessageAssembler(maxMessageSize: maxMessageSize)
    var outcome = FuzzOutcome()
    var start = 0
    while start < stream.count {
        var end = stream.count
        if generator != nil {
            end = min(stream.count, start + 1 + Int(generator!.next() % 40))
        }
        let piece = UnsafeRawBufferPointer(rebasing: stream[start..<end])
        start = end
        var offset = 0
        var iterations = 0
        while offset < piece.count {
            iterations += 1
            if iterations > piece.count + 1 {
                fuzzFailure("parser made no progress")
            }
            do throws(WebSocketProtocolError) {
                let (frame, consumed) = try parser.next(UnsafeRawBufferPointer(rebasing: piece[offset...]))
                if consumed < 0 || consumed > piece.count - offset {
                    fuzzFailure("consumed \(consumed) of \(piece.count - offset)")
                }
                if frame == nil && consumed != piece.count - offset {
                    fuzzFailure("no frame, yet input left over")
                }
                offset += consumed
                if let frame {
                    if frame.payload.readableBytes > maxFrameSize {
                        fuzzFailure("frame larger than maxFrameSize")
                    }
                    outcome.frames.append(frame)
                    if let event = try assembler.receive(frame) {
                        outcome.events.append(event)
                    }
                }
            } catch {
                outcome.error = error
                return outcome
            }
        }
    }
    return outcome
}

/// Checks what the assembler delivered: text is UTF-8, messages respect the limit, control payloads fit.
func checkEvents(_ events: [WebSocketEvent], maxMessageSize: Int) {
    for event in events {
        switch event {
        case .text(let buffer):
            let valid = buffer.withUnsafeReadableBytes { raw in
                String(decoding: raw, as: UTF8.self).utf8.elementsEqual(raw)
            }
            if !valid { fuzzFailure("text event is not UTF-8") }
            if buffer.readableBytes > maxMessageSize { fuzzFailure("text message over the limit") }
        case .binary(let buffer):
            if buffer.readableBytes > maxMessageSize { fuzzFailure("binary message over the limit") }
        case .ping(let buffer), .pong(let buffer):
            if buffer.readableBytes > 125 { fuzzFailure("control payload over 125 bytes") }
        case .close(let code, let reason):
            if let code, !code.isValidOnWire { fuzzFailure("close code not valid on the wire") }
            if reason.utf8.count > 123 { fuzzFailure("close reason over 123 bytes") }
        }
    }
}

/// Writes each frame back and parses it again with a fresh parser: it must come back unchanged.
func checkRoundTrip(_ frames: [WebSocketFrame], requireMaskedFrames: Bool, maxFrameSize: Int, seed: UInt64) {
    var generator = FuzzGenerator(state: seed)
    for frame in frames {
        let key = requireMaskedFrames ? WebSocketMaskingKey(rawValue: UInt32(truncatingIfNeeded: generator.next())) : nil
        var buffer = ByteBuffer()
        frame.write(maskingKey: key, into: &buffer)
        var parser = WebSocketFrameParser(maxFrameSize: maxFrameSize, requireMaskedFrames: requireMaskedFrames)
        let reparsed = buffer.withUnsafeReadableBytes { raw -> WebSocketFrame? in
            do throws(WebSocketProtocolError) {
                let (parsed, consumed) = try parser.next(raw)
                return consumed == raw.count ? parsed : nil
            } catch {
                return nil
            }
        }
        if reparsed != frame {
            fuzzFailure("writer/parser round trip changed a frame")
        }
    }
}

/// The largest frame each configuration accepts; chosen by the first input byte.
let fuzzFrameSizes = [0, 125, 1_000, 70_000]
/// The largest message each configuration accepts; chosen by the first input byte.
let fuzzMessageSizes = [0, 10, 300, 100_000]

/// Runs the parser and assembler over the input, whole and in pieces, and compares.
func fuzzFrames(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count >= 2 else {
        return
    }
    let config = bytes[0]
    let requireMaskedFrames = config & 1 != 0
    let maxFrameSize = fuzzFrameSizes[Int((config >> 1) & 3)]
    let maxMessageSize = fuzzMessageSizes[Int((config >> 3) & 3)]
    let seed = UInt64(bytes[1]) | UInt64(config) << 8
    let stream = UnsafeRawBufferPointer(rebasing: bytes[2...])

    var whole: FuzzGenerator? = nil
    let reference = runFrames(
        stream,
        requireMaskedFrames: requireMaskedFrames,
        maxFrameSize: maxFrameSize,
        maxMessageSize: maxMessageSize,
        generator: &whole
    )
    var pieces: FuzzGenerator? = FuzzGenerator(state: seed)
    let split = runFrames(
        stream,
        requireMaskedFrames: requireMaskedFrames,
        maxFrameSize: maxFrameSize,
        maxMessageSize: maxMessageSize,
        generator: &pieces
    )
    if split != reference {
        fuzzFailure("splitting the input changed the result")
    }
    checkEvents(reference.events, maxMessageSize: maxMessageSize)
    checkRoundTrip(reference.frames, requireMaskedFrames: requireMaskedFrames, maxFrameSize: maxFrameSize, seed: seed)
}

/// The libFuzzer entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    fuzzUTF8(bytes, seed: UInt64(size))
    fuzzFrames(bytes)
    return 0
}
