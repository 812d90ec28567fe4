import IOCore
import Testing

@testable import HTTPCore

@Suite("HTTPResponseParser")
struct HTTPResponseParserTests {
    @Test func response_withContentLength_reportsHeadBodyEnd() throws {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        #expect(outcomes.count == 3)
        let head = try #require(firstHead(outcomes))
        #expect(head.statusCode == 200)
        #expect(head.reasonPhrase == "OK")
        #expect(head.version == .http1_1)
        #expect(head.headers["content-type"] == "text/plain")
        #expect(head.isKeepAlive)
        #expect(outcomes[1] == .body(bytes("hello")))
        #expect(outcomes[2] == .end)
    }

    @Test func response_withChunkedBody_isDecoded() {
        let outcomes = parseResponse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "7;x=1\r\nchunk 1\r\n8\r\n chunk 2\r\n0\r\nT: v\r\n\r\n"
        )
        #expect(outcomes.dropFirst().first == .body(bytes("chunk 1 chunk 2")))
        #expect(outcomes.last == .end)
        #expect(outcomes.count == 3)
    }

    @Test func response_withoutLength_endsWhenTheConnectionCloses() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed until close")
        #expect(outcomes.count == 3)
        #expect(outcomes[1] == .body(bytes("streamed until close")))
        #expect(outcomes[2] == .end)
    }

    @Test func response_withEmptyCloseDelimitedBody_endsAtFinish() {
        #expect(parseResponse("HTTP/1.0 200 OK\r\n\r\n").count == 2)
        #expect(parseResponse("HTTP/1.0 200 OK\r\n\r\n").last == .end)
    }

    @Test func response_withOtherFinalCoding_isCloseDelimited() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw bytes")
        #expect(outcomes.dropFirst().first == .body(bytes("raw bytes")))
        #expect(outcomes.last == .end)
    }

    @Test func response_withCodingBeforeChunked_passesTheCodedBytesThrough() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(outcomes.dropFirst().first == .body(bytes("abc")))
        #expect(outcomes.last == .end)
    }

    @Test func response_truncatedInsideAContentLengthBody_failsAtFinish() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        #expect(outcomes.dropFirst().first == .body(bytes("abc")))
        #expect(outcomes.last == .failure(.truncatedMessage))
    }

    @Test func response_truncatedInsideAChunkedBody_failsAtFinish() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
        #expect(outcomes.last == .failure(.truncatedMessage))
        let inTrailers = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n")
        #expect(inTrailers.last == .failure(.truncatedMessage))
    }

    @Test func response_truncatedInsideTheHead_failsAtFinish() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Len") == [.failure(.truncatedMessage)])
        #expect(HTTPParseError.truncatedMessage.status == 502)
    }

    @Test func finish_betweenResponses_reportsNothing() throws {
        var parser = HTTPResponseParser()
        #expect(try parser.finish() == nil)
        let outcomes = run(&parser, bytes("HTTP/1.1 204 No Content\r\n\r\n"), cuts: [], finish: true)
        #expect(outcomes.count == 2)
    }

    @Test func responseToHead_hasNoBody_whateverItsHeadersSay() {
        let outcomes = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method: .head)
        #expect(outcomes.count == 2)
        #expect(outcomes.last == .end)
        let chunked = parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head)
        #expect(chunked.count == 2)
    }

    @Test(arguments: [204, 304])
    func responseWithNoContentStatus_hasNoBody(status: Int) {
        let outcomes = parseResponse("HTTP/1.1 \(status) X\r\nContent-Length: 5\r\n\r\n")
        #expect(outcomes.count == 2)
        #expect(outcomes.last == .end)
    }

    @Test func informationalResponses_thenTheFinalResponse_areReportedInOrder() throws {
        let outcomes = parseResponse(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
            method: .head
        )
        let statuses = outcomes.compactMap { outcome -> Int? in
            if case .head(let head) = outcome { return head.statusCode }
            return nil
        }
        #expect(statuses == [100, 103, 200])
        // HEAD applies to the final response too: 1xx responses do not use up the request method.
        #expect(outcomes.count == 6)
        #expect(outcomes.last == .end)
    }

    @Test func informationalResponse_thenFinalResponseToGet_hasItsBody() {
        let outcomes = parseResponse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(outcomes.count == 5)
        #expect(outcomes[3] == .body(bytes("ok")))
    }

    @Test func switchingProtocols_endsAfterTheHead() {
        let outcomes = parseResponse(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )
        #expect(outcomes.count == 2)
        #expect(firstHead(outcomes)?.headers.containsToken("upgrade", forName: "connection") == true)
    }

    @Test func successfulConnectResponse_hasNoBody() {
        #expect(parseResponse("HTTP/1.1 200 Connection Established\r\n\r\n", method: .connect).count == 2)
    }

    @Test func statusLine_withoutReason_isAccepted() throws {
        #expect(firstHead(parseResponse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"))?.reasonPhrase == "")
        #expect(firstHead(parseResponse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"))?.reasonPhrase == "")
        let head = try #require(firstHead(parseResponse("HTTP/1.0 404 Not Found Here\r\nContent-Length: 0\r\n\r\n")))
        #expect(head.reasonPhrase == "Not Found Here")
        #expect(!head.isKeepAlive)
    }

    @Test func responsesInSequence_useTheMethodGivenBeforeEach() throws {
        var parser = HTTPResponseParser()
        parser.expectResponse(toRequestMethod: .head)
        let first = run(&parser, bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"), cuts: [], finish: false)
        #expect(first.count == 2)
        // The HEAD expectation applied to one response; the next one defaults to GET.
        let second = run(&parser, bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), cuts: [], finish: false)
        #expect(second.count == 3)
    }

    static let malformed: [(String, String, HTTPParseError)] = [
        ("no status code", "HTTP/1.1 OK\r\n\r\n", .invalidStatusLine),
        ("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", .invalidStatusLine),
        ("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", .invalidStatusLine),
        ("status 600", "HTTP/1.1 600 X\r\n\r\n", .invalidStatusLine),
        ("status 099", "HTTP/1.1 099 X\r\n\r\n", .invalidStatusLine),
        ("HTTP/2 response", "HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("lowercase protocol", "http/1.1 200 OK\r\n\r\n", .invalidVersion),
        ("control byte in reason", "HTTP/1.1 200 O\u{1}K\r\n\r\n", .invalidStatusLine),
        ("bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", .bareCarriageReturn),
        ("whitespace before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", .whitespaceBeforeColon),
        (
            "both framings", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "differing lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            .conflictingContentLength
        ),
        ("invalid length", "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n", .invalidContentLength),
        ("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding),
        (
            "Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            .transferEncodingInHTTP10
        ),
        ("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", .invalidChunkSize),
    ]

    @Test(arguments: Self.malformed)
    func malformedResponse_isRejected(name: String, input: String, expected: HTTPParseError) {
        #expect(failure(parseResponse(input)) == expected, "\(name)")
    }

    @Test func statusLine_longerThanTheLimit_isRejected() {
        let limits = HTTPParserLimits(maximumStartLineLength: 20)
        #expect(
            parseResponse("HTTP/1.1 200 " + String(repeating: "r", count: 7) + "\r\n\r\n", limits: limits).count == 2
        )
        #expect(
            parseResponse("HTTP/1.1 200 " + String(repeating: "r", count: 8) + "\r\n\r\n", limits: limits)
                == [.failure(.statusLineTooLong)]
        )
    }

    @Test func closeDelimitedBody_atTheLimit_passes_andOneByteMore_fails() {
        let limits = HTTPParserLimits(maximumBodySize: 4)
        #expect(parseResponse("HTTP/1.1 200 OK\r\n\r\nabcd", limits: limits).last == .end)
        let over = parseResponse("HTTP/1.1 200 OK\r\n\r\nabcde", limits: limits)
        #expect(over.dropFirst().first == .body(bytes("abcd")))
        #expect(over.last == .failure(.bodyTooLarge))
    }

    @Test func contentLength_overTheResponseLimit_isRejected() {
        let limits = HTTPParserLimits(maximumBodySize: 4)
        #expect(
            parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", limits: limits) == [.failure(.bodyTooLarge)]
        )
        #expect(HTTPParserLimits.responseDefaults.maximumBodySize == 64 * 1024 * 1024)
    }
}
