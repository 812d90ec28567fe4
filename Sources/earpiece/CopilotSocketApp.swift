import Coaching
import CoachingLoop
import HTTPCore
import IOCore
import Metrics
import IOPosix
import JSON
import Logging
import SocketIO

/// Puts the copilot on the Socket.IO server's main namespace: API-key and per-address checks at
/// connect, then every client event to ``Copilot``, and acks or `ERROR` events back.
enum CopilotSocketApp {
    static func install(
        on io: SocketIOServer, copilot: Copilot, authenticator: APIKeyAuthenticator, rateLimiter: any RateLimiter,
        connectionsPerMinute: Int, trustForwardedFor: Bool, schedulers: LoopSchedulers, metrics: ServerMetrics, logger: Logger
    ) {
        let main = io.main
        main.use { socket in
            guard authenticator.isEnabled else {
                socket.data = ["keyID": "open"]
                return nil
            }
            guard case .string(let presented)? = socket.handshake.auth["apiKey"] else {
                metrics.connectionRefused("AUTH_MISSING")
                return SocketIOConnectError(message: "missing API key: send auth {\"apiKey\": \"...\"}", data: ["code": "AUTH_MISSING"])
            }
            guard let identity = authenticator.identify(presented) else {
                metrics.connectionRefused("AUTH_INVALID")
                logger.notice("connection refused: invalid API key", metadata: ["client.address": "\(socket.handshake.remoteAddress?.ipAddress ?? "-")"])
                return SocketIOConnectError(message: "invalid API key", data: ["code": "AUTH_INVALID"])
            }
            socket.data = ["keyID": .string(identity.id)]
            return nil
        }
        main.use(async: { handshake in
            let address = Self.clientAddress(handshake, trustForwardedFor: trustForwardedFor)
            do {
                let decision = try await rateLimiter.consume("connect:\(address)", rule: .perMinute(connectionsPerMinute), isolation: nil)
                guard decision.allowed else {
                    metrics.connectionRefused("RATE_LIMITED")
                    return SocketIOConnectError(message: "too many connections from this address", data: ["code": "RATE_LIMITED", "retryAfterMs": JSONValue(decision.retryAfterMs)])
                }
                return nil
            } catch {
                metrics.connectionRefused("INTERNAL")
                return SocketIOConnectError(message: "the connection could not be checked", data: ["code": "INTERNAL"])
            }
        })
        main.onConnection { socket in
            let keyID = socket.data["keyID"]?.stringValue ?? "open"
            let client = SocketClient(socket.handle)
            let session = ClientSession(keyID: keyID, client: client, scheduler: schedulers.scheduler(for: socket.loop), eventRate: copilot.configuration.eventRate)
            metrics.connections.increment()
            socket.onAny { _, event in
                let started = ContinuousClock.now
                let ack = event.ack
                let name = event.name
                let argument = event.arguments.first
                copilot.handle(name, arguments: event.arguments, session: session) { reply in
                    switch reply {
                    case .success(let body):
                        ack?([.object(body)])
                    case .failure(let error):
                        if let ack {
                            ack([.object(error.ackBody)])
                        } else {
                            let conversationID = argument?["conversationId"]?.stringValue.flatMap { Identifier.isValid($0) ? $0 : nil }
                            client.send(.error(error, event: ClientEvent.names.contains(name) ? name : nil, conversationID: conversationID))
                        }
                    }
                    metrics.ackLatency.observe(ContinuousClock.now - started)
                }
            }
            socket.onDisconnect { _, _ in
                metrics.connections.decrement()
                copilot.sessionClosed(session)
            }
        }
    }
}

extension CopilotSocketApp {
    /// The client's address for per-address limits: the peer, or behind a trusted proxy the first
    /// address of `X-Forwarded-For`.
    static func clientAddress(_ handshake: SocketIOHandshake, trustForwardedFor: Bool) -> String {
        if trustForwardedFor, let forwarded = handshake.headers["X-Forwarded-For"],
            let first = forwarded.split(separator: ",").first.map({ $0.filter { $0 != " " && $0 != "\t" } }), !first.isEmpty, first.utf8.count <= 64
        {
            return String(first)
        }
        return handshake.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// A Socket.IO socket as a conversation's client.
final class SocketClient: ConversationClient {
    let handle: SocketIOSocketHandle
    init(_ handle: SocketIOSocketHandle) { self.handle = handle }
    var connectionID: String { self.handle.id }
    func send(_ event: ServerEvent) { self.handle.emit(event.name, [event.payload]) }
}
