// libFuzzer target for HTTPResponseParser. Run with `Fuzz/run.sh HTTPResponseFuzz SECONDS`.
//
// Input layout: byte 0 picks the limits and the request method (GET, HEAD, CONNECT), byte 1 seeds
// how the rest is cut into pieces; the rest is fed to the parser, followed by end of file
// (`finish()`). Invariants checked (a failed check traps, which libFuzzer reports):
// - `consumed` never exceeds the bytes offered, and a nil event consumes all of them;
// - the parser never spins: at most a few events in a row without consuming a byte;
// - buffered bytes stay within the bound the limits imply;
// - whole input and arbitrarily split input give the same events (bodies merged) and error;
// - every parsed head survives write(into:) and parsing again unchanged.
import HTTPCore
import IOCore

/// Small limits, so that short inputs reach every limit check.
let smallLimits = HTTPParserLimits(
    maximumStartLineLength: 64,
    maximumHeaderBytes: 256,
    maximumHeaderCount: 8,
    maximumBodySize: 512,
    maximumChunkLineLength: 16,
    maximumTrailerBytes: 64,
    maximumLeadingEmptyLines: 3
)

/// What the parser reported, bodies merged.
enum Outcome: Equatable {
    case head(HTTPResponseHead)
    case body([UInt8])
    case end
    case failure(HTTPParseError)
}

/// A tiny deterministic generator for piece lengths.
struct SplitGenerator {
    var state: UInt32

    mutating func nextLength() -> Int {
        self.state = self.state &* 1_103_515_245 &+ 12345
        let value = Int((self.state >> 16) & 0x7FFF)
        // Mostly tiny pieces, sometimes large ones.
        return value % 8 == 0 ? value % 512 : value % 4
    }
}

/// The most bytes a parser with `limits` may hold: a head (start line, fields, line endings) or a
/// trailer section.
func bufferBound(_ limits: HTTPParserLimits) -> Int {
    let lineEndings = 2 * (limits.maximumHeaderCount + 2)
    return max(limits.maximumStartLineLength + limits.maximumHeaderBytes, limits.maximumTrailerBytes) + lineEndings + 2
}

func record(_ outcome: Outcome, _ outcomes: inout [Outcome]) {
    if case .body(let more) = outcome {
        if more.isEmpty { return }
        if case .body(let earlier)? = outcomes.last {
            outcomes[outcomes.count - 1] = .body(earlier + more)
            return
        }
    }
    outcomes.append(outcome)
}

/// The method whose response the parser expects.
func method(_ control: UInt8) -> HTTPMethod {
    switch (control >> 1) % 4 {
    case 1: .head
    case 2: .connect
    default: .get
    }
}

/// Feeds `input` in pieces (`generator` nil: all at once), then end of file, and returns the outcomes.
func feed(
    _ input: UnsafeBufferPointer<UInt8>,
    limits: HTTPParserLimits,
    method: HTTPMethod,
    generator: SplitGenerator?
) -> [Outcome] {
    var parser = HTTPResponseParser(limits: limits)
    parser.expectResponse(toRequestMethod: method)
    var generator = generator
    var outcomes: [Outcome] = []
    let bound = bufferBound(limits)
    var start = 0
    while start < input.count || start == 0 {
        let length = generator != nil ? generator!.nextLength() : input.count
        let end = min(input.count, start + length)
        var offset = start
        var idleEvents = 0
        while true {
            let piece = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[offset..<end]))
            let event: HTTPResponseEvent?
            let consumed: Int
            do throws(HTTPParseError) {
                (event, consumed) = try parser.next(piece)
            } catch {
                outcomes.append(.failure(error))
                return outcomes
            }
            precondition(consumed >= 0 && consumed <= piece.count, "consumed more than offered")
            precondition(parser.bufferedByteCount <= bound, "buffered bytes past the limits")
            offset += consumed
            guard let event else {
                precondition(offset == end, "nil event without consuming everything")
                break
            }
            idleEvents = consumed == 0 ? idleEvents + 1 : 0
            precondition(idleEvents <= 2, "events without progress")
            switch event {
            case .head(let head):
                record(.head(head), &outcomes)
                checkRoundTrip(head, limits: limits, method: method)
            case .body(let buffer): record(.body(buffer.readableBytesArray), &outcomes)
            case .end: record(.end, &outcomes)
            }
        }
        if end == input.count { break }
        start = end
    }
    do throws(HTTPParseError) {
        if let event = try parser.finish() {
            guard case .end = event else { preconditionFailure("finish reported something other than the end") }
            record(.end, &outcomes)
        }
        // After end of file the parser is between messages.
        let again = try parser.finish()
        precondition(again == nil, "finish reported twice")
    } catch {
        outcomes.append(.failure(error))
    }
    return outcomes
}

/// Limits for parsing a written head again, which may be longer than the original: text that was
/// not valid UTF-8 (obs-text in a reason phrase) comes back as U+FFFD, three bytes per replaced
/// byte, and the writer puts one space after each colon.
func roundTripLimits(_ limits: HTTPParserLimits) -> HTTPParserLimits {
    var larger = limits
    larger.maximumStartLineLength = limits.maximumStartLineLength * 3
    larger.maximumHeaderBytes = limits.maximumHeaderBytes + limits.maximumHeaderCount
    return larger
}

/// A parsed head, written and parsed again, is the same head.
func checkRoundTrip(_ head: HTTPResponseHead, limits: HTTPParserLimits, method: HTTPMethod) {
    var buffer = ByteBuffer()
    head.write(into: &buffer)
    var parser = HTTPResponseParser(limits: roundTripLimits(limits))
    parser.expectResponse(toRequestMethod: method)
    let event = buffer.withUnsafeReadableBytes { bytes -> HTTPResponseEvent? in
        do throws(HTTPParseError) {
            return try parser.next(bytes).event
        } catch {
            preconditionFailure("written head does not parse: \(error)")
        }
    }
    guard case .head(let again)? = event else { preconditionFailure("written head is incomplete") }
    precondition(again == head, "head changed in a round trip")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let limits = data[0] & 1 == 0 ? HTTPParserLimits.responseDefaults : smallLimits
    let method = method(data[0])
    let input = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let whole = feed(input, limits: limits, method: method, generator: nil)
    let split = feed(
        input,
        limits: limits,
        method: method,
        generator: SplitGenerator(state: UInt32(data[1]) << 8 | UInt32(data[0]))
    )
    precondition(whole == split, "outcome depends on how the input was split")
    return 0
}
