/// The stable error codes of the app protocol (protocol/README.md, "Error codes").
public enum CoachingErrorCode: String, Sendable, Hashable, CaseIterable {
    case invalidPayload = "INVALID_PAYLOAD"
    case unknownConversation = "UNKNOWN_CONVERSATION"
    case conversationEnded = "CONVERSATION_ENDED"
    case limitExceeded = "LIMIT_EXCEEDED"
    case rateLimited = "RATE_LIMITED"
    case notOwner = "NOT_OWNER"
    case `internal` = "INTERNAL"
}

/// A refused client event: a stable code, a message for people, and when to retry.
public struct CoachingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: CoachingErrorCode
    public var message: String
    public var retryAfterMs: Int?

    public init(_ code: CoachingErrorCode, _ message: String, retryAfterMs: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMs = retryAfterMs
    }

    public var description: String { "\(self.code.rawValue): \(self.message)" }

    static func invalid(_ message: String) -> CoachingError { CoachingError(.invalidPayload, message) }
    static let unknownConversation = CoachingError(.unknownConversation, "no such conversation")
    static let ended = CoachingError(.conversationEnded, "the conversation has ended")
    static let notOwner = CoachingError(.notOwner, "the conversation belongs to another connection")
}
