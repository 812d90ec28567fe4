// libFuzzer target for HTTPResponseParser. Run with `Fuzz/run.sh HTTPResponseFuzz SECONDS`.
//
// Input layout: byte 0 picks the limits and the request method (GET, HEAD, CONNECT), byte 1 seeds
// how the rest is cut into pieces; the rest is fed to the parser, followed by end of file
// (`finish()`). Invariants checked (a failed check traps, which libFuzzer reports; the shared checks
// live in HTTPFuzzSupport.swift):
// - `consumed` never exceeds the bytes offered, and a nil event consumes all of them;
// - the parser never spins: at most a few events in a row without consuming a byte;
// - buffered bytes stay within the bound the limits imply;
// - whole input and arbitrarily split input give the same events (bodies merged) and error;
// - every parsed head survives write(into:) and parsing again unchanged;
// - end of file ends the message at most once.
import HTTPCore

/// The method whose response the parser expects.
func method(_ control: UInt8) -> HTTPMethod {
    switch (control >> 1) % 4 {
    case 1: .head
    case 2: .connect
    default: .get
    }
}

/// A response parser that expects the answer to `method`.
func makeParser(limits: HTTPParserLimits, method: HTTPMethod) -> HTTPResponseParser {
    var parser = HTTPResponseParser(limits: limits)
    parser.expectResponse(toRequestMethod: method)
    return parser
}

/// Feeds `input` in pieces (`generator` nil: all at once), then end of file, and returns the outcomes.
func feed(
    _ input: UnsafeBufferPointer<UInt8>,
    limits: HTTPParserLimits,
    method: HTTPMethod,
    generator: SplitGenerator?
) -> [Outcome<HTTPResponseHead>] {
    var parser = makeParser(limits: limits, method: method)
    var outcomes = feed(&parser, input, limits: limits, generator: generator, makeParser: { makeParser(limits: $0, method: method) })
    if case .failure? = outcomes.last { return outcomes }
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
