import Coaching
import JSON
import Testing

@Suite("Client events: decoding and limits")
struct ClientEventTests {
    private func decode(_ name: String, _ json: String?) throws(CoachingError) -> ClientEvent {
        try ClientEvent(name: name, argument: json.map { try! JSONParser.parse($0) })
    }

    private func refusal(_ name: String, _ json: String?) -> String? {
        do {
            _ = try self.decode(name, json)
            return nil
        } catch {
            #expect(error.code == .invalidPayload)
            return error.message
        }
    }

    @Test func start_appliesDefaults_andKeepsMetadata() throws {
        let event = try self.decode("START_CONVERSATION", #"{"mode":"auto","metadata":{"accountName":"Carrow"}}"#)
        guard case .start(let start) = event else { Issue.record("not a start"); return }
        #expect(start.mode == .auto)
        #expect(start.warmupSeconds == 180)
        #expect(start.intervalSeconds == 30)
        #expect(start.metadata?["accountName"] == "Carrow")
        #expect(start.conversationID == nil)
    }

    @Test func start_refusesOutOfRangeTimings_andBadMode() {
        #expect(self.refusal("START_CONVERSATION", #"{"mode":"auto","warmupSeconds":3601}"#)?.contains("warmupSeconds") == true)
        #expect(self.refusal("START_CONVERSATION", #"{"mode":"auto","intervalSeconds":4}"#)?.contains("intervalSeconds") == true)
        #expect(self.refusal("START_CONVERSATION", #"{"mode":"auto","intervalSeconds":5.5}"#)?.contains("integer") == true)
        #expect(self.refusal("START_CONVERSATION", #"{"mode":"manual"}"#)?.contains("mode") == true)
        #expect(self.refusal("START_CONVERSATION", #"{}"#)?.contains("mode is required") == true)
        #expect((try? self.decode("START_CONVERSATION", #"{"mode":"event","warmupSeconds":0,"intervalSeconds":600}"#)) != nil)
    }

    @Test func start_refusesMetadataOver4KiB() {
        let padding = String(repeating: "x", count: 4096 - #"{"note":""}"#.utf8.count)
        #expect((try? self.decode("START_CONVERSATION", #"{"mode":"auto","metadata":{"note":"\#(padding)"}}"#)) != nil)
        #expect(self.refusal("START_CONVERSATION", #"{"mode":"auto","metadata":{"note":"\#(padding)x"}}"#)?.contains("4096") == true)
    }

    @Test func transcript_decodesEveryField() throws {
        let event = try self.decode("TRANSCRIPT", #"{"conversationId":"c_1","segmentId":"s-1","speaker":"customer","text":"Too pricey.","startMs":10,"endMs":20}"#)
        #expect(event == .transcript(conversationID: "c_1", segment: Segment(id: "s-1", speaker: .customer, text: "Too pricey.", startMs: 10, endMs: 20)))
    }

    @Test func transcript_refusesEachBrokenRule() {
        let base = #""conversationId":"c_1","segmentId":"s-1","speaker":"agent""#
        #expect(self.refusal("TRANSCRIPT", "{\(base),\"text\":\"\"}")?.contains("text must be 1 to 2000") == true)
        let long = String(repeating: "é", count: 2001)
        #expect(self.refusal("TRANSCRIPT", "{\(base),\"text\":\"\(long)\"}")?.contains("got 2001") == true)
        #expect((try? self.decode("TRANSCRIPT", "{\(base),\"text\":\"\(String(long.dropLast()))\"}")) != nil)
        #expect(self.refusal("TRANSCRIPT", "{\(base),\"text\":\"a\",\"startMs\":20,\"endMs\":10}")?.contains("before startMs") == true)
        #expect(self.refusal("TRANSCRIPT", "{\(base),\"text\":\"a\",\"startMs\":-1}")?.contains("startMs") == true)
        #expect(self.refusal("TRANSCRIPT", "{\(base),\"text\":\"a\",\"extra\":1}")?.contains("unknown field 'extra'") == true)
        #expect(self.refusal("TRANSCRIPT", #"{"conversationId":"c 1","segmentId":"s","speaker":"agent","text":"a"}"#)?.contains("conversationId") == true)
        #expect(self.refusal("TRANSCRIPT", #"{"conversationId":"c_1","segmentId":"s","speaker":"rep","text":"a"}"#)?.contains("speaker") == true)
        #expect(self.refusal("TRANSCRIPT", #"["not","an","object"]"#)?.contains("JSON object") == true)
        #expect(self.refusal("TRANSCRIPT", nil)?.contains("needs one argument") == true)
    }

    @Test func ids_areLimitedTo128AllowedCharacters() {
        #expect(Identifier.isValid(String(repeating: "a", count: 128)))
        #expect(!Identifier.isValid(String(repeating: "a", count: 129)))
        #expect(Identifier.isValid("A-z_0.9:x"))
        #expect(!Identifier.isValid(""))
        #expect(!Identifier.isValid("ä"))
        #expect(!Identifier.isValid("a/b"))
    }

    @Test func requestNextTip_decodesRecentSegments_upTo20() throws {
        func segment(_ number: Int) -> String { #"{"segmentId":"s-\#(number)","speaker":"agent","text":"hi"}"# }
        let twenty = (1...20).map(segment).joined(separator: ",")
        let event = try self.decode("REQUEST_NEXT_TIP", #"{"conversationId":"c_1","requestId":"r1","agentUtterance":"I said","recentSegments":[\#(twenty)]}"#)
        guard case .requestTip(let request) = event else { Issue.record("not a request"); return }
        #expect(request.recentSegments.count == 20)
        #expect(request.agentUtterance == "I said")
        let twentyOne = twenty + "," + segment(21)
        #expect(self.refusal("REQUEST_NEXT_TIP", #"{"conversationId":"c_1","requestId":"r1","recentSegments":[\#(twentyOne)]}"#)?.contains("at most 20") == true)
        #expect(self.refusal("REQUEST_NEXT_TIP", #"{"conversationId":"c_1","requestId":"r1","recentSegments":[{"segmentId":"s","speaker":"agent","text":"a","conversationId":"c_1"}]}"#)?.contains("recentSegments[0]") == true)
    }

    @Test func ping_acceptsNothingOrAnEmptyObject_only() throws {
        #expect(try self.decode("PING", nil) == .ping)
        #expect(try self.decode("PING", "{}") == .ping)
        #expect(self.refusal("PING", #"{"x":1}"#)?.contains("unknown field") == true)
    }

    @Test func unknownEvent_isRefused_withAPrintableName() {
        let message = self.refusal("HACK\u{1}\u{7F}", "{}")
        #expect(message == "unknown event 'HACK'")
    }

    @Test func garbage_neverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let names = Array(ClientEvent.names) + ["X"]
        let pieces = [#""conversationId""#, #""segmentId""#, #""text""#, ":", ",", "{", "}", "[", "]", "1", "-1", #""a""#, "null", "true", "1e400", #""\u0000""#]
        for _ in 0..<5000 {
            var text = "{"
            for _ in 0..<Int.random(in: 0...12, using: &generator) { text += pieces.randomElement(using: &generator)! }
            guard let value = try? JSONParser.parse(text) else { continue }
            _ = try? ClientEvent(name: names.randomElement(using: &generator)!, argument: value)
        }
    }
}

extension ClientEventTests {
    @Test func unknownEvent_withoutArgument_isNamedPrintably() {
        #expect(self.refusalWithoutArgument("BAD\u{0}NAME") == "unknown event 'BADNAME'")
    }

    private func refusalWithoutArgument(_ name: String) -> String? {
        do {
            _ = try ClientEvent(name: name, argument: nil)
            return nil
        } catch {
            return error.message
        }
    }
}
