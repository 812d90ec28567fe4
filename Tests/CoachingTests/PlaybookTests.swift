import Foundation
import JSON
import Testing

@testable import Coaching

/// Builds playbook documents by editing the embedded one, and writes them to temporary files.
enum PlaybookFixture {
    static func standardObject() throws -> JSONObject {
        try #require(JSONParser.parse(DefaultPlaybook.json).objectValue)
    }

    /// The standard playbook with `body` applied to its root object.
    static func edited(_ body: (inout JSONObject) throws -> Void) throws -> JSONValue {
        var root = try Self.standardObject()
        try body(&root)
        return .object(root)
    }

    /// Applies `body` to the element `index` of the array of objects at `key`.
    static func editElement(
        _ root: inout JSONObject,
        _ key: String,
        _ index: Int,
        _ body: (inout JSONObject) throws -> Void
    ) throws {
        var array = try #require(root[key]?.arrayValue)
        var element = try #require(array[index].objectValue)
        try body(&element)
        array[index] = .object(element)
        root[key] = .array(array)
    }

    static func editObject(_ root: inout JSONObject, _ key: String, _ body: (inout JSONObject) throws -> Void) throws {
        var object = try #require(root[key]?.objectValue)
        try body(&object)
        root[key] = .object(object)
    }

    /// Replaces trigger `index` of objection category `category` with `value`.
    static func setTrigger(_ root: inout JSONObject, category: Int, index: Int, to value: JSONValue) throws {
        try Self.editElement(&root, "objections", category) { object in
            var triggers = try #require(object["triggers"]?.arrayValue)
            triggers[index] = value
            object["triggers"] = .array(triggers)
        }
    }

    /// Writes `bytes` to a new temporary file and returns its path; the caller removes it.
    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("playbook-\(UUID().uuidString).json")
            .path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    static func write(_ text: String) throws -> String {
        try Self.write(Array(text.utf8))
    }

    static func write(_ value: JSONValue) throws -> String {
        try Self.write(value.jsonString)
    }

    /// The error `init(json:)` throws for `value`, if any.
    static func error(for value: JSONValue) -> PlaybookError? {
        do {
            _ = try Playbook(json: value)
            return nil
        } catch {
            return error
        }
    }
}

@Suite("Playbook")
struct PlaybookTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the embedded playbook parses and is rich: 6+ objection categories of 5+ triggers, 8+ discovery topics")
    func standardIsRich() {
        let playbook = Playbook.standard
        let objections = playbook.objections.filter { $0.kind == .objection }
        #expect(objections.count >= 6)
        for id in ["price", "timing", "authority", "need", "trust"] { #expect(objections.contains { $0.id == id }) }
        #expect(playbook.objections.contains { $0.kind == .competitor })
        #expect(playbook.discovery.count >= 8)
        // Count triggers per category through the compiled matcher's tags.
        var triggers: [Int: Int] = [:]
        for pattern in playbook.matcher.patterns where PhraseTag.group(pattern.tag) == .objectionTrigger {
            triggers[PhraseTag.index(pattern.tag), default: 0] += 1
        }
        for index in playbook.objections.indices {
            #expect((triggers[index] ?? 0) >= 5, "\(playbook.objections[index].id)")
        }
        for objection in playbook.objections { #expect((2...3).contains(objection.tip.options.count)) }
        #expect(playbook.name == "Earpiece default B2B playbook")
    }

    @Test("deploy/playbook.example.json is the embedded playbook, byte for byte")
    func exampleFileMatchesEmbedded() throws {
        let path = Self.repository.appendingPathComponent("deploy/playbook.example.json").path
        let file = try String(contentsOfFile: path, encoding: .utf8)
        // The file ends with a newline; the literal does not.
        #expect(
            file == DefaultPlaybook.json + "\n",
            "deploy/playbook.example.json and DefaultPlaybook.swift have drifted: copy one to the other"
        )
        #expect(try JSONParser.parse(file) == JSONParser.parse(DefaultPlaybook.json))
        let loaded = try Playbook.load(path: path)
        #expect(loaded.name == Playbook.standard.name)
        #expect(loaded.matcher.patterns.count == Playbook.standard.matcher.patterns.count)
    }

    @Test("a playbook loaded from a file replaces the embedded one in the coach")
    func customPlaybookDrivesTheCoach() throws {
        let value = try PlaybookFixture.edited { root in
            try PlaybookFixture.editElement(&root, "objections", 0) { price in
                price["id"] = "legal"
                price["name"] = "legal"
                price["headline"] = "Legal review ahead: offer the {product} paper pack"
                price["triggers"] = ["our lawyers", "legal review"]
            }
        }
        let path = try PlaybookFixture.write(value)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let coach = RuleCoach(playbook: try Playbook.load(path: path))
        var script = CallScript.opening
        script.customer("Our lawyers will want to look at the contract first.")
        let tip = try #require(coach.tip(for: script.context(metadata: ["product": "Ledgerly"])))
        #expect(tip.ruleID == "objection.legal")
        #expect(tip.headline == "Legal review ahead: offer the Ledgerly paper pack")
        // The standard playbook does not know the phrase.
        #expect(RuleCoach().tip(for: script.context())?.ruleID != "objection.legal")
    }

    @Test("a missing file is cannotOpen, and the message names the path")
    func missingFile() {
        let path = "/nonexistent/earpiece/playbook.json"
        #expect {
            try Playbook.load(path: path)
        } throws: { error in
            let error = error as? PlaybookError
            return error == .cannotOpen
                && error?.description == "playbook \(path): cannot open the file (no such file or directory)"
        }
    }

    @Test("a directory is cannotRead")
    func directory() {
        #expect(throws: PlaybookError.cannotRead) {
            try Playbook.load(path: FileManager.default.temporaryDirectory.path)
        }
    }

    @Test("a file over 1 MiB is fileTooLarge; an empty or malformed one is invalidJSON")
    func sizeAndSyntax() throws {
        let large = try PlaybookFixture.write(
            [UInt8](repeating: UInt8(ascii: " "), count: Playbook.maximumFileBytes + 1)
        )
        let empty = try PlaybookFixture.write([])
        let malformed = try PlaybookFixture.write("{\"name\": \"x\",}")
        let binary = try PlaybookFixture.write([0xFF, 0xFE, 0x00, 0x7B])
        defer { for path in [large, empty, malformed, binary] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(throws: PlaybookError.fileTooLarge) { try Playbook.load(path: large) }
        #expect(throws: PlaybookError.invalidJSON) { try Playbook.load(path: empty) }
        #expect(throws: PlaybookError.invalidJSON) { try Playbook.load(path: malformed) }
        #expect(throws: PlaybookError.invalidJSON) { try Playbook.load(path: binary) }
        do {
            _ = try Playbook.load(path: malformed)
        } catch {
            #expect(error.description.hasPrefix("playbook \(malformed): "))
            #expect(error.description.contains("not valid JSON: "))
            #expect(error.description.contains(" at byte "))
        }
    }

    /// Each malformed document, the error code, and the location the message must name.
    static let malformedCases:
        [(name: String, code: PlaybookError, location: String, edit: @Sendable (inout JSONObject) throws -> Void)] = [
            ("name not a string", .wrongType, "name", { root in root["name"] = 5 }),
            ("missing objections", .missingKey, "objections", { root in root["objections"] = nil }),
            ("objections not an array", .wrongType, "objections", { root in root["objections"] = "price" }),
            ("empty objections", .emptyValue, "objections", { root in root["objections"] = .array([]) }),
            (
                "empty trigger list", .emptyValue, "objections[1].triggers",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 1) { $0["triggers"] = .array([]) }
                }
            ),
            (
                "trigger not a string", .wrongType, "objections[0].triggers[2]",
                { root in
                    try PlaybookFixture.setTrigger(&root, category: 0, index: 2, to: 42)
                }
            ),
            (
                "blank trigger", .emptyValue, "objections[0].triggers[0]",
                { root in
                    try PlaybookFixture.setTrigger(&root, category: 0, index: 0, to: "   ")
                }
            ),
            (
                "trigger starting with punctuation", .invalidPhrase, "objections[0].triggers[0]",
                { root in
                    try PlaybookFixture.setTrigger(&root, category: 0, index: 0, to: "...too much")
                }
            ),
            (
                "duplicate id", .duplicateID, "objections[1].id",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 1) { $0["id"] = "price" }
                }
            ),
            (
                "duplicate discovery id", .duplicateID, "discovery[1].id",
                { root in
                    try PlaybookFixture.editElement(&root, "discovery", 1) { $0["id"] = "current-process" }
                }
            ),
            (
                "trigger in two categories", .duplicatePhrase, "objections[1].triggers[0]",
                { root in
                    try PlaybookFixture.setTrigger(&root, category: 1, index: 0, to: "Too Expensive")
                }
            ),
            (
                "misspelt key", .unknownKey, "objections[0].trigers",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { $0["trigers"] = .array(["x"]) }
                }
            ),
            (
                "unknown placeholder", .unknownPlaceholder, "objections[0].headline",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) {
                        $0["headline"] = "Price pushback from {customer}"
                    }
                }
            ),
            (
                "unclosed placeholder", .unknownPlaceholder, "closing.tip.suggestion",
                { root in
                    try PlaybookFixture.editObject(&root, "closing") { closing in
                        var tip = closing["tip"]!.objectValue!
                        tip["suggestion"] = "They said {phrase"
                        closing["tip"] = .object(tip)
                    }
                }
            ),
            (
                "headline over 120 characters", .valueTooLong, "fallback.headline",
                { root in
                    try PlaybookFixture.editObject(&root, "fallback") {
                        $0["headline"] = .string(String(repeating: "x", count: 121))
                    }
                }
            ),
            (
                "five answers", .tooManyItems, "objections[0].answers",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { object in
                        let answers = object["answers"]!.arrayValue!
                        object["answers"] = .array(answers + answers.prefix(2))
                    }
                }
            ),
            (
                "answer without followUp", .missingKey, "objections[0].answers[0].followUp",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { object in
                        var answers = object["answers"]!.arrayValue!
                        var first = answers[0].objectValue!
                        first["followUp"] = nil
                        answers[0] = .object(first)
                        object["answers"] = .array(answers)
                    }
                }
            ),
            (
                "duplicate option label", .duplicateID, "objections[0].answers[1].label",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { object in
                        var answers = object["answers"]!.arrayValue!
                        var second = answers[1].objectValue!
                        second["label"] = "quantify the PAIN"
                        answers[1] = .object(second)
                        object["answers"] = .array(answers)
                    }
                }
            ),
            (
                "unknown kind", .invalidValue, "objections[0].kind",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { $0["kind"] = "pricing" }
                }
            ),
            (
                "no competitor category", .missingKey, "objections",
                { root in
                    let objections = root["objections"]!.arrayValue!.filter { $0["kind"]?.stringValue != "competitor" }
                    root["objections"] = .array(objections)
                }
            ),
            (
                "names on a non-competitor category", .invalidValue, "objections[0].names",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { $0["names"] = ["Acme"] }
                }
            ),
            (
                "threshold out of range", .invalidValue, "thresholds.talkRatioHigh",
                { root in
                    try PlaybookFixture.editObject(&root, "thresholds") { $0["talkRatioHigh"] = 1.5 }
                }
            ),
            (
                "threshold low above high", .invalidValue, "thresholds.talkRatioLow",
                { root in
                    try PlaybookFixture.editObject(&root, "thresholds") { $0["talkRatioLow"] = 0.7 }
                }
            ),
            (
                "threshold of the wrong type", .wrongType, "thresholds.monologueSeconds",
                { root in
                    try PlaybookFixture.editObject(&root, "thresholds") { $0["monologueSeconds"] = "sixty" }
                }
            ),
            (
                "implies an unknown topic", .invalidValue, "discovery[1].implies[0]",
                { root in
                    try PlaybookFixture.editElement(&root, "discovery", 1) { $0["implies"] = ["nonsense"] }
                }
            ),
            (
                "id with a space", .invalidValue, "objections[0].id",
                { root in
                    try PlaybookFixture.editElement(&root, "objections", 0) { $0["id"] = "the price" }
                }
            ),
            (
                "missing pacing tip", .missingKey, "pacing.silence",
                { root in
                    try PlaybookFixture.editObject(&root, "pacing") { $0["silence"] = nil }
                }
            ),
        ]

    @Test(
        "malformed playbooks are refused with the right error and location",
        arguments: malformedCases.indices
    )
    func malformed(index: Int) throws {
        let testCase = Self.malformedCases[index]
        let value = try PlaybookFixture.edited(testCase.edit)
        let error = try #require(PlaybookFixture.error(for: value), "\(testCase.name) was accepted")
        #expect(error == testCase.code, "\(testCase.name): \(error)")
        #expect(error.location == testCase.location, "\(testCase.name): \(error)")
        // Through a file, the message also names the path.
        let path = try PlaybookFixture.write(value)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Playbook.load(path: path)
            Issue.record("\(testCase.name) was accepted from a file")
        } catch {
            #expect(error.description.hasPrefix("playbook \(path): \(testCase.location): "), "\(error)")
        }
    }

    @Test("a document that is not an object is refused")
    func notAnObject() {
        #expect(PlaybookFixture.error(for: .array([])) == .wrongType)
        #expect(PlaybookFixture.error(for: .array([]))?.location == "(document)")
    }

    @Test("keys starting with an underscore are comments; thresholds are optional")
    func commentsAndDefaults() throws {
        let value = try PlaybookFixture.edited { root in
            root["_note"] = "anything"
            root["thresholds"] = nil
            try PlaybookFixture.editElement(&root, "objections", 0) { $0["_why"] = ["free", "form"] }
        }
        let playbook = try Playbook(json: value)
        #expect(playbook.thresholds == SignalThresholds())
    }

    @Test("a playbook's thresholds change the signals")
    func thresholdsApply() throws {
        let value = try PlaybookFixture.edited { root in
            try PlaybookFixture.editObject(&root, "thresholds") { $0["monologueSeconds"] = 20 }
        }
        var script = CallScript.opening
        script.agent("And then there is another feature I want to show you.", durationMs: 25_000)
        #expect(RuleCoach(playbook: try Playbook(json: value)).tip(for: script.context())?.ruleID == "pacing.monologue")
        #expect(RuleCoach().tip(for: script.context())?.ruleID != "pacing.monologue")
    }

    @Test("playbook competitor names are matched like metadata names")
    func playbookCompetitorNames() throws {
        let value = try PlaybookFixture.edited { root in
            let index = root["objections"]!.arrayValue!.firstIndex { $0["kind"]?.stringValue == "competitor" }!
            try PlaybookFixture.editElement(&root, "objections", index) { $0["names"] = ["Zendesk", "Freshdesk"] }
        }
        var script = CallScript.opening
        script.customer("Freshdesk is half the price, to be honest with you.")
        let tip = try #require(RuleCoach(playbook: try Playbook(json: value)).tip(for: script.context()))
        #expect(tip.kind == .competitor)
        #expect(tip.headline.hasPrefix("Freshdesk in play"))
    }

    @Test("PlaybookError compares by code and has stable short descriptions")
    func errorIdentity() {
        let error = PlaybookError(.duplicateID, path: "/a", location: "objections[1].id", detail: "x")
        #expect(error == .duplicateID)
        #expect(error != .duplicatePhrase)
        #expect(error.shortDescription == "duplicateID")
        #expect(error.description == "playbook /a: objections[1].id: x")
    }
}
