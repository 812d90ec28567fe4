// What the HTTP request and response fuzz targets share: how input is cut into pieces and fed to a
// parser, the invariants checked on every step, and the round trip of a parsed head. Linked into
// HTTPRequestFuzz and HTTPResponseFuzz by `Fuzz/run.sh`; each target supplies its parser.
import HTTPCore
import IOCore

/// Small limits, so that short inputs reach every limit check.
let smallLimits = HTTPParserLimits(
    maximumStartLineLength: 64,
    maximumHeaderBytes: 256,
    maximumHeaderCount: 8,
    maximumBodySize: 512,
    maximumTrailerBytes: 64,
    maximumLeadingEmptyLines: 3
)

/// What a parser reported, bodies merged.
enum Outcome<Head: Equatable>: Equatable {
    case head(Head)
    case body([UInt8])
    case end
    case failure(HTTPParseError)
}

/// A head that can be written back as bytes.
protocol WritableHead: Equatable {
    func write(into buffer: inout ByteBuffer)
}

extension HTTPRequestHead: WritableHead {}
extension HTTPResponseHead: WritableHead {}

/// One of the HTTP parsers, as the fuzz targets drive it.
protocol FuzzedParser {
    associatedtype Head: WritableHead
    /// Bytes held between calls.
    var bufferedByteCount: Int { get }
    /// The next event (never `.failure`) and the bytes consumed; nil when `piece` is used up.
    mutating func step(_ piece: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: Outcome<Head>?, consumed: Int)
}

extension HTTPRequestParser: FuzzedParser {
    mutating func step(_ piece: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: Outcome<HTTPRequestHead>?, consumed: Int) {
        let (event, consumed) = try self.next(piece)
        switch event {
        case .head(let head)?: return (.head(head), consumed)
        case .body(let buffer)?: return (.body(buffer.readableBytesArray), consumed)
        case .end?: return (.end, consumed)
        case nil: return (nil, consumed)
        }
    }
}

extension HTTPResponseParser: FuzzedParser {
    mutating func step(_ piece: UnsafeRawBufferPointer) throws(HTTPParseError) -> (event: Outcome<HTTPResponseHead>?, consumed: Int) {
        let (event, consumed) = try self.next(piece)
        switch event {
        case .head(let head)?: return (.head(head), consumed)
        case .body(let buffer)?: return (.body(buffer.readableBytesArray), consumed)
        case .end?: return (.end, consumed)
        case nil: return (nil, consumed)
        }
    }
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

func record<Head>(_ outcome: Outcome<Head>, _ outcomes: inout [Outcome<Head>]) {
    if case .body(let more) = outcome {
        if more.isEmpty { return }
        if case .body(let earlier)? = outcomes.last {
            outcomes[outcomes.count - 1] = .body(earlier + more)
            return
        }
    }
    outcomes.append(outcome)
}

/// Feeds `input` to `parser` in pieces (`generator` nil: all at once) and returns the outcomes; a
/// failure ends them. `makeParser` gives a fresh parser with the given limits, for the round trip
/// of every head.
func feed<Parser: FuzzedParser>(
    _ parser: inout Parser,
    _ input: UnsafeBufferPointer<UInt8>,
    limits: HTTPParserLimits,
    generator: SplitGenerator?,
    makeParser: (HTTPParserLimits) -> Parser
) -> [Outcome<Parser.Head>] {
    var generator = generator
    var outcomes: [Outcome<Parser.Head>] = []
    let bound = bufferBound(limits)
    var start = 0
    while start < input.count || start == 0 {
        let length = generator != nil ? generator!.nextLength() : input.count
        let end = min(input.count, start + length)
        var offset = start
        var idleEvents = 0
        while true {
            let piece = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[offset..<end]))
            let event: Outcome<Parser.Head>?
            let consumed: Int
            do throws(HTTPParseError) {
                (event, consumed) = try parser.step(piece)
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
            if case .head(let head) = event {
                checkRoundTrip(head, parser: makeParser(roundTripLimits(limits)))
            }
            record(event, &outcomes)
        }
        if end == input.count { break }
        start = end
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

/// A parsed head, written and parsed again by `parser`, is the same head.
func checkRoundTrip<Parser: FuzzedParser>(_ head: Parser.Head, parser: Parser) {
    var parser = parser
    var buffer = ByteBuffer()
    head.write(into: &buffer)
    let event = buffer.withUnsafeReadableBytes { bytes -> Outcome<Parser.Head>? in
        do throws(HTTPParseError) {
            return try parser.step(bytes).event
        } catch {
            preconditionFailure("written head does not parse: \(error)")
        }
    }
    guard case .head(let again)? = event else { preconditionFailure("written head is incomplete") }
    precondition(again == head, "head changed in a round trip")
}
