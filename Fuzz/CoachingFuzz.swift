// libFuzzer target for the copilot's parsers of untrusted input (Sources/Coaching):
// `Fuzz/run.sh CoachingFuzz SECONDS`. The Coaching files it needs are built as one module, CoachingPure
// (see Fuzz/run.sh): the Logging-using conversation code stays out.
//
// Every input is used three ways:
// 1. Client events. The input is parsed with JSONParser and decoded as the argument of every client event
//    name; when it is a Socket.IO-style array `["NAME", argument]`, also under its own name. A decoded event
//    must be the event named, hold exactly the argument's values and keep the protocol's limits (ids valid,
//    texts 1...2000 scalars, at most 20 recent segments, endMs not before startMs, metadata at most 4096
//    bytes as JSON, no unknown field). A refusal must be INVALID_PAYLOAD with a printable message.
//    Strings "$binary" become Socket.IO binary leaves, which the wire can carry in any position.
// 2. A language model's streamed answer, for PartialJSON("suggestion"): fed whole, split at points the
//    input chooses, one byte at a time, and (valid UTF-8) as accumulated text; all must end in the same
//    state, the value never shrinks, and each intermediate value is a UTF-8 prefix of the final one. When
//    the input is valid JSON naming "suggestion" once at the top level as a string, the final value is what
//    JSONParser gives (a prefix, stopped, when longer than the limit); otherwise nothing is extracted.
// 3. The parsed JSON as a playbook (`Playbook(json:)`): it must not trap. An accepted playbook's phrase
//    matcher, and the standard playbook's, are run over the input's folded text; every match must be a
//    whole-word occurrence, and for small playbooks the matches must agree with a naive search.
// A disagreement, a trap, or a memory error (ASan) is a finding.

import IOCore
import JSON
@testable import CoachingPure

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("CoachingFuzz: \(message)")
}

// MARK: 1. Client events

/// The client event names, in a fixed order.
let eventNames = ClientEvent.names.sorted()

/// The fields each event's argument may hold (protocol/README.md); anything else must be refused.
let allowedFields: [String: Set<String>] = [
    "START_CONVERSATION": ["mode", "warmupSeconds", "intervalSeconds", "metadata", "conversationId"],
    "TRANSCRIPT": ["conversationId", "segmentId", "speaker", "text", "startMs", "endMs"],
    "OPTION_SELECTED": ["conversationId", "tipId", "optionId"],
    "REQUEST_NEXT_TIP": [
        "conversationId", "requestId", "selectedOptionId", "agentUtterance", "customerReaction", "recentSegments",
    ],
    "END_CONVERSATION": ["conversationId"],
    "PING": [],
]
let segmentFields: Set<String> = ["segmentId", "speaker", "text", "startMs", "endMs"]

/// The protocol's id rule, written out independently of ``Identifier/isValid(_:)``.
func isProtocolID(_ id: String) -> Bool {
    guard (1...128).contains(id.utf8.count) else { return false }
    return id.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

/// A decoded id: valid by both rules, and the argument's own string.
func checkID(_ id: String, _ source: JSONValue?, _ what: String) {
    guard Identifier.isValid(id), isProtocolID(id) else { fuzzFailure("\(what): invalid id accepted") }
    guard source == .string(id) else { fuzzFailure("\(what): decoded id differs from the argument") }
}

func checkOptionalID(_ id: String?, _ source: JSONValue?, _ what: String) {
    if let id { checkID(id, source, what) } else if source != nil { fuzzFailure("\(what): present but dropped") }
}

/// A decoded text: 1 to 2,000 Unicode scalars, the argument's own string.
func checkText(_ text: String?, _ source: JSONValue?, _ what: String) {
    guard let text else {
        if source != nil { fuzzFailure("\(what): present but dropped") }
        return
    }
    guard (1...PayloadLimits.textLength).contains(text.unicodeScalars.count) else { fuzzFailure("\(what): text length out of range") }
    guard source == .string(text) else { fuzzFailure("\(what): decoded text differs from the argument") }
}

/// An optional integer field: in `range` and equal to the argument's number.
func checkInt(_ value: Int?, _ source: JSONValue?, _ range: ClosedRange<Int>, _ what: String) {
    guard let value else {
        if source != nil { fuzzFailure("\(what): present but dropped") }
        return
    }
    guard range.contains(value) else { fuzzFailure("\(what): \(value) out of range") }
    guard let number = source?.numberValue, number.doubleValue == Double(value) else {
        fuzzFailure("\(what): decoded integer differs from the argument")
    }
}

/// Refuses an object holding keys outside `allowed`.
func checkKeys(_ object: JSONObject, _ allowed: Set<String>, _ what: String) {
    for (key, _) in object where !allowed.contains(key) { fuzzFailure("\(what): unknown field accepted") }
}

func checkSegment(_ segment: Segment, _ source: JSONObject, _ what: String) {
    checkKeys(source, segmentFields, what)
    checkID(segment.id, source["segmentId"], "\(what).segmentId")
    guard source["speaker"] == .string(segment.speaker.rawValue) else { fuzzFailure("\(what): speaker differs") }
    checkText(segment.text, source["text"], "\(what).text")
    checkInt(segment.startMs, source["startMs"], 0...PayloadLimits.maximumMs, "\(what).startMs")
    checkInt(segment.endMs, source["endMs"], 0...PayloadLimits.maximumMs, "\(what).endMs")
    if let start = segment.startMs, let end = segment.endMs, end < start { fuzzFailure("\(what): endMs before startMs") }
}

/// Checks an event decoded from `argument` under `name`.
func checkEvent(_ event: ClientEvent, name: String, argument: JSONValue?) {
    if case .ping = event {
        guard name == "PING" else { fuzzFailure("\(name) decoded as PING") }
        switch argument {
        case nil, .null?: break
        case .object(let object)? where object.isEmpty: break
        default: fuzzFailure("PING accepted an argument other than {} or null")
        }
        guard event.conversationID == nil else { fuzzFailure("PING has a conversation") }
        return
    }
    guard case .object(let object)? = argument else { fuzzFailure("\(name) accepted a non-object argument") }
    checkKeys(object, allowedFields[name] ?? [], name)
    switch (name, event) {
    case ("START_CONVERSATION", .start(let start)):
        guard object["mode"] == .string(start.mode.rawValue) else { fuzzFailure("mode differs") }
        checkInt(start.warmupSeconds, object["warmupSeconds"] ?? .number(180), PayloadLimits.warmupSeconds, "warmupSeconds")
        checkInt(start.intervalSeconds, object["intervalSeconds"] ?? .number(30), PayloadLimits.intervalSeconds, "intervalSeconds")
        if let metadata = start.metadata {
            guard object["metadata"] == .object(metadata) else { fuzzFailure("metadata differs") }
            var buffer = ByteBuffer()
            do {
                try JSONWriter.write(.object(metadata), into: &buffer)
            } catch {
                fuzzFailure("metadata accepted that does not write as JSON")
            }
            guard buffer.readableBytes <= PayloadLimits.metadataBytes else { fuzzFailure("metadata over 4096 bytes accepted") }
        } else if object["metadata"] != nil {
            fuzzFailure("metadata present but dropped")
        }
        checkOptionalID(start.conversationID, object["conversationId"], "START_CONVERSATION.conversationId")
    case ("TRANSCRIPT", .transcript(_, let segment)):
        var segmentSource = object
        _ = segmentSource.removeValue(forKey: "conversationId")
        checkSegment(segment, segmentSource, "TRANSCRIPT")
    case ("OPTION_SELECTED", .optionSelected(let selected)):
        checkID(selected.tipID, object["tipId"], "tipId")
        checkID(selected.optionID, object["optionId"], "optionId")
    case ("REQUEST_NEXT_TIP", .requestTip(let request)):
        checkID(request.requestID, object["requestId"], "requestId")
        checkOptionalID(request.selectedOptionID, object["selectedOptionId"], "selectedOptionId")
        checkText(request.agentUtterance, object["agentUtterance"], "agentUtterance")
        checkText(request.customerReaction, object["customerReaction"], "customerReaction")
        guard request.recentSegments.count <= PayloadLimits.recentSegments else { fuzzFailure("more than 20 recent segments accepted") }
        let sources = object["recentSegments"]?.arrayValue ?? []
        guard sources.count == request.recentSegments.count else { fuzzFailure("recentSegments count differs") }
        for (index, segment) in request.recentSegments.enumerated() {
            guard case .object(let source) = sources[index] else { fuzzFailure("a non-object segment accepted") }
            checkSegment(segment, source, "recentSegments[\(index)]")
        }
    case ("END_CONVERSATION", .end):
        break
    default:
        fuzzFailure("\(name) decoded as another event")
    }
    if name != "START_CONVERSATION" {
        guard let id = event.conversationID else { fuzzFailure("\(name) without a conversation") }
        checkID(id, object["conversationId"], "\(name).conversationId")
    }
}

/// Whether `text` may be echoed to a client: no control characters.
func isPrintable(_ text: String) -> Bool {
    !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
}

/// Decodes `argument` as event `name` and checks the outcome.
func decodeEvent(name: String, argument: JSONValue?) {
    do throws(CoachingError) {
        let event = try ClientEvent(name: name, argument: argument)
        guard ClientEvent.names.contains(name) else { fuzzFailure("unknown event name accepted") }
        checkEvent(event, name: name, argument: argument)
    } catch {
        guard error.code == .invalidPayload, !error.message.isEmpty, error.retryAfterMs == nil else {
            fuzzFailure("refusal is not INVALID_PAYLOAD")
        }
        // With no argument, the message names the event as given (the caller does not echo unknown names).
        if argument != nil || ClientEvent.names.contains(name) {
            guard isPrintable(error.message) else { fuzzFailure("refusal message holds a control character") }
        }
    }
}

/// Replaces every string "$binary" with a binary leaf, as a Socket.IO attachment would arrive.
func injectBinary(_ value: JSONValue) -> JSONValue {
    switch value {
    case .string("$binary"): return .binary(ByteBuffer(bytes: [0xDE, 0xAD, 0xBE, 0xEF]))
    case .array(let elements): return .array(elements.map(injectBinary))
    case .object(let object): return .object(JSONObject(object.map { ($0.key, injectBinary($0.value)) }))
    default: return value
    }
}

/// Whether `bytes` contains `needle`.
func contains(_ bytes: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    guard needle.count <= bytes.count else { return false }
    for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
        var offset = 1
        while offset < needle.count && bytes[start + offset] == needle[offset] { offset += 1 }
        if offset == needle.count { return true }
    }
    return false
}

let binaryMarker = Array("\"$binary\"".utf8)

func fuzzClientEvents(_ parsed: JSONValue, bytes: UnsafeRawBufferPointer) {
    let argument = contains(bytes, binaryMarker) ? injectBinary(parsed) : parsed
    for name in eventNames { decodeEvent(name: name, argument: argument) }
    decodeEvent(name: "NOT_AN_EVENT", argument: argument)
    // A Socket.IO event packet's data: the name, then the argument (the copilot uses the first only).
    if case .array(let elements) = argument, case .string(let name)? = elements.first {
        decodeEvent(name: name, argument: elements.count > 1 ? elements[1] : nil)
    }
}

// MARK: 2. PartialJSON

/// Everything observable about an extractor.
struct ExtractorState: Equatable {
    var value: String
    var phase: PartialJSON.Phase
    var scalarCount: Int
    var valueByteCount: Int
    var consumedBytes: Int
    var isComplete: Bool
    var valueEndsSentence: Bool

    init(_ extractor: PartialJSON) {
        self.value = extractor.value
        self.phase = extractor.phase
        self.scalarCount = extractor.scalarCount
        self.valueByteCount = extractor.valueByteCount
        self.consumedBytes = extractor.consumedBytes
        self.isComplete = extractor.isComplete
        self.valueEndsSentence = extractor.valueEndsSentence
    }
}

let extractedKey = "suggestion"

/// Feeds `bytes` in pieces ending at `cuts` (ascending), then the rest; returns the final state and the
/// value after each piece.
func feedPieces(_ bytes: UnsafeRawBufferPointer, cuts: [Int], maximumValueBytes: Int = 4_096) -> (PartialJSON, [String]) {
    var extractor = PartialJSON(key: extractedKey, maximumValueBytes: maximumValueBytes)
    var values: [String] = []
    var start = 0
    for cut in cuts + [bytes.count] where cut >= start {
        extractor.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<cut]))
        values.append(extractor.value)
        start = cut
    }
    return (extractor, values)
}

func isUTF8Prefix(_ prefix: String, of text: String) -> Bool {
    prefix.utf8.count <= text.utf8.count && prefix.utf8.elementsEqual(text.utf8.prefix(prefix.utf8.count))
}

/// How many times the root object of valid JSON `bytes` names `key` (decoded), or nil when the root is
/// not an object.
func topLevelKeyCount(_ bytes: UnsafeRawBufferPointer, key: String) -> Int? {
    var index = 0
    while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
        index += 1
    }
    guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
    var depth = 0
    var expectsKey = false
    var count = 0
    while index < bytes.count {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "\""):
            let start = index
            index += 1
            while bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
            if depth == 1 && expectsKey {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start...index])
                if (try? JSONParser.parse(raw)) == .string(key) { count += 1 }
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            expectsKey = byte == UInt8(ascii: "{") && depth == 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
        case UInt8(ascii: ":"):
            if depth == 1 { expectsKey = false }
        case UInt8(ascii: ","):
            if depth == 1 { expectsKey = true }
        default:
            break
        }
        index += 1
    }
    return count
}

/// FNV-1a of the input, to pick split points that move with every mutation.
func inputHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}

func fuzzPartialJSON(_ bytes: UnsafeRawBufferPointer, parsed: JSONValue?, isUTF8: Bool) {
    let count = bytes.count
    let (whole, _) = feedPieces(bytes, cuts: [])
    let wholeState = ExtractorState(whole)
    guard wholeState.consumedBytes == count else { fuzzFailure("consumedBytes differs from the input's size") }
    guard wholeState.valueByteCount <= 4_096 else { fuzzFailure("value grew past maximumValueBytes") }
    guard wholeState.isComplete == (wholeState.phase == .complete) else { fuzzFailure("isComplete disagrees with phase") }
    // Counted on the bytes as read: equal to the value's own only when no invalid UTF-8 was repaired.
    if isUTF8 {
        guard wholeState.valueByteCount == wholeState.value.utf8.count else { fuzzFailure("valueByteCount differs from value") }
        guard wholeState.scalarCount == wholeState.value.unicodeScalars.count else { fuzzFailure("scalarCount differs from value") }
    }

    // Split at points the input chooses: its first byte, and three more from its hash.
    var cuts: [Int] = []
    if count > 0 {
        let hash = inputHash(bytes)
        cuts = [Int(bytes[0]) % (count + 1)] + (0..<3).map { Int((hash >> ($0 * 20)) % UInt64(count + 1)) }
        cuts.sort()
    }
    let (split, splitValues) = feedPieces(bytes, cuts: cuts)
    guard ExtractorState(split) == wholeState else { fuzzFailure("split feeding changed the result") }
    for value in splitValues where !isUTF8Prefix(value, of: wholeState.value) {
        fuzzFailure("an intermediate value is not a prefix of the final value")
    }

    // One byte at a time: the value only grows.
    var bytewise = PartialJSON(key: extractedKey)
    var lastByteCount = 0
    for index in 0..<count {
        bytewise.feed(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + 1)]))
        guard bytewise.valueByteCount >= lastByteCount else { fuzzFailure("value shrank") }
        lastByteCount = bytewise.valueByteCount
    }
    guard ExtractorState(bytewise) == wholeState else { fuzzFailure("byte-by-byte feeding changed the result") }

    // As accumulated text (whole characters, as a stream of String deltas gives), then reset and again.
    if isUTF8 {
        let text = String(decoding: bytes, as: UTF8.self)
        var accumulated = PartialJSON(key: extractedKey)
        for cut in cuts {
            var boundary = cut
            while boundary > 0 && boundary < count && bytes[boundary] & 0xC0 == 0x80 { boundary -= 1 }
            accumulated.update(accumulated: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<boundary]), as: UTF8.self))
        }
        accumulated.update(accumulated: text)
        guard ExtractorState(accumulated) == wholeState else { fuzzFailure("accumulated updates changed the result") }
        accumulated.update(accumulated: "")
        guard ExtractorState(accumulated) == ExtractorState(PartialJSON(key: extractedKey)) else {
            fuzzFailure("a shorter text did not start over")
        }
        accumulated.update(accumulated: text)
        guard ExtractorState(accumulated) == wholeState else { fuzzFailure("the restarted extractor differs") }
    }

    // A smaller limit stops earlier on the same path.
    let smallLimit = count > 0 ? Int(bytes[count - 1]) % 24 : 0
    let (small, _) = feedPieces(bytes, cuts: [], maximumValueBytes: smallLimit)
    guard small.valueByteCount <= smallLimit, isUTF8Prefix(small.value, of: wholeState.value) else {
        fuzzFailure("a smaller limit gave a value that is not a prefix")
    }
    if small.isComplete && small.value != wholeState.value {
        fuzzFailure("a smaller limit completed differently")
    }

    // Against the full parse of a valid document. A repeated key is out of scope: JSONParser keeps the
    // last value, the extractor the first string.
    guard let parsed else { return }
    let keyCount = topLevelKeyCount(bytes, key: extractedKey)
    if case .object(let root) = parsed, keyCount == 1, case .string(let expected)? = root[extractedKey] {
        if expected.utf8.count <= 4_096 {
            guard wholeState.phase == .complete, wholeState.value == expected else { fuzzFailure("final value differs from JSONParser's") }
            guard wholeState.scalarCount == expected.unicodeScalars.count else { fuzzFailure("scalarCount differs from JSONParser's") }
        } else {
            guard wholeState.phase == .stopped, isUTF8Prefix(wholeState.value, of: expected) else {
                fuzzFailure("an over-long value is not a stopped prefix")
            }
        }
    } else if (keyCount ?? 0) <= 1 {
        // Not an object, no such member, or not a string: the closed document stops the scan empty-handed.
        guard wholeState.phase == .stopped, wholeState.value.isEmpty else {
            fuzzFailure("a document without the member as a string did not stop empty")
        }
    }
}

// MARK: 3. Playbook

/// The input's text, folded as the rule coach folds transcript text; checks the folding's promises.
func foldInput(_ text: String) -> [UInt8] {
    var storage: [UInt8] = []
    var offsets: [Int32] = []
    let range = TextFolding.fold(text, into: &storage, offsets: &offsets)
    guard range.lowerBound == 0, range.upperBound == storage.count, offsets.count == storage.count else { fuzzFailure("fold: range or offsets wrong") }
    if let first = storage.first, first == 0x20 { fuzzFailure("fold: starts with a space") }
    if let last = storage.last, last == 0x20 { fuzzFailure("fold: ends with a space") }
    var previous: UInt8 = 0
    var previousOffset: Int32 = -1
    for (byte, offset) in zip(storage, offsets) {
        if byte == 0x20 && previous == 0x20 { fuzzFailure("fold: two spaces in a row") }
        switch byte {
        case 0..<0x20, 0x7F, UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            fuzzFailure("fold: a byte that folds away was kept")
        default: break
        }
        guard offset > previousOffset, Int(offset) < text.utf8.count else { fuzzFailure("fold: offsets out of order or range") }
        previous = byte
        previousOffset = offset
    }
    return storage
}

/// Runs `matcher` over `folded`; each match must be a whole-word occurrence of its pattern. With `naive`,
/// the set of patterns found must equal what ``WordSearch/contains(_:in:)`` finds.
func checkMatcher(_ matcher: PhraseMatcher, _ folded: [UInt8], naive: Bool) {
    folded.withUnsafeBufferPointer { text in
        var found: Set<[UInt8]> = []
        var lastStart = -1
        matcher.forEachMatch(in: text) { tag, range in
            guard range.lowerBound >= lastStart, range.upperBound <= text.count else { fuzzFailure("match out of order or range") }
            lastStart = range.lowerBound
            guard let pattern = matcher.patterns.first(where: { $0.tag == tag && $0.bytes.elementsEqual(text[range]) })
            else { fuzzFailure("match does not hold its pattern") }
            if range.lowerBound > 0 && TextFolding.isWordByte(text[range.lowerBound - 1]) { fuzzFailure("match starts inside a word") }
            if pattern.needsEndBoundary && range.upperBound < text.count && TextFolding.isWordByte(text[range.upperBound]) {
                fuzzFailure("match ends inside a word")
            }
            found.insert(pattern.bytes)
        }
        guard naive else { return }
        for pattern in matcher.patterns where WordSearch.contains(pattern.bytes, in: text) != found.contains(pattern.bytes) {
            fuzzFailure("matcher and naive search disagree")
        }
    }
}

func fuzzPlaybook(_ parsed: JSONValue?, text: String) {
    let folded = foldInput(text)
    checkMatcher(Playbook.standard.matcher, folded, naive: false)
    guard let parsed, let playbook = try? Playbook(json: parsed) else { return }
    guard !playbook.name.isEmpty, playbook.name.unicodeScalars.count <= 120 else { fuzzFailure("playbook name out of range") }
    guard playbook.objections[playbook.competitorCategory].kind == .competitor else { fuzzFailure("no competitor category") }
    checkMatcher(playbook.matcher, folded, naive: playbook.matcher.patterns.count <= 64)
}

// MARK: Entry point

/// The libFuzzer entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let parsed: JSONValue? = try? JSONParser.parse(bytes)
    let isUTF8 = String(validating: bytes, as: UTF8.self) != nil
    if let parsed { fuzzClientEvents(parsed, bytes: bytes) }
    fuzzPartialJSON(bytes, parsed: parsed, isUTF8: isUTF8)
    fuzzPlaybook(parsed, text: String(decoding: bytes, as: UTF8.self))
    return 0
}
