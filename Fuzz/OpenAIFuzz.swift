// libFuzzer target for the OpenAI client's parsers (SSE framing, chunk/completion/error JSON,
// rate-limit durations, Retry-After values and HTTP dates). Every input is used several ways:
// 1. As an event stream, fed whole, split at a point chosen by the input, and one byte at a time:
//    the three must give the same events or the same error.
// 2. Each event's data as a stream chunk; the whole input as a completion and as an error body.
// 3. As a duration, a Retry-After number and an HTTP date: results must be in range.
import HTTPCore
import IOCore
@testable import OpenAIPure

func fuzzFailure(_ message: String) -> Never { fatalError("OpenAIFuzz: \(message)") }

func parseStream(_ bytes: [UInt8], cuts: [Int]) -> Result<[SSEEvent], SSEParseError> {
    var parser = SSEParser(limits: SSEParser.Limits(maximumLineLength: 512, maximumEventSize: 1024))
    var events: [SSEEvent] = []
    var start = 0
    do throws(SSEParseError) {
        for cut in cuts + [bytes.count] where cut >= start {
            events += try parser.feed(bytes[start..<cut])
            start = cut
        }
    } catch {
        return .failure(error)
    }
    return .success(events)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = parseStream(bytes, cuts: [])
    let split = parseStream(bytes, cuts: [bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)])
    let single = parseStream(bytes, cuts: Array(0..<bytes.count))
    // Limits are checked per piece, so an over-long line is caught in all three; events before it may differ.
    switch (whole, split, single) {
    case (.success(let a), .success(let b), .success(let c)):
        guard a == b, b == c else { fuzzFailure("split feeding changed the events") }
        for event in a {
            guard !event.data.utf8.contains(13) else { fuzzFailure("CR inside event data") }
            _ = try? WireFormat.decodeChunk(event.data)
        }
    case (.failure(let a), .failure(let b), .failure(let c)):
        guard a == b, b == c else { fuzzFailure("different errors") }
    default:
        fuzzFailure("split feeding changed success into failure")
    }
    let buffer = ByteBuffer(bytes: bytes)
    _ = try? WireFormat.decodeCompletion(buffer, metadata: ResponseMetadata(), prices: .gpt4oMini)
    _ = WireFormat.apiError(in: buffer)
    let text = String(decoding: bytes, as: UTF8.self)
    if let duration = RateLimits.parseDuration(text), duration < .zero || duration > .seconds(86_400) {
        fuzzFailure("duration out of range")
    }
    if let date = HTTPDate.parse(text), date < 0 { fuzzFailure("date before 1970") }
    if let value = RetryPolicy.parseNonNegativeDecimal(text), !(value >= 0) { fuzzFailure("negative decimal") }
    var headers = HTTPHeaders()
    headers.add(name: "retry-after", value: text)
    if let wait = RetryPolicy.retryAfter(headers: headers, now: 1_700_000_000), wait < .zero { fuzzFailure("negative wait") }
    return 0
}
