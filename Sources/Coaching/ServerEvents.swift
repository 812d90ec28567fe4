public import JSON

/// An event for the client, ready for `emit(name, [payload])`.
public struct ServerEvent: Sendable, Hashable {
    public var name: String
    public var payload: JSONValue

    public init(name: String, payload: JSONValue) {
        self.name = name
        self.payload = payload
    }

    static func started(_ id: String, settings: ConversationSettings, resumed: Bool, segments: Int, lastSegmentID: String?) -> ServerEvent {
        var object: JSONObject = [
            "conversationId": .string(id), "mode": .string(settings.mode.rawValue),
            "warmupSeconds": JSONValue(settings.warmupSeconds), "intervalSeconds": JSONValue(settings.intervalSeconds),
            "resumed": .bool(resumed), "segments": JSONValue(segments),
        ]
        if let lastSegmentID { _ = object.updateValue(.string(lastSegmentID), forKey: "lastSegmentId") }
        return ServerEvent(name: "CONVERSATION_STARTED", payload: .object(object))
    }

    static func tip(_ tip: Tip, conversationID: String) -> ServerEvent {
        let draft = tip.draft
        var object: JSONObject = [
            "conversationId": .string(conversationID), "tipId": .string(tip.id), "kind": .string(draft.kind.rawValue),
            "headline": .string(draft.headline), "suggestion": .string(draft.suggestion),
            "options": .array(draft.options.map { .object(["id": .string($0.id), "label": .string($0.label), "script": .string($0.script)]) }),
            "confidence": JSONValue((draft.confidence * 100).rounded() / 100), "source": .string(tip.source.rawValue),
            "latencyMs": JSONValue(tip.latencyMs), "trigger": .string(tip.trigger.rawValue),
        ]
        if let requestID = tip.requestID { _ = object.updateValue(.string(requestID), forKey: "requestId") }
        if let last = tip.lastSegmentID { _ = object.updateValue(.string(last), forKey: "lastSegmentId") }
        return ServerEvent(name: "AI_TIP", payload: .object(object))
    }

    static func partialTip(tipID: String, text: String, conversationID: String) -> ServerEvent {
        ServerEvent(name: "AI_TIP_PARTIAL", payload: ["conversationId": .string(conversationID), "tipId": .string(tipID), "text": .string(text)])
    }

    static func ended(_ id: String, reason: EndReason, summary: ConversationSummary) -> ServerEvent {
        let notes = summary.notes
        let summaryObject: JSONObject = [
            "durationMs": JSONValue(summary.durationMs),
            "talkRatio": ["agent": JSONValue(summary.talkRatio.agent), "customer": JSONValue(summary.talkRatio.customer)],
            "segments": JSONValue(summary.segments), "tipsShown": JSONValue(summary.tipsShown),
            "optionsPicked": .array(summary.optionsPicked.map { .object(["tipId": .string($0.tipID), "optionId": .string($0.optionID)]) }),
            "notes": .string(notes.notes), "actionItems": .array(notes.actionItems.map { .string($0) }),
            "source": .string(summary.source.rawValue),
        ]
        return ServerEvent(name: "CONVERSATION_ENDED", payload: ["conversationId": .string(id), "reason": .string(reason.rawValue), "summary": .object(summaryObject)])
    }

    /// `ERROR`, for a refused event that asked for no ack.
    public static func error(_ error: CoachingError, event: String?, conversationID: String?) -> ServerEvent {
        var object: JSONObject = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let conversationID { _ = object.updateValue(.string(conversationID), forKey: "conversationId") }
        if let event { _ = object.updateValue(.string(event), forKey: "event") }
        if let retry = error.retryAfterMs { _ = object.updateValue(JSONValue(retry), forKey: "retryAfterMs") }
        return ServerEvent(name: "ERROR", payload: .object(object))
    }

    static func pong(timestampMs: Int) -> ServerEvent {
        ServerEvent(name: "PONG", payload: ["timestamp": JSONValue(timestampMs)])
    }
}

/// Why a conversation ended.
public enum EndReason: String, Sendable, Hashable {
    case requested
    case graceExpired = "grace_expired"
    /// No event for the idle timeout.
    case idleTimeout = "idle_timeout"
}

/// The answer to a client event: the ack body on success, or the refusal.
public typealias EventReply = Result<JSONObject, CoachingError>

extension CoachingError {
    /// The ack body of a refusal: `{ok: false, error: {code, message, retryAfterMs?}}`.
    public var ackBody: JSONObject {
        var error: JSONObject = ["code": .string(self.code.rawValue), "message": .string(self.message)]
        if let retry = self.retryAfterMs { _ = error.updateValue(JSONValue(retry), forKey: "retryAfterMs") }
        return ["ok": false, "error": .object(error)]
    }
}
