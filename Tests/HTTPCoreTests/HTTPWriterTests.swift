import IOCore
import Testing

@testable import HTTPCore

@Suite("HTTP writers")
struct HTTPWriterTests {
    @Test func responseHead_writesTheExactWireFormat() {
        var buffer = ByteBuffer()
        let head = HTTPResponseHead(status: .notFound, headers: ["Content-Type": "text/plain", "Content-Length": "0"])
        head.write(into: &buffer)
        #expect(
            buffer.readString() == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
        )
    }

    @Test func responseHead_roundTripsThroughTheResponseParser() throws {
        var buffer = ByteBuffer()
        var headers: HTTPHeaders = ["Set-Cookie": "a=1", "Set-Cookie": "b=2", "Content-Length": "4"]
        headers.add(name: "X-Empty", value: "")
        let head = HTTPResponseHead(version: .http1_1, statusCode: 201, reasonPhrase: "Created", headers: headers)
        head.write(into: &buffer)
        buffer.writeString("body")
        let outcomes = parseEverySplit({ HTTPResponseParser() }, buffer.readableBytesArray)
        #expect(outcomes == [.head(head), .body(bytes("body")), .end])
    }

    @Test func requestHead_roundTripsThroughTheRequestParser() throws {
        var buffer = ByteBuffer()
        let head = HTTPRequestHead(
            method: .post,
            target: "/v1/chat?stream=true",
            headers: ["Host": "api.example.com", "Content-Length": "2", "Authorization": "Bearer k"]
        )
        #expect(head.path == "/v1/chat")
        #expect(head.query == "stream=true")
        head.write(into: &buffer)
        #expect(
            buffer.readableBytesArray.starts(
                with: bytes("POST /v1/chat?stream=true HTTP/1.1\r\nHost: api.example.com\r\n")
            )
        )
        buffer.writeString("{}")
        let outcomes = parseEverySplit({ HTTPRequestParser() }, buffer.readableBytesArray)
        #expect(outcomes == [.head(head), .body(bytes("{}")), .end])
    }

    @Test func requestHead_withUnsafeTarget_isPercentEncoded() throws {
        var buffer = ByteBuffer()
        HTTPRequestHead(method: .get, target: "/a b/é", headers: ["Host": "h"]).write(into: &buffer)
        let head = try #require(firstHead(parseEverySplit({ HTTPRequestParser() }, buffer.readableBytesArray)))
        #expect(head.target == "/a%20b/%C3%A9")
        #expect(head.path == "/a b/é")
    }

    @Test func headerValue_withLineBreaks_cannotSplitTheMessage() throws {
        var buffer = ByteBuffer()
        let head = HTTPResponseHead(
            status: HTTPStatus(code: 200, reasonPhrase: "OK\r\nInjected: reason"),
            headers: ["Location": "/x\r\nSet-Cookie: evil=1\r\n\r\nbody", "Bad Name:\r\n": "v", "Content-Length": "0"]
        )
        head.write(into: &buffer)
        let outcomes = parseEverySplit({ HTTPResponseParser() }, buffer.readableBytesArray)
        let parsed = try #require(firstHead(outcomes))
        #expect(parsed.headers.count == 3)
        #expect(parsed.headers["set-cookie"] == nil)
        #expect(parsed.headers["injected"] == nil)
        #expect(parsed.headers["location"] == "/x  Set-Cookie: evil=1    body")
        #expect(parsed.headers["Bad_Name___"] == "v")
        #expect(parsed.reasonPhrase == "OK  Injected: reason")
        #expect(outcomes.last == .end)
    }

    @Test func chunkedWriters_roundTripThroughTheRequestParser() {
        var buffer = ByteBuffer()
        HTTPRequestHead(method: .post, target: "/", headers: ["Host": "h", "Transfer-Encoding": "chunked"])
            .write(into: &buffer)
        let big = [UInt8](repeating: 0x62, count: 300)
        big.withUnsafeBytes { HTTPChunkedEncoding.writeChunk($0, into: &buffer) }
        HTTPChunkedEncoding.writeChunk(ByteBuffer(string: "tail"), into: &buffer)
        HTTPChunkedEncoding.writeChunk(ByteBuffer(), into: &buffer)  // writes nothing
        HTTPChunkedEncoding.writeLastChunk(trailers: ["X-Sum": "1"], into: &buffer)
        let text = String(decoding: buffer.readableBytesArray, as: UTF8.self)
        #expect(text.contains("\r\n12c\r\n"))
        #expect(text.hasSuffix("tail\r\n0\r\nX-Sum: 1\r\n\r\n"))
        let outcomes = parseEverySplit({ HTTPRequestParser() }, buffer.readableBytesArray)
        #expect(outcomes.dropFirst().first == .body(big + bytes("tail")))
        #expect(outcomes.last == .end)
        var last = ByteBuffer()
        HTTPChunkedEncoding.writeLastChunk(into: &last)
        #expect(last.readString() == "0\r\n\r\n")
    }

    @Test func fastResponseWriter_writesTheExactWireFormat() {
        var buffer = ByteBuffer(string: "previous")
        let headers = HTTPPreencodedHeaders(["Content-Type": "text/plain; charset=UTF-8"])
        HTTPResponseHead.writeResponse(status: .ok, headers: headers, body: "ok", into: &buffer)
        #expect(
            buffer.readString()
                == "previousHTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 2\r\n\r\nok"
        )
        HTTPResponseHead.writeResponse(
            status: .noContent,
            headers: HTTPPreencodedHeaders(),
            connection: .close,
            body: "",
            into: &buffer
        )
        #expect(buffer.readString() == "HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        HTTPResponseHead.writeResponse(
            status: HTTPStatus(code: 200, reasonPhrase: "A\nB"),
            headers: headers,
            connection: .keepAlive,
            body: ByteBuffer(string: String(repeating: "x", count: 12345)),
            into: &buffer
        )
        let text = buffer.readString()
        #expect(
            text.hasPrefix(
                "HTTP/1.1 200 A B\r\nContent-Type: text/plain; charset=UTF-8\r\nConnection: keep-alive\r\n"
                    + "Content-Length: 12345\r\n\r\nxxx"
            )
        )
        #expect(text.utf8.count == 108 + 12345)
    }

    @Test func fastResponseWriter_roundTripsThroughTheResponseParser() throws {
        var buffer = ByteBuffer()
        let headers = HTTPPreencodedHeaders(["Content-Type": "application/octet-stream", "Cache-Control": "no-store"])
        let body = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        body.withUnsafeBytes { HTTPResponseHead.writeResponse(status: .ok, headers: headers, body: $0, into: &buffer) }
        var parser = HTTPResponseParser()
        let outcomes = run(&parser, buffer.readableBytesArray, cuts: [7, 60, 500], finish: false)
        let head = try #require(firstHead(outcomes))
        #expect(head.headers["content-length"] == "1000")
        #expect(head.headers["cache-control"] == "no-store")
        #expect(outcomes.dropFirst().first == .body(body))
        #expect(outcomes.last == .end)
    }

    @Test func statusReasonPhrases_areStandard() {
        #expect(HTTPStatus(code: 404).reasonPhrase == "Not Found")
        #expect(HTTPStatus(code: 431).reasonPhrase == "Request Header Fields Too Large")
        #expect(HTTPStatus(code: 799).reasonPhrase == "")
        #expect(HTTPStatus.standardReasonPhrase(forCode: 413) == "Content Too Large")
        #expect(HTTPStatus.continue.isInformational)
        #expect(HTTPStatus.httpVersionNotSupported.code == 505)
    }
}
