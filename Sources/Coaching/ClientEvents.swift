public import JSON
import IOCore

/// The protocol's limits on client input (protocol/README.md, "Limits").
public enum PayloadLimits {
    public static let idLength = 128
    public static let textLength = 2000
    public static let maximumMs = 86_400_000
    public static let metadataBytes = 4096
    public static let recentSegments = 20
    public static let warmupSeconds = 0...3600
    public static let intervalSeconds = 5...600
}

/// `START_CONVERSATION`: a new conversation, or a resume when `conversationID` is given.
public struct StartConversation: Sendable, Hashable {
    public var mode: ConversationMode
    public var warmupSeconds: Int
    public var intervalSeconds: Int
    public var metadata: JSONObject?
    public var conversationID: String?
}

/// `OPTION_SELECTED`.
public struct OptionSelected: Sendable, Hashable {
    public var conversationID: String
    public var tipID: String
    public var optionID: String
}

/// `REQUEST_NEXT_TIP`.
public struct TipRequest: Sendable, Hashable {
    public var conversationID: String
    public var requestID: String
    public var selectedOptionID: String?
    public var agentUtterance: String?
    public var customerReaction: String?
    public var recentSegments: [Segment]
}

/// A client event, decoded and checked against its schema and the rules a schema cannot state.
public enum ClientEvent: Sendable, Hashable {
    case start(StartConversation)
    case transcript(conversationID: String, segment: Segment)
    case optionSelected(OptionSelected)
    case requestTip(TipRequest)
    case end(conversationID: String)
    case ping

    /// The conversation the event is about, if any.
    public var conversationID: String? {
        switch self {
        case .start(let start): start.conversationID
        case .transcript(let id, _), .end(let id): id
        case .optionSelected(let selected): selected.conversationID
        case .requestTip(let request): request.conversationID
        case .ping: nil
        }
    }

    /// The event names clients send.
    public static let names: Set<String> = [
        "START_CONVERSATION", "TRANSCRIPT", "OPTION_SELECTED", "REQUEST_NEXT_TIP", "END_CONVERSATION", "PING",
    ]

    /// Decodes the single argument of event `name`.
    /// - Throws: ``CoachingError`` with `INVALID_PAYLOAD`, saying which field is wrong and why.
    public init(name: String, argument: JSONValue?) throws(CoachingError) {
        if name == "PING" {
            // `{}` or no argument.
            if let argument, argument != .null {
                let reader = try PayloadReader(argument)
                try reader.finish()
            }
            self = .ping
            return
        }
        guard Self.names.contains(name) else { throw .invalid("unknown event '\(PayloadReader.printable(name))'") }
        guard let argument else { throw .invalid("\(name) needs one argument, a JSON object") }
        var reader = try PayloadReader(argument)
        switch name {
        case "START_CONVERSATION":
            let mode = try reader.mode("mode")
            let warmup = try reader.optionalInt("warmupSeconds", in: PayloadLimits.warmupSeconds) ?? 180
            let interval = try reader.optionalInt("intervalSeconds", in: PayloadLimits.intervalSeconds) ?? 30
            let metadata = try reader.optionalMetadata("metadata")
            let id = try reader.optionalID("conversationId")
            self = .start(StartConversation(mode: mode, warmupSeconds: warmup, intervalSeconds: interval, metadata: metadata, conversationID: id))
        case "TRANSCRIPT":
            let id = try reader.id("conversationId")
            let segment = try reader.segmentFields()
            self = .transcript(conversationID: id, segment: segment)
        case "OPTION_SELECTED":
            self = .optionSelected(OptionSelected(conversationID: try reader.id("conversationId"), tipID: try reader.id("tipId"), optionID: try reader.id("optionId")))
        case "REQUEST_NEXT_TIP":
            let id = try reader.id("conversationId")
            let requestID = try reader.id("requestId")
            let selected = try reader.optionalID("selectedOptionId")
            let utterance = try reader.optionalText("agentUtterance")
            let reaction = try reader.optionalText("customerReaction")
            var segments: [Segment] = []
            if let list = try reader.optionalArray("recentSegments") {
                guard list.count <= PayloadLimits.recentSegments else {
                    throw .invalid("recentSegments has \(list.count) items; at most \(PayloadLimits.recentSegments)")
                }
                segments.reserveCapacity(list.count)
                for (index, item) in list.enumerated() {
                    var itemReader = try PayloadReader(item, path: "recentSegments[\(index)]")
                    segments.append(try itemReader.segmentFields())
                    try itemReader.finish()
                }
            }
            self = .requestTip(TipRequest(conversationID: id, requestID: requestID, selectedOptionID: selected, agentUtterance: utterance, customerReaction: reaction, recentSegments: segments))
        case "END_CONVERSATION":
            self = .end(conversationID: try reader.id("conversationId"))
        default:
            throw .invalid("unknown event '\(PayloadReader.printable(name))'")
        }
        try reader.finish()
    }
}

/// Reads one JSON object field by field, refusing wrong types, broken limits and unknown fields.
struct PayloadReader {
    private let object: JSONObject
    private let path: String
    /// The keys read so far (a handful: a linear search beats hashing).
    private var read: [String] = []

    init(_ value: JSONValue, path: String = "payload") throws(CoachingError) {
        guard case .object(let object) = value else { throw .invalid("\(path) must be a JSON object") }
        self.object = object
        self.path = path
    }

    private mutating func take(_ key: String) -> JSONValue? {
        guard let value = self.object[key] else { return nil }
        self.read.append(key)
        return value
    }

    private func name(_ key: String) -> String { self.path == "payload" ? key : "\(self.path).\(key)" }

    /// Refuses fields the schema does not know.
    func finish() throws(CoachingError) {
        guard self.read.count < self.object.count else { return }
        for (key, _) in self.object where !self.read.contains(key) {
            throw .invalid("unknown field '\(Self.printable(key))' in \(self.path)")
        }
    }

    mutating func id(_ key: String) throws(CoachingError) -> String {
        guard let id = try self.optionalID(key) else { throw .invalid("\(self.name(key)) is required") }
        return id
    }

    mutating func optionalID(_ key: String) throws(CoachingError) -> String? {
        guard let value = self.take(key) else { return nil }
        guard case .string(let id) = value else { throw .invalid("\(self.name(key)) must be a string") }
        guard Identifier.isValid(id) else {
            throw .invalid("\(self.name(key)) must be 1 to \(PayloadLimits.idLength) characters of [A-Za-z0-9_.:-]")
        }
        return id
    }

    mutating func text(_ key: String) throws(CoachingError) -> String {
        guard let text = try self.optionalText(key) else { throw .invalid("\(self.name(key)) is required") }
        return text
    }

    mutating func optionalText(_ key: String) throws(CoachingError) -> String? {
        guard let value = self.take(key) else { return nil }
        guard case .string(let text) = value else { throw .invalid("\(self.name(key)) must be a string") }
        let length = text.unicodeScalars.count
        guard (1...PayloadLimits.textLength).contains(length) else {
            throw .invalid("\(self.name(key)) must be 1 to \(PayloadLimits.textLength) characters, got \(length)")
        }
        return text
    }

    mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws(CoachingError) -> Int? {
        guard let value = self.take(key) else { return nil }
        guard case .number(let number) = value, let int = number.intValue ?? Self.integral(number.doubleValue) else {
            throw .invalid("\(self.name(key)) must be an integer")
        }
        guard range.contains(int) else {
            throw .invalid("\(self.name(key)) must be from \(range.lowerBound) to \(range.upperBound), got \(int)")
        }
        return int
    }

    mutating func mode(_ key: String) throws(CoachingError) -> ConversationMode {
        guard let value = self.take(key) else { throw .invalid("\(self.name(key)) is required") }
        guard case .string(let raw) = value, let mode = ConversationMode(rawValue: raw) else {
            throw .invalid("\(self.name(key)) must be \"auto\" or \"event\"")
        }
        return mode
    }

    mutating func optionalMetadata(_ key: String) throws(CoachingError) -> JSONObject? {
        guard let value = self.take(key) else { return nil }
        guard case .object(let object) = value else { throw .invalid("\(self.name(key)) must be a JSON object") }
        var buffer = ByteBuffer(capacity: 256)
        do {
            try JSONWriter.write(value, into: &buffer)
        } catch {
            throw .invalid("\(self.name(key)) must be plain JSON")
        }
        guard buffer.readableBytes <= PayloadLimits.metadataBytes else {
            throw .invalid("\(self.name(key)) is \(buffer.readableBytes) bytes as JSON; at most \(PayloadLimits.metadataBytes)")
        }
        return object
    }

    mutating func optionalArray(_ key: String) throws(CoachingError) -> [JSONValue]? {
        guard let value = self.take(key) else { return nil }
        guard case .array(let array) = value else { throw .invalid("\(self.name(key)) must be an array") }
        return array
    }

    /// `segmentId`, `speaker`, `text`, `startMs`, `endMs`: the fields of a segment.
    mutating func segmentFields() throws(CoachingError) -> Segment {
        let id = try self.id("segmentId")
        guard let speakerValue = self.take("speaker") else { throw .invalid("\(self.name("speaker")) is required") }
        guard case .string(let raw) = speakerValue, let speaker = Speaker(rawValue: raw) else {
            throw .invalid("\(self.name("speaker")) must be \"agent\" or \"customer\"")
        }
        let text = try self.text("text")
        let start = try self.optionalInt("startMs", in: 0...PayloadLimits.maximumMs)
        let end = try self.optionalInt("endMs", in: 0...PayloadLimits.maximumMs)
        if let start, let end, end < start {
            throw .invalid("\(self.name("endMs")) (\(end)) is before startMs (\(start))")
        }
        return Segment(id: id, speaker: speaker, text: text, startMs: start, endMs: end)
    }

    static func integral(_ value: Double) -> Int? {
        guard value.isFinite, value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    /// A client-chosen name, cut and stripped of control characters, safe to echo in a message.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value != 0x7F }))
    }
}

/// The protocol's ids: 1 to 128 characters of `[A-Za-z0-9_.:-]`.
public enum Identifier {
    public static func isValid(_ id: String) -> Bool {
        var count = 0
        for byte in id.utf8 {
            count += 1
            guard count <= PayloadLimits.idLength else { return false }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return count > 0
    }
}
