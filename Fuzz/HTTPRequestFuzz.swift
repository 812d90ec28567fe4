// libFuzzer target for HTTPRequestParser. Run with `Fuzz/run.sh HTTPRequestFuzz SECONDS`.
//
// Input layout: byte 0 picks the limits, byte 1 seeds how the rest is cut into pieces; the rest is
// fed to the parser. Invariants checked (a failed check traps, which libFuzzer reports; the checks
// live in HTTPFuzzSupport.swift):
// - `consumed` never exceeds the bytes offered, and a nil event consumes all of them;
// - the parser never spins: at most a few events in a row without consuming a byte;
// - buffered bytes stay within the bound the limits imply;
// - whole input and arbitrarily split input give the same events (bodies merged) and error;
// - every parsed head survives write(into:) and parsing again unchanged.
import HTTPCore

/// Feeds `input` in pieces (`generator` nil: all at once) and returns the outcomes.
func feed(_ input: UnsafeBufferPointer<UInt8>, limits: HTTPParserLimits, generator: SplitGenerator?) -> [Outcome<HTTPRequestHead>] {
    var parser = HTTPRequestParser(limits: limits)
    return feed(&parser, input, limits: limits, generator: generator, makeParser: { HTTPRequestParser(limits: $0) })
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let limits = data[0] & 1 == 0 ? HTTPParserLimits() : smallLimits
    let input = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let whole = feed(input, limits: limits, generator: nil)
    let split = feed(input, limits: limits, generator: SplitGenerator(state: UInt32(data[1]) << 8 | UInt32(data[0])))
    precondition(whole == split, "outcome depends on how the input was split")
    return 0
}
