import Testing

@testable import HTTPCore

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test func lookup_ignoresCase_andReturnsTheFirstValue() {
        let headers: HTTPHeaders = ["Accept": "a", "accept": "b", "X": "y"]
        #expect(headers["ACCEPT"] == "a")
        #expect(headers.values(forName: "Accept") == ["a", "b"])
        #expect(headers["missing"] == nil)
        #expect(headers.values(forName: "missing").isEmpty)
        #expect(headers.contains(name: "x"))
        #expect(headers.count == 3)
    }

    @Test func replaceOrAdd_replacesTheFirstInPlace_andRemovesTheRest() {
        var headers: HTTPHeaders = ["A": "1", "B": "2", "a": "3"]
        headers.replaceOrAdd(name: "a", value: "new")
        #expect(Array(headers.map { "\($0.name)=\($0.value)" }) == ["A=new", "B=2"])
        headers.replaceOrAdd(name: "C", value: "4")
        #expect(headers["c"] == "4")
        #expect(headers.count == 3)
    }

    @Test func remove_dropsEveryFieldWithTheName() {
        var headers: HTTPHeaders = ["A": "1", "B": "2", "a": "3"]
        headers.remove(name: "A")
        #expect(headers == ["B": "2"])
        headers.remove(name: "none")
        #expect(headers.count == 1)
    }

    @Test func repeatedReplacement_keepsTheStorageBounded() {
        var headers: HTTPHeaders = ["Keep": "yes"]
        for round in 0..<1000 {
            headers.replaceOrAdd(name: "Counter", value: String(repeating: "v", count: 100) + "\(round)")
            headers.remove(name: "Counter")
            headers.add(name: "Counter", value: "\(round)")
        }
        #expect(headers["counter"] == "999")
        #expect(headers["keep"] == "yes")
        #expect(headers.storage.count < 2048)
    }

    @Test func containsToken_findsCommaSeparatedElements() {
        let headers: HTTPHeaders = ["Connection": "keep-alive, Upgrade", "Connection": " ,close "]
        #expect(headers.containsToken("upgrade", forName: "connection"))
        #expect(headers.containsToken("KEEP-ALIVE", forName: "Connection"))
        #expect(headers.containsToken("close", forName: "connection"))
        #expect(!headers.containsToken("keep", forName: "connection"))
        #expect(!headers.containsToken("upgrade", forName: "upgrade"))
    }

    @Test func equality_comparesNamesAndValuesInOrder() {
        #expect(HTTPHeaders([("A", "1"), ("B", "2")]) == ["A": "1", "B": "2"])
        #expect(HTTPHeaders([("A", "1"), ("B", "2")]) != ["B": "2", "A": "1"])
        #expect(HTTPHeaders([("A", "1")]) != ["a": "1"])
    }

    @Test func description_redactsCredentials() {
        let headers: HTTPHeaders = ["Authorization": "Bearer secret", "Cookie": "sid=secret", "Accept": "*/*"]
        #expect(!headers.description.contains("secret"))
        #expect(headers.description.contains("*/*"))
    }
}

@Suite("HTTPQuery and PercentEncoding")
struct HTTPQueryTests {
    @Test func query_decodesPairsInOrder() throws {
        let query = try HTTPQuery(
            parsing: "EIO=4&transport=polling&t=N8hyd6w&name=a+b%20c&&flag&e=&x=1&x=2&%C3%A9=%E2%82%AC"
        )
        #expect(query.items.map(\.name) == ["EIO", "transport", "t", "name", "flag", "e", "x", "x", "é"])
        #expect(query["EIO"] == "4")
        #expect(query["name"] == "a b c")
        #expect(query["flag"] == "")
        #expect(query["e"] == "")
        #expect(query["x"] == "1")
        #expect(query.values(forName: "x") == ["1", "2"])
        #expect(query["é"] == "€")
        #expect(query["missing"] == nil)
        #expect(try HTTPQuery(parsing: "").items.isEmpty)
        #expect(try HTTPQuery(parsing: "a=b=c")["a"] == "b=c")
    }

    @Test func query_withABadEscape_throws() {
        #expect(throws: HTTPQueryError.invalidPercentEncoding) { try HTTPQuery(parsing: "a=%zz") }
        #expect(throws: HTTPQueryError.invalidPercentEncoding) { try HTTPQuery(parsing: "a=%4") }
        #expect(throws: HTTPQueryError.invalidPercentEncoding) { try HTTPQuery(parsing: "%=1") }
        #expect(throws: HTTPQueryError.invalidUTF8) { try HTTPQuery(parsing: "a=%FF") }
    }

    @Test func query_withTooManyPairs_throws() throws {
        let pairs = (0..<5).map { "k\($0)=v" }.joined(separator: "&")
        #expect(try HTTPQuery(parsing: pairs, maximumItemCount: 5).items.count == 5)
        #expect(throws: HTTPQueryError.tooManyItems) { try HTTPQuery(parsing: pairs + "&k=v", maximumItemCount: 5) }
    }

    @Test func percentDecoding_ofPathSegments_keepsPlus() {
        #expect(PercentEncoding.decode("/a+b%2Fc") == "/a+b/c")
        #expect(PercentEncoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentEncoding.decode("%e2%82%ac") == "€")
        #expect(PercentEncoding.decode("%") == nil)
        #expect(PercentEncoding.decode("%G0") == nil)
        #expect(PercentEncoding.decode("%C3") == nil)
        #expect(PercentEncoding.decode("plain") == "plain")
    }

    @Test func percentEncoding_keepsOnlyUnreservedBytes() {
        #expect(PercentEncoding.encode("a-b_c.d~e") == "a-b_c.d~e")
        #expect(PercentEncoding.encode("a b/€?&=+") == "a%20b%2F%E2%82%AC%3F%26%3D%2B")
        #expect(PercentEncoding.decode(PercentEncoding.encode("ünïcødé /?#")) == "ünïcødé /?#")
    }
}
