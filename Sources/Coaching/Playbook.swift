public import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rule coach's sales knowledge: objection categories with trigger phrases and answers, discovery
/// questions, next-step and closing cues, reactions, rapport and pacing lines, and the thresholds of the
/// live signals.
///
/// A playbook is JSON, so operators can replace the embedded one (``standard``, also shipped as
/// `deploy/playbook.example.json`) with their own through `PLAYBOOK_FILE` (``load(path:)``). Parsing is
/// strict: a missing key, a wrong type, an empty trigger list, a duplicate id or trigger, an unknown key
/// (a typo would otherwise silently disable a rule) or an unknown `{placeholder}` is a ``PlaybookError``
/// naming the file and the place. Keys starting with `_` are comments and ignored.
///
/// All phrases are folded and compiled into one ``PhraseMatcher`` when the playbook is built, so a tip
/// scans each transcript segment once whatever the playbook's size.
public struct Playbook: Sendable {
    /// The playbook's display name (for logs).
    public let name: String
    let thresholds: SignalThresholds
    let objections: [ObjectionCategory]
    let discovery: [DiscoveryTopic]
    let unansweredQuestion: TipTemplate
    let nextSteps: NextStepTemplates
    let closing: TipTemplate
    let confirmClosing: TipTemplate
    let rapport: TipTemplate
    let pacing: PacingTemplates
    let objectionRetry: (headline: String, suggestion: String)
    let followUpHeadline: String
    let fallback: TipTemplate
    /// Competitor names of the playbook itself (the call's `metadata.competitors` add more), folded,
    /// each with the display spelling and the index of the competitor category.
    let competitorNames: [(display: String, category: Int)]
    /// Every phrase of the playbook, tagged with its ``PhraseGroup`` and index.
    let matcher: PhraseMatcher

    /// The largest playbook file ``load(path:)`` reads.
    static let maximumFileBytes = 1 << 20

    /// Builds a playbook from its JSON form (see `deploy/playbook.example.json`).
    /// - Throws: ``PlaybookError`` naming the first problem found.
    public init(json: JSONValue) throws(PlaybookError) {
        try self.init(json: json, path: nil)
    }

    /// Reads and parses the playbook file at `path` (at most 1 MiB of UTF-8 JSON).
    /// - Throws: ``PlaybookError`` naming `path` and what is wrong: unreadable, too large, not JSON, or
    ///   not a valid playbook.
    public static func load(path: String) throws(PlaybookError) -> Playbook {
        let bytes = try PlaybookFile.contents(path: path, limit: Self.maximumFileBytes)
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) -> JSONValue in try JSONParser.parse(raw) }
        }
        let json: JSONValue
        switch parsed {
        case .success(let value):
            json = value
        case .failure(let error):
            let position = error.offset.map { " at byte \($0)" } ?? ""
            throw PlaybookError(
                .invalidJSON,
                path: path,
                location: "",
                detail: "not valid JSON: \(error.message)\(position)"
            )
        }
        return try Playbook(json: json, path: path)
    }

    /// The embedded default playbook (``DefaultPlaybook``), parsed once.
    public static let standard: Playbook = {
        do {
            return try Playbook(json: JSONParser.parse(DefaultPlaybook.json), path: "<embedded>")
        } catch {
            // The embedded text is ours and a test parses it: failing here is a build defect, not input.
            preconditionFailure("the embedded playbook is invalid: \(error)")
        }
    }()

    init(json: JSONValue, path: String?) throws(PlaybookError) {
        let reader = PlaybookReader(path: path)
        let root = try reader.object(json, at: "")
        try reader.checkKeys(
            root,
            allowed: [
                "name", "version", "thresholds", "objections", "discovery", "questions", "nextSteps", "closing",
                "reactions", "rapport", "pacing", "commitments", "objectionRetry", "followUpHeadline", "fallback",
            ],
            at: ""
        )
        self.name = try reader.string(root, "name", at: "", maximumLength: 120)
        if let version = root["version"] {
            guard version.intValue != nil else { throw reader.wrongType("version", "an integer", at: "") }
        }
        self.thresholds = try SignalThresholds(root["thresholds"], reader: reader)

        var phrases: [(bytes: [UInt8], tag: UInt32)] = []
        var seenPhrases: [PhraseGroup: [[UInt8]: String]] = [:]
        func addPhrases(
            _ list: [String],
            group: PhraseGroup,
            index: Int,
            at location: String,
            numberEach: Bool = false
        ) throws(PlaybookError) {
            for (offset, phrase) in list.enumerated() {
                let here = "\(location)[\(offset)]"
                let folded = TextFolding.fold(phrase)
                guard let first = folded.first, TextFolding.isWordByte(first) else {
                    throw PlaybookError(
                        .invalidPhrase,
                        path: path,
                        location: here,
                        detail: "must start with a letter or digit"
                    )
                }
                // Objection triggers share one group: a phrase in two categories would make the
                // category a coin toss.
                let sharedGroup = group == .competitorName ? PhraseGroup.objectionTrigger : group
                if let earlier = seenPhrases[sharedGroup]?[folded] {
                    throw PlaybookError(
                        .duplicatePhrase,
                        path: path,
                        location: here,
                        detail: "\"\(phrase)\" is already listed at \(earlier)"
                    )
                }
                seenPhrases[sharedGroup, default: [:]][folded] = here
                // Competitor names are numbered one by one (their tag points at the name, not the category).
                phrases.append((folded, PhraseTag.make(group, numberEach ? index + offset : index)))
            }
        }

        /// A section's list of cue phrases, `section.key`, all in one group.
        func addCueList(
            _ object: JSONObject, _ key: String, section: String, group: PhraseGroup, maximumCount: Int = 200
        ) throws(PlaybookError) {
            let list = try reader.strings(object, key, at: section, maximumLength: 100, maximumCount: maximumCount)
            try addPhrases(list, group: group, index: 0, at: "\(section).\(key)")
        }

        /// The entry's `id`, refused when an earlier entry of the same list (`seen`: id → location) has it.
        func uniqueID(_ object: JSONObject, at location: String, among seen: inout [String: String]) throws(PlaybookError) -> String {
            let id = try reader.identifier(object, "id", at: location)
            if let earlier = seen[id] {
                throw PlaybookError(.duplicateID, path: path, location: "\(location).id", detail: "\"\(id)\" is already used by \(earlier)")
            }
            seen[id] = location
            return id
        }

        // Objections (and the competitor category).
        let objectionValues = try reader.array(root, "objections", at: "", minimumCount: 1, maximumCount: 32)
        var objections: [ObjectionCategory] = []
        var competitorNames: [(display: String, category: Int)] = []
        var objectionIDs: [String: String] = [:]
        for (index, value) in objectionValues.enumerated() {
            let location = "objections[\(index)]"
            let object = try reader.object(value, at: location)
            try reader.checkKeys(
                object,
                allowed: ["id", "kind", "name", "triggers", "names", "headline", "suggestion", "answers"],
                at: location
            )
            let id = try uniqueID(object, at: location, among: &objectionIDs)
            let kindText =
                try reader.string(object, "kind", at: location, maximumLength: 20, required: false) ?? "objection"
            let kind: TipKind
            switch kindText {
            case "objection": kind = .objection
            case "competitor": kind = .competitor
            default:
                throw PlaybookError(
                    .invalidValue,
                    path: path,
                    location: "\(location).kind",
                    detail: "must be \"objection\" or \"competitor\""
                )
            }
            let triggers = try reader.strings(object, "triggers", at: location, maximumLength: 100, maximumCount: 200)
            try addPhrases(triggers, group: .objectionTrigger, index: index, at: "\(location).triggers")
            if object["names"] != nil {
                guard kind == .competitor else {
                    throw PlaybookError(
                        .invalidValue,
                        path: path,
                        location: "\(location).names",
                        detail: "only a \"competitor\" category lists names"
                    )
                }
                let names = try reader.strings(
                    object,
                    "names",
                    at: location,
                    maximumLength: 64,
                    maximumCount: 200,
                    allowEmpty: true
                )
                try addPhrases(
                    names,
                    group: .competitorName,
                    index: competitorNames.count,
                    at: "\(location).names",
                    numberEach: true
                )
                for name in names { competitorNames.append((name, index)) }
            }
            let tip = try reader.tipTemplate(object, at: location, optionsKey: "answers", requireFollowUps: true)
            objections.append(
                ObjectionCategory(
                    id: id,
                    kind: kind,
                    name: try reader.string(object, "name", at: location, maximumLength: 40),
                    tip: tip
                )
            )
        }
        guard objections.contains(where: { $0.kind == .competitor }) else {
            throw PlaybookError(
                .missingKey,
                path: path,
                location: "objections",
                detail: "needs one category of kind \"competitor\""
            )
        }
        self.objections = objections
        self.competitorNames = competitorNames

        // Discovery topics.
        let discoveryValues = try reader.array(root, "discovery", at: "", minimumCount: 1, maximumCount: 64)
        var discovery: [DiscoveryTopic] = []
        var discoveryIDs: [String: String] = [:]
        // Each topic's `implies` ids, resolved to indices once every topic is known.
        var impliedIDs: [[String]] = []
        for (index, value) in discoveryValues.enumerated() {
            let location = "discovery[\(index)]"
            let object = try reader.object(value, at: location)
            try reader.checkKeys(
                object,
                allowed: ["id", "topic", "covered", "mentioned", "implies", "headline", "suggestion", "options"],
                at: location
            )
            let id = try uniqueID(object, at: location, among: &discoveryIDs)
            let covered = try reader.strings(object, "covered", at: location, maximumLength: 100, maximumCount: 200)
            try addPhrases(covered, group: .discoveryCovered, index: index, at: "\(location).covered")
            if object["mentioned"] != nil {
                let mentioned = try reader.strings(
                    object,
                    "mentioned",
                    at: location,
                    maximumLength: 100,
                    maximumCount: 200
                )
                try addPhrases(mentioned, group: .discoveryMentioned, index: index, at: "\(location).mentioned")
            }
            impliedIDs.append(
                object["implies"] == nil
                    ? [] : try reader.strings(object, "implies", at: location, maximumLength: 64, maximumCount: 64)
            )
            discovery.append(
                DiscoveryTopic(
                    id: id,
                    topic: try reader.string(object, "topic", at: location, maximumLength: 60),
                    tip: try reader.tipTemplate(object, at: location, optionsKey: "options", requireFollowUps: true),
                    implies: []
                )
            )
        }
        // `implies` names other topics: resolve the ids now that all are known.
        for index in discovery.indices {
            var resolved: [Int] = []
            for (offset, id) in impliedIDs[index].enumerated() {
                guard let target = discovery.firstIndex(where: { $0.id == id }), target != index else {
                    throw PlaybookError(
                        .invalidValue,
                        path: path,
                        location: "discovery[\(index)].implies[\(offset)]",
                        detail: "\"\(id)\" is not the id of another discovery topic"
                    )
                }
                resolved.append(target)
            }
            discovery[index].implies = resolved
        }
        self.discovery = discovery

        // Customer questions.
        let questions = try reader.object(root, "questions", at: "")
        try reader.checkKeys(questions, allowed: ["deflections", "tip"], at: "questions")
        try addCueList(questions, "deflections", section: "questions", group: .deflection)
        self.unansweredQuestion = try reader.tipTemplate(questions, "tip", at: "questions")

        // Next steps.
        let nextSteps = try reader.object(root, "nextSteps", at: "")
        try reader.checkKeys(
            nextSteps,
            allowed: [
                "agreed", "proposals", "times", "acceptances", "wrapUp", "wrapUpTip", "nearEndTip", "momentumTip",
            ],
            at: "nextSteps"
        )
        for (key, group) in [
            ("agreed", PhraseGroup.nextStepAgreed), ("proposals", .nextStepProposal), ("times", .nextStepTime),
            ("acceptances", .acceptance), ("wrapUp", .wrapUp),
        ] {
            try addCueList(nextSteps, key, section: "nextSteps", group: group, maximumCount: 300)
        }
        self.nextSteps = NextStepTemplates(
            wrapUp: try reader.tipTemplate(nextSteps, "wrapUpTip", at: "nextSteps"),
            nearEnd: try reader.tipTemplate(nextSteps, "nearEndTip", at: "nextSteps"),
            momentum: try reader.tipTemplate(nextSteps, "momentumTip", at: "nextSteps")
        )

        // Closing.
        let closing = try reader.object(root, "closing", at: "")
        try reader.checkKeys(closing, allowed: ["buyingSignals", "tip", "confirmTip"], at: "closing")
        try addCueList(closing, "buyingSignals", section: "closing", group: .buyingSignal)
        self.closing = try reader.tipTemplate(closing, "tip", at: "closing")
        self.confirmClosing = try reader.tipTemplate(closing, "confirmTip", at: "closing")

        // Reactions.
        let reactions = try reader.object(root, "reactions", at: "")
        try reader.checkKeys(reactions, allowed: ["positive", "negative"], at: "reactions")
        try addCueList(reactions, "positive", section: "reactions", group: .positive)
        try addCueList(reactions, "negative", section: "reactions", group: .negative)

        // Rapport.
        let rapport = try reader.object(root, "rapport", at: "")
        try reader.checkKeys(rapport, allowed: ["triggers", "tip"], at: "rapport")
        try addCueList(rapport, "triggers", section: "rapport", group: .rapport)
        self.rapport = try reader.tipTemplate(rapport, "tip", at: "rapport")

        // Pacing.
        let pacing = try reader.object(root, "pacing", at: "")
        try reader.checkKeys(
            pacing,
            allowed: ["talkingTooMuch", "talkingTooLittle", "monologue", "silence"],
            at: "pacing"
        )
        self.pacing = PacingTemplates(
            talkingTooMuch: try reader.tipTemplate(pacing, "talkingTooMuch", at: "pacing"),
            talkingTooLittle: try reader.tipTemplate(pacing, "talkingTooLittle", at: "pacing"),
            monologue: try reader.tipTemplate(pacing, "monologue", at: "pacing"),
            silence: try reader.tipTemplate(pacing, "silence", at: "pacing")
        )

        // Commitments, for the summary's action items.
        let commitments = try reader.object(root, "commitments", at: "")
        try reader.checkKeys(commitments, allowed: ["agent", "customer"], at: "commitments")
        try addCueList(commitments, "agent", section: "commitments", group: .agentCommitment)
        try addCueList(commitments, "customer", section: "commitments", group: .customerCommitment)

        let retry = try reader.object(root, "objectionRetry", at: "")
        try reader.checkKeys(retry, allowed: ["headline", "suggestion"], at: "objectionRetry")
        self.objectionRetry = (
            try reader.template(retry, "headline", at: "objectionRetry", maximumLength: 120),
            try reader.template(retry, "suggestion", at: "objectionRetry", maximumLength: 1000)
        )
        self.followUpHeadline = try reader.template(root, "followUpHeadline", at: "", maximumLength: 120)
        self.fallback = try reader.tipTemplate(root, "fallback", at: "")
        self.matcher = PhraseMatcher(phrases)
    }

    /// The objection category of kind `competitor` (the first, if a playbook has several).
    var competitorCategory: Int {
        self.objections.firstIndex { $0.kind == .competitor } ?? 0
    }
}

/// What a phrase of the playbook means. The matcher's tag holds the group and an index within it.
enum PhraseGroup: UInt8, Sendable, Hashable {
    /// `objections[i].triggers`; index = category.
    case objectionTrigger
    /// `objections[i].names`; index = position in ``Playbook/competitorNames``.
    case competitorName
    /// `discovery[i].covered` (asked by the agent); index = topic.
    case discoveryCovered
    /// `discovery[i].mentioned` (volunteered by the customer); index = topic.
    case discoveryMentioned
    case deflection
    case nextStepAgreed
    case nextStepProposal
    case nextStepTime
    case acceptance
    case wrapUp
    case buyingSignal
    case positive
    case negative
    case rapport
    case agentCommitment
    case customerCommitment
}

/// Packs a ``PhraseGroup`` and an index into a matcher tag.
enum PhraseTag {
    static func make(_ group: PhraseGroup, _ index: Int) -> UInt32 {
        UInt32(group.rawValue) << 24 | UInt32(truncatingIfNeeded: index) & 0x00FF_FFFF
    }

    static func group(_ tag: UInt32) -> PhraseGroup {
        PhraseGroup(rawValue: UInt8(tag >> 24)) ?? .objectionTrigger
    }

    static func index(_ tag: UInt32) -> Int {
        Int(tag & 0x00FF_FFFF)
    }
}

/// One option of a tip template: a label, the words to say, and what to do next if the rep picks it.
struct OptionTemplate: Sendable {
    var label: String
    var script: String
    var followUp: FollowUpTemplate?
}

/// The tip that builds on a picked option.
struct FollowUpTemplate: Sendable {
    var suggestion: String
    var script: String
}

/// A tip with `{placeholder}`s still to fill (see ``TemplateValues``).
struct TipTemplate: Sendable {
    var headline: String
    var suggestion: String
    var options: [OptionTemplate]
}

/// One objection category (price, timing, ...) or the competitor category.
struct ObjectionCategory: Sendable {
    var id: String
    var kind: TipKind
    /// A short name for headlines and notes ("price").
    var name: String
    /// Options are the category's answers.
    var tip: TipTemplate

    var ruleID: String { "objection.\(self.id)" }
}

/// One area of discovery (pain, impact, decision process, ...) with its questions.
struct DiscoveryTopic: Sendable {
    var id: String
    /// A short name for notes ("decision process").
    var topic: String
    var tip: TipTemplate
    /// Topics this one covers too once discussed (asking about impact means the pain is known).
    var implies: [Int]

    var ruleID: String { "discovery.\(self.id)" }
}

/// The next-step tips: at a wrap-up cue, near the planned end, and after a positive reaction.
struct NextStepTemplates: Sendable {
    var wrapUp: TipTemplate
    var nearEnd: TipTemplate
    var momentum: TipTemplate
}

/// The pacing tips.
struct PacingTemplates: Sendable {
    var talkingTooMuch: TipTemplate
    var talkingTooLittle: TipTemplate
    var monologue: TipTemplate
    var silence: TipTemplate
}

/// The limits of the live signals; the playbook's `thresholds` object may override any of them.
struct SignalThresholds: Sendable, Hashable {
    /// The agent's share of talk below which, or above which, pacing is flagged.
    var talkRatioLow = 0.40
    var talkRatioHigh = 0.60
    /// The talk ratio is judged only after this much talk or this many segments.
    var minimumTalkSeconds = 60
    var minimumSegments = 8
    /// Consecutive agent speech longer than this is a monologue.
    var monologueSeconds = 60
    /// A gap between segments longer than this is a long silence.
    var silenceSeconds = 10
    /// With `metadata.plannedDurationMinutes`: the share of it after which the call is near its end.
    var nearEndFraction = 0.8
    /// Without a planned duration: a call is near its end (for next-step purposes) after this long.
    var longCallMinutes = 20
    /// Objection, competitor and reaction phrases count only in this many latest segments.
    var evidenceWindow = 12

    init() {}

    init(_ value: JSONValue?, reader: PlaybookReader) throws(PlaybookError) {
        guard let value else { return }
        let object = try reader.object(value, at: "thresholds")
        try reader.checkKeys(
            object,
            allowed: [
                "talkRatioLow", "talkRatioHigh", "minimumTalkSeconds", "minimumSegments", "monologueSeconds",
                "silenceSeconds", "nearEndFraction", "longCallMinutes", "evidenceWindow",
            ],
            at: "thresholds"
        )
        self.talkRatioLow = try reader.fraction(object, "talkRatioLow", default: self.talkRatioLow)
        self.talkRatioHigh = try reader.fraction(object, "talkRatioHigh", default: self.talkRatioHigh)
        guard self.talkRatioLow < self.talkRatioHigh else {
            throw PlaybookError(
                .invalidValue,
                path: reader.path,
                location: "thresholds.talkRatioLow",
                detail: "must be below talkRatioHigh"
            )
        }
        self.minimumTalkSeconds = try reader.integer(
            object,
            "minimumTalkSeconds",
            default: self.minimumTalkSeconds,
            range: 0...3600
        )
        self.minimumSegments = try reader.integer(
            object,
            "minimumSegments",
            default: self.minimumSegments,
            range: 0...1000
        )
        self.monologueSeconds = try reader.integer(
            object,
            "monologueSeconds",
            default: self.monologueSeconds,
            range: 5...3600
        )
        self.silenceSeconds = try reader.integer(
            object,
            "silenceSeconds",
            default: self.silenceSeconds,
            range: 2...3600
        )
        self.nearEndFraction = try reader.fraction(object, "nearEndFraction", default: self.nearEndFraction)
        self.longCallMinutes = try reader.integer(
            object,
            "longCallMinutes",
            default: self.longCallMinutes,
            range: 1...1440
        )
        self.evidenceWindow = try reader.integer(
            object,
            "evidenceWindow",
            default: self.evidenceWindow,
            range: 1...CoachingLimits.contextSegments
        )
    }
}

/// Why a playbook could not be loaded. Its ``description`` names the file, the place in the document
/// (`objections[2].triggers[4]`) and the problem, for the operator who wrote it.
///
/// A struct around a private code, like ``JSON/JSONError``: two errors are equal when their codes are
/// equal, so tests and callers compare with the static members (`error == .duplicateID`).
public struct PlaybookError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: UInt8, Hashable, Sendable {
        case cannotOpen, cannotRead, fileTooLarge, invalidJSON
        case missingKey, unknownKey, wrongType, emptyValue, valueTooLong, tooManyItems, tooFewItems
        case duplicateID, duplicatePhrase, invalidPhrase, unknownPlaceholder, invalidValue
    }

    let code: Code
    /// The file, when the playbook came from one.
    public let path: String?
    /// Where in the document: a dotted path with indices, empty for the whole document.
    public let location: String
    /// What is wrong, in words.
    public let detail: String

    init(_ code: Code, path: String?, location: String, detail: String) {
        self.code = code
        self.path = path
        self.location = location
        self.detail = detail
    }

    private init(_ code: Code) {
        self.init(code, path: nil, location: "", detail: "")
    }

    /// The file could not be opened (missing, no permission, ...).
    public static let cannotOpen = PlaybookError(.cannotOpen)
    /// Reading the file failed (a directory, an I/O error).
    public static let cannotRead = PlaybookError(.cannotRead)
    /// The file is larger than 1 MiB.
    public static let fileTooLarge = PlaybookError(.fileTooLarge)
    /// The file is not valid JSON.
    public static let invalidJSON = PlaybookError(.invalidJSON)
    /// A required key is absent.
    public static let missingKey = PlaybookError(.missingKey)
    /// A key the playbook format does not know (often a typo).
    public static let unknownKey = PlaybookError(.unknownKey)
    /// A value has the wrong JSON type.
    public static let wrongType = PlaybookError(.wrongType)
    /// A string or list that must not be empty is.
    public static let emptyValue = PlaybookError(.emptyValue)
    /// A string is longer than the protocol allows where it ends up.
    public static let valueTooLong = PlaybookError(.valueTooLong)
    /// A list is longer than allowed.
    public static let tooManyItems = PlaybookError(.tooManyItems)
    /// A list is shorter than required.
    public static let tooFewItems = PlaybookError(.tooFewItems)
    /// Two entries share an id.
    public static let duplicateID = PlaybookError(.duplicateID)
    /// A phrase is listed twice (objection triggers are unique across all categories).
    public static let duplicatePhrase = PlaybookError(.duplicatePhrase)
    /// A phrase that cannot match (it does not start with a letter or digit).
    public static let invalidPhrase = PlaybookError(.invalidPhrase)
    /// A template uses a `{placeholder}` the coach does not fill.
    public static let unknownPlaceholder = PlaybookError(.unknownPlaceholder)
    /// A value is out of range or not one of the allowed words.
    public static let invalidValue = PlaybookError(.invalidValue)

    /// A stable identifier of the error kind, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .cannotOpen: "cannotOpen"
        case .cannotRead: "cannotRead"
        case .fileTooLarge: "fileTooLarge"
        case .invalidJSON: "invalidJSON"
        case .missingKey: "missingKey"
        case .unknownKey: "unknownKey"
        case .wrongType: "wrongType"
        case .emptyValue: "emptyValue"
        case .valueTooLong: "valueTooLong"
        case .tooManyItems: "tooManyItems"
        case .tooFewItems: "tooFewItems"
        case .duplicateID: "duplicateID"
        case .duplicatePhrase: "duplicatePhrase"
        case .invalidPhrase: "invalidPhrase"
        case .unknownPlaceholder: "unknownPlaceholder"
        case .invalidValue: "invalidValue"
        }
    }

    /// `playbook <path>: <location>: <detail>`.
    public var description: String {
        var text = "playbook"
        if let path = self.path { text += " \(path)" }
        if !self.location.isEmpty { text += ": \(self.location)" }
        return text + ": " + self.detail
    }

    public static func == (lhs: PlaybookError, rhs: PlaybookError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }
}

/// Typed access to the playbook's JSON with errors that say where the problem is.
struct PlaybookReader {
    let path: String?

    /// The `{placeholder}` names templates may use (see ``TemplateValues``).
    static let placeholders: Set<String> = [
        "account", "agent", "product", "competitor", "phrase", "name", "question", "topic", "label", "share",
        "seconds", "minutes",
    ]

    private func join(_ location: String, _ key: String) -> String {
        location.isEmpty ? key : "\(location).\(key)"
    }

    func wrongType(_ key: String, _ expected: String, at location: String) -> PlaybookError {
        PlaybookError(.wrongType, path: self.path, location: self.join(location, key), detail: "must be \(expected)")
    }

    func object(_ value: JSONValue, at location: String) throws(PlaybookError) -> JSONObject {
        guard let object = value.objectValue else {
            throw PlaybookError(
                .wrongType,
                path: self.path,
                location: location.isEmpty ? "(document)" : location,
                detail: "must be an object"
            )
        }
        return object
    }

    func object(_ object: JSONObject, _ key: String, at location: String) throws(PlaybookError) -> JSONObject {
        guard let value = object[key] else {
            throw PlaybookError(.missingKey, path: self.path, location: self.join(location, key), detail: "is required")
        }
        guard let result = value.objectValue else { throw self.wrongType(key, "an object", at: location) }
        return result
    }

    func checkKeys(_ object: JSONObject, allowed: Set<String>, at location: String) throws(PlaybookError) {
        for key in object.keys where !allowed.contains(key) && !key.hasPrefix("_") {
            throw PlaybookError(
                .unknownKey,
                path: self.path,
                location: self.join(location, key),
                detail:
                    "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")); keys starting with _ are comments)"
            )
        }
    }

    func array(
        _ object: JSONObject,
        _ key: String,
        at location: String,
        minimumCount: Int,
        maximumCount: Int
    ) throws(PlaybookError) -> [JSONValue] {
        guard let value = object[key] else {
            throw PlaybookError(.missingKey, path: self.path, location: self.join(location, key), detail: "is required")
        }
        guard let array = value.arrayValue else { throw self.wrongType(key, "an array", at: location) }
        if array.isEmpty && minimumCount > 0 {
            throw PlaybookError(
                .emptyValue,
                path: self.path,
                location: self.join(location, key),
                detail: "must not be empty"
            )
        }
        if array.count < minimumCount {
            throw PlaybookError(
                .tooFewItems,
                path: self.path,
                location: self.join(location, key),
                detail: "needs at least \(minimumCount) items"
            )
        }
        if array.count > maximumCount {
            throw PlaybookError(
                .tooManyItems,
                path: self.path,
                location: self.join(location, key),
                detail: "has more than \(maximumCount) items"
            )
        }
        return array
    }

    func string(
        _ object: JSONObject,
        _ key: String,
        at location: String,
        maximumLength: Int
    ) throws(PlaybookError) -> String {
        try self.string(object, key, at: location, maximumLength: maximumLength, required: true)!
    }

    func string(
        _ object: JSONObject,
        _ key: String,
        at location: String,
        maximumLength: Int,
        required: Bool
    ) throws(PlaybookError) -> String? {
        guard let value = object[key] else {
            if !required { return nil }
            throw PlaybookError(.missingKey, path: self.path, location: self.join(location, key), detail: "is required")
        }
        guard let string = value.stringValue else { throw self.wrongType(key, "a string", at: location) }
        return try self.check(string, at: self.join(location, key), maximumLength: maximumLength)
    }

    private func check(_ string: String, at location: String, maximumLength: Int) throws(PlaybookError) -> String {
        let trimmed = string.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            throw PlaybookError(.emptyValue, path: self.path, location: location, detail: "must not be empty")
        }
        if trimmed.unicodeScalars.count > maximumLength {
            throw PlaybookError(
                .valueTooLong,
                path: self.path,
                location: location,
                detail: "is longer than \(maximumLength) characters"
            )
        }
        return trimmed
    }

    /// An id: 1 to 64 characters of letters, digits, `-`, `_` and `.`.
    func identifier(_ object: JSONObject, _ key: String, at location: String) throws(PlaybookError) -> String {
        let id = try self.string(object, key, at: location, maximumLength: 64)
        for byte in id.utf8
        where
            !(TextFolding.isAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "."))
        {
            throw PlaybookError(
                .invalidValue,
                path: self.path,
                location: self.join(location, key),
                detail: "must use only letters, digits, '-', '_' and '.'"
            )
        }
        return id
    }

    /// A list of non-empty strings; empty only when `allowEmpty`.
    func strings(
        _ object: JSONObject,
        _ key: String,
        at location: String,
        maximumLength: Int,
        maximumCount: Int,
        allowEmpty: Bool = false
    ) throws(PlaybookError) -> [String] {
        let values = try self.array(
            object,
            key,
            at: location,
            minimumCount: allowEmpty ? 0 : 1,
            maximumCount: maximumCount
        )
        var result: [String] = []
        result.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let string = value.stringValue else {
                throw self.wrongType("\(key)[\(index)]", "a string", at: location)
            }
            result.append(
                try self.check(string, at: "\(self.join(location, key))[\(index)]", maximumLength: maximumLength)
            )
        }
        return result
    }

    /// A string whose `{placeholder}`s are all known.
    func template(
        _ object: JSONObject,
        _ key: String,
        at location: String,
        maximumLength: Int
    ) throws(PlaybookError) -> String {
        let text = try self.string(object, key, at: location, maximumLength: maximumLength)
        var remainder = Substring(text)
        while let open = remainder.firstIndex(of: "{") {
            guard let close = remainder[open...].firstIndex(of: "}") else {
                throw PlaybookError(
                    .unknownPlaceholder,
                    path: self.path,
                    location: self.join(location, key),
                    detail: "has a '{' without its '}'"
                )
            }
            let name = String(remainder[remainder.index(after: open)..<close])
            guard Self.placeholders.contains(name) else {
                throw PlaybookError(
                    .unknownPlaceholder,
                    path: self.path,
                    location: self.join(location, key),
                    detail:
                        "uses {\(name)}; known placeholders: \(Self.placeholders.sorted().map { "{\($0)}" }.joined(separator: ", "))"
                )
            }
            remainder = remainder[remainder.index(after: close)...]
        }
        return text
    }

    func tipTemplate(_ object: JSONObject, _ key: String, at location: String) throws(PlaybookError) -> TipTemplate {
        let tip = try self.object(object, key, at: location)
        let here = self.join(location, key)
        try self.checkKeys(tip, allowed: ["headline", "suggestion", "options"], at: here)
        return try self.tipTemplate(tip, at: here, optionsKey: "options", requireFollowUps: false)
    }

    /// `headline`, `suggestion` and 1 to 4 options under `optionsKey` of `object`.
    func tipTemplate(
        _ object: JSONObject,
        at location: String,
        optionsKey: String,
        requireFollowUps: Bool
    ) throws(PlaybookError) -> TipTemplate {
        let headline = try self.template(object, "headline", at: location, maximumLength: 120)
        let suggestion = try self.template(object, "suggestion", at: location, maximumLength: 1000)
        let values = try self.array(object, optionsKey, at: location, minimumCount: 1, maximumCount: 4)
        var options: [OptionTemplate] = []
        var labels: Set<String> = []
        for (index, value) in values.enumerated() {
            let here = "\(self.join(location, optionsKey))[\(index)]"
            let option = try self.object(value, at: here)
            try self.checkKeys(option, allowed: ["label", "script", "followUp"], at: here)
            let label = try self.template(option, "label", at: here, maximumLength: 80)
            guard labels.insert(label.lowercased()).inserted else {
                throw PlaybookError(
                    .duplicateID,
                    path: self.path,
                    location: "\(here).label",
                    detail: "\"\(label)\" is already an option label of this tip"
                )
            }
            var followUp: FollowUpTemplate? = nil
            if let followUpValue = option["followUp"] {
                let object = try self.object(followUpValue, at: "\(here).followUp")
                try self.checkKeys(object, allowed: ["suggestion", "script"], at: "\(here).followUp")
                followUp = FollowUpTemplate(
                    suggestion: try self.template(object, "suggestion", at: "\(here).followUp", maximumLength: 1000),
                    script: try self.template(object, "script", at: "\(here).followUp", maximumLength: 600)
                )
            } else if requireFollowUps {
                throw PlaybookError(
                    .missingKey,
                    path: self.path,
                    location: "\(here).followUp",
                    detail: "is required (what to say next when the rep picks this option)"
                )
            }
            options.append(
                OptionTemplate(
                    label: label,
                    script: try self.template(option, "script", at: here, maximumLength: 600),
                    followUp: followUp
                )
            )
        }
        return TipTemplate(headline: headline, suggestion: suggestion, options: options)
    }

    func fraction(_ object: JSONObject, _ key: String, default value: Double) throws(PlaybookError) -> Double {
        guard let json = object[key] else { return value }
        guard let number = json.doubleValue else { throw self.wrongType(key, "a number", at: "thresholds") }
        guard number >= 0, number <= 1 else {
            throw PlaybookError(
                .invalidValue,
                path: self.path,
                location: "thresholds.\(key)",
                detail: "must be between 0 and 1"
            )
        }
        return number
    }

    func integer(
        _ object: JSONObject,
        _ key: String,
        default value: Int,
        range: ClosedRange<Int>
    ) throws(PlaybookError) -> Int {
        guard let json = object[key] else { return value }
        guard let number = json.intValue else { throw self.wrongType(key, "an integer", at: "thresholds") }
        guard range.contains(number) else {
            throw PlaybookError(
                .invalidValue,
                path: self.path,
                location: "thresholds.\(key)",
                detail: "must be between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return number
    }
}

/// Reads a whole file with plain system calls (no Foundation), bounded in size.
enum PlaybookFile {
    static func contents(path: String, limit: Int) throws(PlaybookError) -> [UInt8] {
        var descriptor: Int32
        repeat {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else {
            throw PlaybookError(
                .cannotOpen,
                path: path,
                location: "",
                detail: "cannot open the file (\(Self.describe(errno)))"
            )
        }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PlaybookError(
                    .cannotRead,
                    path: path,
                    location: "",
                    detail: "cannot read the file (\(Self.describe(errno)))"
                )
            }
            if count == 0 { break }
            // Stop as soon as the limit is passed: a huge or endless file (a FIFO, /dev/zero) costs
            // at most limit + one chunk of memory.
            guard bytes.count + count <= limit else {
                throw PlaybookError(.fileTooLarge, path: path, location: "", detail: "is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        guard !bytes.isEmpty else {
            throw PlaybookError(.invalidJSON, path: path, location: "", detail: "the file is empty")
        }
        return bytes
    }

    /// A short name for the errno values a config file read usually meets.
    static func describe(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file or directory"
        case EACCES: "permission denied"
        case EISDIR: "is a directory"
        case ENOTDIR: "a path component is not a directory"
        case ELOOP: "too many symbolic links"
        case ENAMETOOLONG: "file name too long"
        case EMFILE, ENFILE: "too many open files"
        case EIO: "input/output error"
        default: "errno \(code)"
        }
    }
}
