import IOCore
import Testing

@testable import HTTPCore

/// One thing a parser reported, in a form tests can compare: body pieces are merged, because how a
/// body is cut into events depends on how the input was split.
enum Outcome<Head: Hashable>: Hashable, CustomStringConvertible {
    case head(Head)
    case body([UInt8])
    case end
    case failure(HTTPParseError)

    var description: String {
        switch self {
        case .head(let head): "head(\(head))"
        case .body(let bytes): "body(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .end: "end"
        case .failure(let error): "failure(\(error))"
        }
    }
}

typealias RequestOutcome = Outcome<HTTPRequestHead>
typealias ResponseOutcome = Outcome<HTTPResponseHead>

/// Appends `outcome`, merging it into a preceding body.
func append<Head>(_ outcome: Outcome<Head>, to outcomes: inout [Outcome<Head>]) {
    if case .body(let more) = outcome, case .body(let earlier)? = outcomes.last {
        outcomes[outcomes.count - 1] = .body(earlier + more)
    } else if case .body(let bytes) = outcome, bytes.isEmpty {
        return
    } else {
        outcomes.append(outcome)
    }
}

/// A parser under test: both parsers have the same shape.
protocol TestableParser {
    associatedtype Head: Hashable
    mutating func nextOutcome(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Outcome<Head>?, Int)
    mutating func finishOutcome() throws(HTTPParseError) -> Outcome<Head>?
    var bufferedByteCount: Int { get }
}

extension HTTPRequestParser: TestableParser {
    mutating func nextOutcome(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (RequestOutcome?, Int) {
        let (event, consumed) = try self.next(bytes)
        switch event {
        case .head(let head)?: return (.head(head), consumed)
        case .body(let buffer)?: return (.body(buffer.readableBytesArray), consumed)
        case .end?: return (.end, consumed)
        case nil: return (nil, consumed)
        }
    }

    mutating func finishOutcome() throws(HTTPParseError) -> RequestOutcome? { nil }
}

extension HTTPResponseParser: TestableParser {
    mutating func nextOutcome(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (ResponseOutcome?, Int) {
        let (event, consumed) = try self.next(bytes)
        switch event {
        case .head(let head)?: return (.head(head), consumed)
        case .body(let buffer)?: return (.body(buffer.readableBytesArray), consumed)
        case .end?: return (.end, consumed)
        case nil: return (nil, consumed)
        }
    }

    mutating func finishOutcome() throws(HTTPParseError) -> ResponseOutcome? {
        switch try self.finish() {
        case .end?: return .end
        case .head(let head)?: return .head(head)
        case .body(let buffer)?: return .body(buffer.readableBytesArray)
        case nil: return nil
        }
    }
}

/// Feeds `input` to `parser` in pieces ending at `cuts` (sorted offsets), checking the `next`
/// contract on every call, and returns what it reported.
func run<Parser: TestableParser>(
    _ parser: inout Parser,
    _ input: [UInt8],
    cuts: [Int],
    finish: Bool,
    maximumBuffered: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [Outcome<Parser.Head>] {
    var outcomes: [Outcome<Parser.Head>] = []
    var start = 0
    for end in cuts + [input.count] where end >= start {
        let piece = Array(input[start..<end])
        start = end
        var offset = 0
        // Bounded: every call either reports an event or consumes the rest.
        for _ in 0...(piece.count * 4 + 8) {
            let result: (Outcome<Parser.Head>?, Int)
            do throws(HTTPParseError) {
                result = try piece.withUnsafeBufferPointer { buffer throws(HTTPParseError) in
                    try parser.nextOutcome(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[offset...])))
                }
            } catch {
                outcomes.append(.failure(error))
                // The parser stays failed.
                var again: HTTPParseError?
                do throws(HTTPParseError) {
                    _ = try parser.nextOutcome(UnsafeRawBufferPointer(start: nil, count: 0))
                } catch let repeated {
                    again = repeated
                }
                #expect(again == error, "a failed parser throws again", sourceLocation: sourceLocation)
                return outcomes
            }
            let (outcome, consumed) = result
            #expect(consumed >= 0 && consumed <= piece.count - offset, sourceLocation: sourceLocation)
            if let maximumBuffered {
                #expect(parser.bufferedByteCount <= maximumBuffered, sourceLocation: sourceLocation)
            }
            offset += consumed
            guard let outcome else {
                #expect(offset == piece.count, "a nil event must consume everything", sourceLocation: sourceLocation)
                break
            }
            append(outcome, to: &outcomes)
        }
    }
    if finish {
        do throws(HTTPParseError) {
            if let outcome = try parser.finishOutcome() { append(outcome, to: &outcomes) }
        } catch {
            outcomes.append(.failure(error))
        }
    }
    return outcomes
}

/// Parses `input` whole, then split at every byte boundary, then byte by byte, expects identical
/// outcomes from every split, and returns them.
func parseEverySplit<Parser: TestableParser>(
    _ makeParser: () -> Parser,
    _ input: [UInt8],
    finish: Bool = false,
    maximumBuffered: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [Outcome<Parser.Head>] {
    var parser = makeParser()
    let whole = run(
        &parser,
        input,
        cuts: [],
        finish: finish,
        maximumBuffered: maximumBuffered,
        sourceLocation: sourceLocation
    )
    if input.count > 1 {
        for cut in 1..<input.count {
            var split = makeParser()
            let outcomes = run(
                &split,
                input,
                cuts: [cut],
                finish: finish,
                maximumBuffered: maximumBuffered,
                sourceLocation: sourceLocation
            )
            #expect(outcomes == whole, "split at \(cut)", sourceLocation: sourceLocation)
            if outcomes != whole { break }
        }
    }
    var bytewise = makeParser()
    let outcomes = run(
        &bytewise,
        input,
        cuts: Array(0..<input.count),
        finish: finish,
        maximumBuffered: maximumBuffered,
        sourceLocation: sourceLocation
    )
    #expect(outcomes == whole, "byte by byte", sourceLocation: sourceLocation)
    return whole
}

/// Request outcomes for `text`, checked at every split.
func parseRequest(
    _ text: String,
    limits: HTTPParserLimits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> [RequestOutcome] {
    parseEverySplit({ HTTPRequestParser(limits: limits) }, Array(text.utf8), sourceLocation: sourceLocation)
}

/// Response outcomes for `text` answering `method`, with end of file after it, checked at every split.
func parseResponse(
    _ text: String,
    method: HTTPMethod = .get,
    limits: HTTPParserLimits = .responseDefaults,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ResponseOutcome] {
    parseEverySplit(
        {
            var parser = HTTPResponseParser(limits: limits)
            parser.expectResponse(toRequestMethod: method)
            return parser
        },
        Array(text.utf8),
        finish: true,
        sourceLocation: sourceLocation
    )
}

/// The head in the first outcome, if it is a head.
func firstHead<Head>(_ outcomes: [Outcome<Head>]) -> Head? {
    if case .head(let head)? = outcomes.first { return head }
    return nil
}

/// The error the outcomes ended with, if any.
func failure<Head>(_ outcomes: [Outcome<Head>]) -> HTTPParseError? {
    if case .failure(let error)? = outcomes.last { return error }
    return nil
}

/// The bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
