public import JSON
import Synchronization

/// One client connection as the copilot sees it: its API key, where it runs and how to reach it.
/// Confined to the connection's event loop.
public final class ClientSession: @unchecked Sendable {
    // @unchecked Sendable: mutable state is touched on the connection's loop only; code that leaves the loop
    // (the start rate check) carries the session back to `scheduler` before using it.
    public let keyID: String
    public let client: any ConversationClient
    let scheduler: any ConversationScheduler
    private var eventBucket: TokenBucket
    /// Conversations this connection started or resumed.
    fileprivate var conversations: [String: Conversation] = [:]

    public init(keyID: String, client: any ConversationClient, scheduler: any ConversationScheduler, eventRate: RateRule) {
        self.keyID = keyID
        self.client = client
        self.scheduler = scheduler
        self.eventBucket = TokenBucket(eventRate, nowMs: MonotonicClock.milliseconds())
    }

    fileprivate func takeEventToken() -> RateDecision { self.eventBucket.take(nowMs: MonotonicClock.milliseconds()) }
}

/// The copilot's front door: takes decoded client events from connections, finds or starts their
/// conversation and runs the event on it. Knows no sockets: the program hands it events as values.
public final class Copilot: Sendable {
    public let configuration: CoachingConfiguration
    public let services: CoachingServices
    let registry: ConversationRegistry
    private let wallClockMs: @Sendable () -> Int

    /// - Parameter wallClockMs: milliseconds since the Unix epoch (for `PONG`).
    public init(configuration: CoachingConfiguration, services: CoachingServices, wallClockMs: @escaping @Sendable () -> Int) {
        self.configuration = configuration
        self.services = services
        self.registry = ConversationRegistry()
        self.wallClockMs = wallClockMs
    }

    /// Conversations not yet ended (active or detached).
    public var activeConversations: Int { self.registry.openCount }

    /// Handles client event `name` with its arguments, which must be at most one (a JSON object).
    public func handle(_ name: String, arguments: ArraySlice<JSONValue>, session: ClientSession, reply: @escaping @Sendable (EventReply) -> Void) {
        guard arguments.count <= 1 else {
            return self.refuse(.invalid("\(PayloadReader.printable(name)) takes one argument, a JSON object; got \(arguments.count)"), reply)
        }
        self.handle(name, argument: arguments.first, session: session, reply: reply)
    }

    /// Handles client event `name` with its single argument, on the session's loop. `reply` receives the
    /// ack body or the refusal, exactly once; events that follow an ack are sent after it.
    public func handle(_ name: String, argument: JSONValue?, session: ClientSession, reply: @escaping @Sendable (EventReply) -> Void) {
        let token = session.takeEventToken()
        guard token.allowed else {
            return self.refuse(CoachingError(.rateLimited, "too many events; at most \(self.configuration.eventRate.limit) per second", retryAfterMs: token.retryAfterMs), reply)
        }
        let event: ClientEvent
        do {
            event = try ClientEvent(name: name, argument: argument)
        } catch {
            return self.refuse(error, reply)
        }
        switch event {
        case .ping:
            let now = self.wallClockMs()
            reply(.success(["ok": true, "timestamp": JSONValue(now)]))
            session.client.send(.pong(timestampMs: now))
        case .start(let start):
            if let id = start.conversationID {
                self.resume(id, session: session, reply: reply)
            } else {
                self.start(start, session: session, reply: reply)
            }
        case .transcript(let id, let segment):
            self.run(.transcript(segment), on: id, session: session, reply: reply)
        case .optionSelected(let selected):
            self.run(.option(selected), on: selected.conversationID, session: session, reply: reply)
        case .requestTip(let request):
            self.run(.request(request), on: request.conversationID, session: session, reply: reply)
        case .end(let id):
            self.run(.end, on: id, session: session, reply: reply)
        }
    }

    /// The connection closed: its conversations wait for a resume for the grace period.
    public func sessionClosed(_ session: ClientSession) {
        let client = session.client
        for conversation in session.conversations.values {
            Self.onLoop(of: conversation) { $0.detach(client) }
        }
        session.conversations.removeAll()
    }

    private func refuse(_ error: CoachingError, _ reply: @Sendable (EventReply) -> Void) {
        self.services.observer.eventRefused(error.code)
        reply(.failure(error))
    }

    private func start(_ start: StartConversation, session: ClientSession, reply: @escaping @Sendable (EventReply) -> Void) {
        let keyID = session.keyID
        let client = session.client
        let scheduler = session.scheduler
        let settings = ConversationSettings(mode: start.mode, warmupSeconds: start.warmupSeconds, intervalSeconds: start.intervalSeconds, metadata: start.metadata)
        Task {
            let decision: RateDecision
            do {
                decision = try await self.services.rateLimiter.consume("start:\(keyID)", rule: self.configuration.startRate, isolation: nil)
            } catch {
                return self.refuse(CoachingError(.internal, "the rate limiter is unavailable"), reply)
            }
            guard decision.allowed else {
                return self.refuse(CoachingError(.rateLimited, "too many conversations started; at most \(self.configuration.startRate.limit) per minute", retryAfterMs: decision.retryAfterMs), reply)
            }
            scheduler.execute {
                guard let conversation = self.registry.open(keyID: keyID, limit: self.configuration.maximumConversationsPerKey, { id, registry in
                    Conversation(id: id, keyID: keyID, settings: settings, scheduler: scheduler, configuration: self.configuration, services: self.services, registry: registry)
                }) else {
                    return self.refuse(CoachingError(.limitExceeded, "this API key has \(self.configuration.maximumConversationsPerKey) open conversations, the most allowed"), reply)
                }
                session.conversations[conversation.id] = conversation
                conversation.assumeIsolated { conversation in
                    let result = conversation.attach(client, resumed: false)
                    reply(result)
                    conversation.sendStarted(to: client, resumed: false)
                }
            }
        }
    }

    private func resume(_ id: String, session: ClientSession, reply: @escaping @Sendable (EventReply) -> Void) {
        guard let conversation = self.registry.find(id) else { return self.refuse(.unknownConversation, reply) }
        guard conversation.keyID == session.keyID else { return self.refuse(.notOwner, reply) }
        session.conversations[id] = conversation
        let client = session.client
        Self.onLoop(of: conversation) { conversation in
            let result = conversation.attach(client, resumed: true)
            if case .failure(let error) = result { self.services.observer.eventRefused(error.code) }
            reply(result)
            if case .success = result { conversation.sendStarted(to: client, resumed: true) }
        }
    }

    private func run(_ command: Conversation.Command, on id: String, session: ClientSession, reply: @escaping @Sendable (EventReply) -> Void) {
        guard let conversation = self.registry.find(id) else { return self.refuse(.unknownConversation, reply) }
        guard conversation.keyID == session.keyID else { return self.refuse(.notOwner, reply) }
        let client = session.client
        Self.onLoop(of: conversation) { $0.submit(command, from: client, reply: reply) }
    }

    /// Runs `body` on the conversation's loop: at once when already there, else queued in order.
    private static func onLoop(of conversation: Conversation, _ body: @escaping @Sendable (isolated Conversation) -> Void) {
        if conversation.scheduler.isCurrent {
            conversation.assumeIsolated(body)
        } else {
            conversation.scheduler.execute { conversation.assumeIsolated(body) }
        }
    }
}

/// Every conversation this node knows, by id, and the open ones per API key (the quota).
final class ConversationRegistry: Sendable {
    private struct State {
        var conversations: [String: Conversation] = [:]
        var openByKey: [String: Int] = [:]
        var openCount = 0
    }

    private let state = Mutex(State())

    var openCount: Int { self.state.withLock { $0.openCount } }

    func find(_ id: String) -> Conversation? { self.state.withLock { $0.conversations[id] } }

    /// Creates and registers a conversation unless `keyID` already has `limit` open ones.
    func open(keyID: String, limit: Int, _ make: (String, ConversationRegistry) -> Conversation) -> Conversation? {
        let id = Self.newID()
        let admitted = self.state.withLock { state -> Bool in
            guard state.openByKey[keyID, default: 0] < limit else { return false }
            state.openByKey[keyID, default: 0] += 1
            state.openCount += 1
            return true
        }
        guard admitted else { return nil }
        let conversation = make(id, self)
        self.state.withLock { $0.conversations[id] = conversation }
        return conversation
    }

    /// The conversation ended: it no longer counts against its key.
    func ended(_ conversation: Conversation) {
        self.state.withLock { state in
            state.openCount -= 1
            state.openByKey[conversation.keyID, default: 1] -= 1
            if state.openByKey[conversation.keyID] == 0 { state.openByKey[conversation.keyID] = nil }
        }
    }

    /// The conversation's retention is over: its id becomes unknown.
    func forget(_ conversation: Conversation) {
        _ = self.state.withLock { $0.conversations.removeValue(forKey: conversation.id) }
    }

    /// `c_` and 16 random characters of [A-Za-z0-9] (95 bits).
    static func newID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = Array("c_".utf8)
        for _ in 0..<16 { bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
