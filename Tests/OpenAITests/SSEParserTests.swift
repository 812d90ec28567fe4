@testable import OpenAI
import Testing

/// Feeds `bytes` in pieces cut at `cuts` and returns the events (or the error).
private func parse(_ bytes: [UInt8], cuts: [Int] = [], limits: SSEParser.Limits = SSEParser.Limits()) -> Result<[SSEEvent], SSEParseError> {
    var parser = SSEParser(limits: limits)
    var events: [SSEEvent] = []
    var start = 0
    do throws(SSEParseError) {
        for cut in cuts.sorted() + [bytes.count] where cut >= start {
            events += try parser.feed(bytes[start..<cut])
            start = cut
        }
    } catch {
        return .failure(error)
    }
    return .success(events)
}

private func events(_ text: String) throws -> [SSEEvent] {
    try parse(Array(text.utf8)).get()
}

@Suite("SSEParser")
struct SSEParserTests {
    @Test func dataLines_separatedByEmptyLines_areOneEventEach() throws {
        #expect(try events("data: a\n\ndata: b\n\n") == [SSEEvent(data: "a"), SSEEvent(data: "b")])
    }

    @Test func multipleDataFields_areJoinedWithNewlines() throws {
        #expect(try events("data: one\ndata: two\ndata:\n\n") == [SSEEvent(data: "one\ntwo\n")])
    }

    @Test func crlfCrAndLfLineEndings_areAllAccepted() throws {
        #expect(try events("data: a\r\n\r\ndata: b\r\rdata: c\n\n") == ["a", "b", "c"].map { SSEEvent(data: $0) })
    }

    @Test func comments_areIgnored_evenBetweenDataLines() throws {
        #expect(try events(": ping\ndata: x\n: another\ndata: y\n\n:\n\n") == [SSEEvent(data: "x\ny")])
    }

    @Test func onlyOneSpaceAfterTheColon_isRemoved() throws {
        #expect(try events("data:no-space\n\ndata:  two-spaces\n\n") == [SSEEvent(data: "no-space"), SSEEvent(data: " two-spaces")])
    }

    @Test func eventAndIDFields_areKept_andRetryAndUnknownFieldsIgnored() throws {
        let parsed = try events("event: update\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\ndata: y\n\n")
        #expect(parsed == [SSEEvent(type: "update", data: "x", lastEventID: "7"), SSEEvent(type: "message", data: "y", lastEventID: "7")])
    }

    @Test func fieldWithoutColon_hasAnEmptyValue() throws {
        #expect(try events("data\ndata\n\n") == [SSEEvent(data: "\n")])
    }

    @Test func eventWithoutData_isNotDispatched() throws {
        #expect(try events("event: ping\n\nid: 3\n\n").isEmpty)
    }

    @Test func unfinishedEventAtTheEnd_isNotDispatched() throws {
        #expect(try events("data: complete\n\ndata: cut short\n") == [SSEEvent(data: "complete")])
    }

    @Test func leadingByteOrderMark_isSkipped() throws {
        #expect(try parse([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8), cuts: [1, 2]).get() == [SSEEvent(data: "x")])
    }

    @Test func everySplitPoint_givesTheSameEventsAsOnePiece() throws {
        // CRLF, CR and LF endings, comments, multi-line data, multi-byte UTF-8, the [DONE] marker.
        let text = "data: {\"content\":\"héllo 👋 wörld\"}\r\n\r\n: keep-alive\r\ndata: line one\rdata: line two\r\r"
            + "event: x\nid: 42\ndata: 日本語\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        let whole = try parse(bytes).get()
        #expect(whole.count == 4)
        #expect(whole[0].data == "{\"content\":\"héllo 👋 wörld\"}")
        #expect(whole[1].data == "line one\nline two")
        #expect(whole[2] == SSEEvent(type: "x", data: "日本語", lastEventID: "42"))
        for cut in 0...bytes.count {
            #expect(try parse(bytes, cuts: [cut]).get() == whole, "split at \(cut)")
        }
        for first in stride(from: 0, through: bytes.count, by: 3) {
            for second in first...bytes.count {
                #expect(try parse(bytes, cuts: [first, second]).get() == whole, "split at \(first) and \(second)")
            }
        }
        #expect(try parse(bytes, cuts: Array(0...bytes.count)).get() == whole, "one byte at a time")
    }

    @Test func crlfSplitBetweenPieces_isOneLineEnding() throws {
        // A CR at the end of one piece and LF at the start of the next must not make an empty line.
        #expect(try parse(Array("data: a\r\ndata: b\r\n\r\n".utf8), cuts: [8]).get() == [SSEEvent(data: "a\nb")])
    }

    @Test func lineLongerThanTheLimit_throws_whetherWholeOrSplit() throws {
        let limits = SSEParser.Limits(maximumLineLength: 16, maximumEventSize: 1024)
        let bytes = Array("data: 0123456789abcdef\n\n".utf8)
        #expect(parse(bytes, limits: limits) == .failure(.lineTooLong))
        #expect(parse(bytes, cuts: [3, 10], limits: limits) == .failure(.lineTooLong))
        // Without a terminator in sight, the partial line is bounded too.
        #expect(parse(Array(repeating: UInt8(ascii: "a"), count: 40), cuts: [10, 20], limits: limits) == .failure(.lineTooLong))
        // Exactly at the limit is fine.
        #expect(try parse(Array("data: 0123456789\n\n".utf8), limits: limits).get() == [SSEEvent(data: "0123456789")])
    }

    @Test func eventLargerThanTheLimit_throws_andTheParserStaysFailed() throws {
        var parser = SSEParser(limits: SSEParser.Limits(maximumLineLength: 64, maximumEventSize: 10))
        #expect(throws: SSEParseError.eventTooLarge) { _ = try parser.feed(Array("data: 12345\ndata: 67890\n".utf8)) }
        #expect(throws: SSEParseError.eventTooLarge) { _ = try parser.feed(Array("data: ok\n\n".utf8)) }
    }

    @Test func manyEventsInOnePiece_areAllDelivered() throws {
        let text = String(repeating: "data: x\n\n", count: 1000)
        #expect(try events(text).count == 1000)
    }
}
