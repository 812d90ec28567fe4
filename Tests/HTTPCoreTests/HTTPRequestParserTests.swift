import IOCore
import Testing

@testable import HTTPCore

@Suite("HTTPRequestParser: valid requests")
struct HTTPRequestParserValidTests {
    @Test func getRequest_whenComplete_reportsHeadThenEnd() throws {
        let outcomes = parseRequest(
            "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n"
                + "Accept: */*\r\n\r\n"
        )
        #expect(outcomes.count == 2)
        #expect(outcomes.last == .end)
        let head = try #require(firstHead(outcomes))
        #expect(head.method == .get)
        #expect(head.target == "/socket.io/?EIO=4&transport=polling")
        #expect(head.path == "/socket.io/")
        #expect(head.query == "EIO=4&transport=polling")
        #expect(head.version == .http1_1)
        #expect(head.headers.count == 3)
        #expect(head.headers["host"] == "example.com")
        #expect(head.headers["USER-AGENT"] == "test")
        #expect(head.isKeepAlive)
    }

    @Test func requestTarget_withPercentEscapes_decodesThePathOnly() throws {
        let head = try #require(firstHead(parseRequest("GET /a%20b/%C3%A9?q=%20x HTTP/1.1\r\nHost: h\r\n\r\n")))
        #expect(head.path == "/a b/é")
        #expect(head.query == "q=%20x")
    }

    @Test func requestTarget_withEmptyQuery_hasEmptyQueryString() throws {
        let head = try #require(firstHead(parseRequest("GET /x? HTTP/1.1\r\nHost: h\r\n\r\n")))
        #expect(head.path == "/x")
        #expect(head.query == "")
        let noQuery = try #require(firstHead(parseRequest("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")))
        #expect(noQuery.query == nil)
    }

    @Test func requestTarget_inAbsoluteForm_yieldsItsPath() throws {
        let head = try #require(
            firstHead(parseRequest("GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        )
        #expect(head.path == "/p/q")
        #expect(head.query == "x=1")
        let bare = try #require(
            firstHead(parseRequest("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        )
        #expect(bare.path == "/")
        #expect(bare.query == nil)
    }

    @Test func requestTarget_asteriskForOptions_isAccepted() throws {
        let head = try #require(firstHead(parseRequest("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")))
        #expect(head.method == .options)
        #expect(head.path == "*")
    }

    @Test func connectRequest_withAuthorityForm_hasEmptyPath() throws {
        let head = try #require(
            firstHead(parseRequest("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
        )
        #expect(head.method == .connect)
        #expect(head.target == "example.com:443")
        #expect(head.path == "")
    }

    @Test func unknownMethodToken_isAccepted() throws {
        let head = try #require(firstHead(parseRequest("PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n")))
        #expect(head.method == HTTPMethod(rawValue: "PROPFIND"))
    }

    @Test func postRequest_withContentLength_reportsTheBody() {
        let outcomes = parseRequest("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(outcomes.count == 3)
        #expect(outcomes.dropFirst().first == .body(bytes("hello world")))
        #expect(outcomes.last == .end)
    }

    @Test func contentLengthZero_hasNoBody() {
        let outcomes = parseRequest("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        #expect(outcomes.count == 2)
        #expect(outcomes.last == .end)
    }

    @Test func contentLength_repeatedWithTheSameValue_isAccepted() {
        let outcomes = parseRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\nContent-Length: 003\r\n\r\nabc"
        )
        #expect(outcomes.dropFirst().first == .body(bytes("abc")))
        #expect(outcomes.last == .end)
    }

    @Test func chunkedBody_withExtensionsAndTrailers_reportsTheDecodedBody() {
        let outcomes = parseRequest(
            "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value;flag\r\nhello\r\n"
                + "6 ; quoted=\"a \\\"b\\\" c\" ; x = y\r\n world\r\n"
                + "0;last\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n"
        )
        #expect(outcomes.count == 3)
        #expect(outcomes.dropFirst().first == .body(bytes("hello world")))
        #expect(outcomes.last == .end)
    }

    @Test func chunkedBody_withUppercaseHexAndLeadingZeros_isDecoded() {
        let body = String(repeating: "z", count: 0x1A)
        let outcomes = parseRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n001A\r\n\(body)\r\n0\r\n\r\n"
        )
        #expect(outcomes.dropFirst().first == .body(bytes(body)))
        #expect(outcomes.last == .end)
    }

    @Test func pipelinedRequests_inOneBuffer_areReportedInOrder() throws {
        let outcomes = parseRequest(
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
                + "\r\n"  // an extra CRLF after a body, as some clients send
                + "GET /4 HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        let paths = outcomes.compactMap { outcome -> String? in
            if case .head(let head) = outcome { return head.path }
            return nil
        }
        #expect(paths == ["/1", "/2", "/3", "/4"])
        #expect(outcomes.filter { $0 == .end }.count == 4)
        #expect(outcomes.contains(.body(bytes("abc"))))
        #expect(outcomes.contains(.body(bytes("de"))))
        #expect(outcomes.count == 10)
    }

    @Test func bareLineFeedLineEndings_areAccepted() throws {
        let outcomes = parseRequest("POST /lf HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n")
        #expect(firstHead(outcomes)?.path == "/lf")
        #expect(outcomes.dropFirst().first == .body(bytes("abc")))
        #expect(outcomes.last == .end)
    }

    @Test func headerValues_haveSurroundingWhitespaceTrimmed() throws {
        let head = try #require(
            firstHead(parseRequest("GET / HTTP/1.1\r\nHost: h\r\nX-A:   spaced value \t \r\nX-B:\r\n\r\n"))
        )
        #expect(head.headers["x-a"] == "spaced value")
        #expect(head.headers["x-b"] == "")
    }

    @Test func headerValues_withObsText_areAccepted() throws {
        let input: [UInt8] = bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf") + [0xC3, 0xA9] + bytes("\r\n\r\n")
        let outcomes = parseEverySplit({ HTTPRequestParser() }, input)
        #expect(firstHead(outcomes)?.headers["x-name"] == "café")
    }

    @Test func leadingEmptyLines_beforeTheRequestLine_areSkipped() throws {
        let outcomes = parseRequest("\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(firstHead(outcomes)?.path == "/")
    }

    @Test func http10Request_withoutHost_isAccepted() throws {
        let head = try #require(firstHead(parseRequest("GET / HTTP/1.0\r\n\r\n")))
        #expect(head.version == .http1_0)
        #expect(head.headers.isEmpty)
    }

    @Test func http1MinorVersionAbove1_isAccepted() throws {
        let head = try #require(firstHead(parseRequest("GET / HTTP/1.2\r\nHost: h\r\n\r\n")))
        #expect(head.version == HTTPVersion(major: 1, minor: 2))
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Upgrade, CLOSE\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: foo,  Keep-Alive \r\n", true),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
    ])
    func keepAlive_followsTheVersionAndConnectionRules(version: String, header: String, expected: Bool) throws {
        let head = try #require(firstHead(parseRequest("GET / \(version)\r\nHost: h\r\n\(header)\r\n")))
        #expect(head.isKeepAlive == expected)
    }

    @Test func parser_betweenRequests_isAtAMessageBoundary() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isAtMessageBoundary)
        let input = bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab")
        let outcomes = run(&parser, Array(input.dropLast()), cuts: [], finish: false)
        #expect(outcomes.count == 2)
        #expect(!parser.isAtMessageBoundary)
        _ = run(&parser, [input.last!], cuts: [], finish: false)
        #expect(parser.isAtMessageBoundary)
    }

    @Test func parserState_afterAnEvent_needsNoMoreBytesForTheEnd() throws {
        var parser = HTTPRequestParser()
        var input = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let (first, consumed) = try input.withUnsafeBytes { raw throws(HTTPParseError) in try parser.next(raw) }
        #expect(consumed == input.count)
        guard case .head? = first else {
            Issue.record("expected a head")
            return
        }
        input = []
        let (second, none) = try input.withUnsafeBytes { raw throws(HTTPParseError) in try parser.next(raw) }
        #expect(second == .end)
        #expect(none == 0)
        let (third, _) = try input.withUnsafeBytes { raw throws(HTTPParseError) in try parser.next(raw) }
        #expect(third == nil)
    }
}

@Suite("HTTPRequestParser: malformed requests")
struct HTTPRequestParserMalformedTests {
    static let cases: [(String, String, HTTPParseError)] = [
        ("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", .invalidVersion),
        ("version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", .invalidVersion),
        ("two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", .invalidVersion),
        ("HTTP/2", "PRI * HTTP/2.0\r\n\r\n", .unsupportedVersion),
        ("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", .unsupportedVersion),
        ("no version", "GET /\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .invalidVersion),
        ("bad method byte", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("control byte in target", "GET /\u{01} HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("non-ASCII target", "GET /é HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("relative target", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("bad percent escape", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("truncated percent escape", "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("percent escape to invalid UTF-8", "GET /%FF HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestTarget),
        ("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", .bareCarriageReturn),
        ("bare CR in header value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .bareCarriageReturn),
        ("bare CR ending a header", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", .bareCarriageReturn),
        ("bare CR before the request", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", .bareCarriageReturn),
        ("CR CR LF", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", .bareCarriageReturn),
        ("whitespace before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", .whitespaceBeforeColon),
        ("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", .whitespaceBeforeColon),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", .obsoleteLineFolding),
        ("whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", .obsoleteLineFolding),
        ("empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", .invalidHeaderName),
        ("no colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .invalidHeaderName),
        ("bad name byte", "GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n", .invalidHeaderName),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", .invalidHeaderValue),
        ("DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}b\r\n\r\n", .invalidHeaderValue),
        ("missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", .missingHost),
        ("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHost),
        ("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", .invalidHost),
        ("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .invalidHost),
        (
            "Content-Length not a number", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
            .invalidContentLength
        ),
        ("negative Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", .invalidContentLength),
        ("empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("hex Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        (
            "Content-Length with space inside", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n",
            .invalidContentLength
        ),
        (
            "trailing comma in Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,\r\n\r\n",
            .invalidContentLength
        ),
        (
            "differing Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n",
            .conflictingContentLength
        ),
        (
            "differing Content-Length fields",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .conflictingContentLength
        ),
        (
            "Content-Length and Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "Transfer-Encoding and Content-Length",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "chunked not final", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            .invalidTransferEncoding
        ),
        ("only gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding),
        (
            "chunked twice",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "chunked with a parameter", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "misspelt chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunkedx\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "Transfer-Encoding with a space in a coding",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chun ked\r\n\r\n", .invalidTransferEncoding
        ),
        (
            "unknown coding before chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            .unsupportedTransferCoding
        ),
        (
            "Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            .transferEncodingInHTTP10
        ),
        (
            "chunk size not hex", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
            .invalidChunkSize
        ),
        ("empty chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .invalidChunkSize),
        (
            "chunk size with 0x", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n",
            .invalidChunkSize
        ),
        (
            "negative chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
            .invalidChunkSize
        ),
        (
            "whitespace after chunk size",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
            .invalidChunkExtension
        ),
        (
            "chunk extension without name", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\n",
            .invalidChunkExtension
        ),
        (
            "chunk extension without value", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\r\n",
            .invalidChunkExtension
        ),
        (
            "unterminated quoted extension",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\r\n", .invalidChunkExtension
        ),
        (
            "bare CR in chunk size line",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n", .bareCarriageReturn
        ),
        (
            "chunk data longer than its size",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
            .invalidChunkTerminator
        ),
        (
            "CR without LF after chunk data",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX", .bareCarriageReturn
        ),
        (
            "bad trailer field",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
            .whitespaceBeforeColon
        ),
        (
            "obs-fold in trailer",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n",
            .obsoleteLineFolding
        ),
        (
            "huge Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
            .bodyTooLarge
        ),
        (
            "huge chunk size",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n", .bodyTooLarge
        ),
        (
            "too many empty lines", String(repeating: "\r\n", count: 9) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            .tooManyEmptyLines
        ),
    ]

    @Test(arguments: Self.cases)
    func malformedRequest_isRejectedWithItsStatus(name: String, input: String, expected: HTTPParseError) {
        let outcomes = parseRequest(input)
        #expect(failure(outcomes) == expected, "\(name)")
    }

    @Test func errorStatuses_matchTheRFCAnswers() {
        #expect(HTTPParseError.invalidRequestLine.status == 400)
        #expect(HTTPParseError.bareCarriageReturn.status == 400)
        #expect(HTTPParseError.missingHost.status == 400)
        #expect(HTTPParseError.contentLengthWithTransferEncoding.status == 400)
        #expect(HTTPParseError.invalidTransferEncoding.status == 400)
        #expect(HTTPParseError.bodyTooLarge.status == 413)
        #expect(HTTPParseError.requestLineTooLong.status == 414)
        #expect(HTTPParseError.headersTooLarge.status == 431)
        #expect(HTTPParseError.tooManyHeaders.status == 431)
        #expect(HTTPParseError.unsupportedTransferCoding.status == 501)
        #expect(HTTPParseError.unsupportedVersion.status == 505)
        #expect(HTTPParseError.truncatedMessage.status == 502)
        #expect(!HTTPParseError.whitespaceBeforeColon.message.isEmpty)
    }

    @Test func smuggledRequest_afterAContentLengthBody_isParsedAsItsOwnRequest() {
        // The classic CL.TE attack body: a front end honouring Content-Length and a back end honouring
        // Transfer-Encoding would disagree. Here the message is rejected outright.
        let outcomes = parseRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED"
        )
        #expect(outcomes == [.failure(.contentLengthWithTransferEncoding)])
    }
}

@Suite("HTTPRequestParser: limits")
struct HTTPRequestParserLimitTests {
    static let small = HTTPParserLimits(
        maximumStartLineLength: 40,
        maximumHeaderBytes: 60,
        maximumHeaderCount: 3,
        maximumBodySize: 10,
        maximumChunkLineLength: 8,
        maximumTrailerBytes: 12
    )

    /// A request line of exactly `length` bytes.
    func requestLine(length: Int) -> String {
        let fixed = "GET / HTTP/1.1".utf8.count
        return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
    }

    @Test func requestLine_atTheLimit_passes_andOneByteMore_fails() {
        let atLimit = parseRequest(self.requestLine(length: 40) + "\r\nHost: h\r\n\r\n", limits: Self.small)
        #expect(atLimit.last == .end)
        let over = parseRequest(self.requestLine(length: 41) + "\r\nHost: h\r\n\r\n", limits: Self.small)
        #expect(over == [.failure(.requestLineTooLong)])
        #expect(HTTPParseError.requestLineTooLong.status == 414)
        let overWithBareLineFeed = parseRequest(self.requestLine(length: 41) + "\nHost: h\n\n", limits: Self.small)
        #expect(overWithBareLineFeed == [.failure(.requestLineTooLong)])
    }

    @Test func requestLine_atTheDefaultLimit_passes_andOneByteMore_fails() {
        #expect(parseEverySplitCount(self.requestLine(length: 8192) + "\r\nHost: h\r\n\r\n").last == .end)
        #expect(
            parseEverySplitCount(self.requestLine(length: 8193) + "\r\nHost: h\r\n\r\n") == [
                .failure(.requestLineTooLong)
            ]
        )
    }

    /// Whole and byte-by-byte only (every split of 8 KiB would be slow in debug builds).
    func parseEverySplitCount(_ text: String) -> [RequestOutcome] {
        var whole = HTTPRequestParser()
        let expected = run(&whole, bytes(text), cuts: [], finish: false)
        var bytewise = HTTPRequestParser()
        let outcomes = run(
            &bytewise,
            bytes(text),
            cuts: Array(0..<text.utf8.count),
            finish: false,
            maximumBuffered: 8192 + 16384 + 400
        )
        #expect(outcomes == expected)
        return expected
    }

    @Test func headerBytes_atTheLimit_pass_andOneByteMore_fails() {
        // Field lines excluding line endings: "Host: h" (7) + "X: " (3) + value.
        let atLimit = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 50) + "\r\n\r\n"
        #expect(parseRequest(atLimit, limits: Self.small).last == .end)
        let over = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 51) + "\r\n\r\n"
        #expect(parseRequest(over, limits: Self.small) == [.failure(.headersTooLarge)])
        let overWithBareLineFeed = "GET / HTTP/1.1\nHost: h\nX: " + String(repeating: "v", count: 51) + "\n\n"
        #expect(parseRequest(overWithBareLineFeed, limits: Self.small) == [.failure(.headersTooLarge)])
    }

    @Test func headerCount_atTheLimit_passes_andOneMore_fails() {
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: Self.small).last == .end)
        #expect(
            parseRequest("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: Self.small)
                == [.failure(.tooManyHeaders)]
        )
    }

    @Test func headerCount_atTheDefaultLimit_passes_andOneMore_fails() {
        let fields = (1..<100).map { "X-\($0): v\r\n" }.joined()
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\(fields)\r\n").last == .end)
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\(fields)Y: 1\r\n\r\n") == [.failure(.tooManyHeaders)])
    }

    @Test func contentLength_atTheLimit_passes_andOneByteMore_fails() {
        let atLimit = parseRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
            limits: Self.small
        )
        #expect(atLimit.last == .end)
        let over = parseRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n0123456789a",
            limits: Self.small
        )
        #expect(over == [.failure(.bodyTooLarge)])
    }

    @Test func contentLength_atTheDefaultLimit_passes_andOneByteMore_fails() {
        var parser = HTTPRequestParser()
        let body = [UInt8](repeating: 0x61, count: 1024 * 1024)
        let atLimit = run(
            &parser,
            bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n") + body,
            cuts: [100, 5000],
            finish: false
        )
        #expect(atLimit.last == .end)
        #expect(atLimit.dropFirst().first == .body(body))
        var over = HTTPRequestParser()
        let rejected = run(
            &over,
            bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n"),
            cuts: [],
            finish: false
        )
        #expect(rejected == [.failure(.bodyTooLarge)])
    }

    @Test func chunkedBody_atTheLimit_passes_andOneByteMore_fails() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        let atLimit = parseRequest(head + "4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n", limits: Self.small)
        #expect(atLimit.last == .end)
        let over = parseRequest(head + "4\r\n0123\r\n7\r\n456789a\r\n0\r\n\r\n", limits: Self.small)
        #expect(over.last == .failure(.bodyTooLarge))
        #expect(over.dropFirst().first == .body(bytes("0123")))
    }

    @Test func chunkLine_atTheLimit_passes_andOneByteMore_fails() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(parseRequest(head + "1;abcdef\r\nx\r\n0\r\n\r\n", limits: Self.small).last == .end)
        #expect(
            parseRequest(head + "1;abcdefg\r\nx\r\n0\r\n\r\n", limits: Self.small).last == .failure(.chunkLineTooLong)
        )
        #expect(
            parseRequest(head + "000000001\r\nx\r\n0\r\n\r\n", limits: Self.small).last == .failure(.chunkLineTooLong)
        )
    }

    @Test func trailerBytes_atTheLimit_pass_andOneByteMore_fail() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(parseRequest(head + "T: 123456789\r\n\r\n", limits: Self.small).last == .end)
        #expect(parseRequest(head + "T: 1234567890\r\n\r\n", limits: Self.small).last == .failure(.trailersTooLarge))
        #expect(
            parseRequest(head + "A:1\r\nB:2\r\nC:3\r\nD:4\r\n\r\n", limits: Self.small).last
                == .failure(.tooManyHeaders)
        )
    }

    @Test func bufferedBytes_forAHeadFedByteByByte_stayWithinTheLimits() {
        let limits = HTTPParserLimits()
        let fields = (1..<100).map { "X-\($0): " + String(repeating: "v", count: 150) + "\r\n" }.joined()
        let input = bytes(self.requestLine(length: 8192) + "\r\nHost: h\r\n" + fields + "\r\n")
        var parser = HTTPRequestParser(limits: limits)
        // Start line + header bytes + line endings for each line.
        let bound = limits.maximumStartLineLength + limits.maximumHeaderBytes + 2 * (limits.maximumHeaderCount + 2)
        let outcomes = run(&parser, input, cuts: Array(0..<input.count), finish: false, maximumBuffered: bound)
        #expect(outcomes.last == .end)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func unendingHeaderLine_isRejectedOnceItPassesTheLimit() {
        var parser = HTTPRequestParser(limits: Self.small)
        let input = bytes("GET / HTTP/1.1\r\nX: ") + [UInt8](repeating: 0x61, count: 1000)
        var thrown: HTTPParseError?
        do throws(HTTPParseError) {
            _ = try input.withUnsafeBufferPointer { buffer throws(HTTPParseError) in
                try parser.next(UnsafeRawBufferPointer(buffer))
            }
        } catch {
            thrown = error
        }
        #expect(thrown == .headersTooLarge)
        #expect(parser.bufferedByteCount == 0)
    }
}
