import Coaching
import CoachingLoop
import EngineIO
import Glibc
import HTTP
import HTTPCore
import IOCore
import IOPosix
import IOTLS
import Logging
import OpenAI
import SocketIO

/// `earpiece serve`: wires the event loops, TLS, HTTP, Socket.IO and the copilot, and runs until SIGTERM
/// or SIGINT; SIGHUP reloads the TLS certificate.
enum Serve {
    static func run(_ configuration: ServeConfiguration) async -> Int32 {
        let logger = Logger(label: "earpiece")
        ProcessSetup.ignoreSIGPIPE()
        let openFiles = ProcessSetup.raiseOpenFileLimit()
        let signals = SignalWaiter.signals([SIGTERM, SIGINT, SIGHUP])

        // Everything that can be wrong with the configuration stops start-up here, with a clear message.
        let authenticator: APIKeyAuthenticator
        let rules: RuleCoach
        var tls: TLSServerContext?
        do throws(any Error) {
            authenticator = try APIKeyAuthenticator(keys: configuration.apiKeys, production: configuration.production)
            rules = RuleCoach(playbook: try configuration.playbookFile.map { path throws -> Playbook in try Playbook.load(path: path) } ?? .standard)
            if configuration.redisURL != nil {
                throw ServeConfiguration.Problem(message: "REDIS_URL is set, but this build keeps conversations in memory only; unset REDIS_URL to run one node")
            }
            if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
                tls = try TLSServerContext(configuration: TLSServerConfiguration(certificateChainPath: certificate, privateKeyPath: key))
            }
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        if !authenticator.isEnabled {
            logger.warning("no BACKEND_API_KEY: every client is accepted (development only)")
        }

        let group: EventLoopGroup
        do {
            group = try EventLoopGroup(loopCount: configuration.eventLoops ?? ProcessSetup.availableCPUCount)
        } catch {
            logger.critical("cannot start event loops", metadata: ["error": "\(error)"])
            return 1
        }

        let metrics = ServerMetrics()
        var openAI: OpenAIClient?
        var llm: LLMCoach?
        if configuration.effectiveEnvironment["OPENAI_API_KEY"] != nil {
            do {
                var openAIConfiguration = try OpenAIConfiguration(environment: configuration.effectiveEnvironment)
                // Tips in flight at once are about tips per second times the model's latency (hundreds on a busy
                // node); keeping that many connections idle spares a TCP and TLS handshake per tip.
                openAIConfiguration.pool.maximumIdleConnections = 512
                let client = try OpenAIClient(configuration: openAIConfiguration, group: group, logger: Logger(label: "earpiece.openai"))
                openAI = client
                llm = LLMCoach(model: OpenAILanguageModel(client: client, onCompletion: { answer, duration, outcome in
                    metrics.llmCall(answer: answer, duration: duration, outcome: outcome)
                }))
            } catch {
                logger.critical("cannot configure the OpenAI client: \(error)")
                group.shutdown()
                return 1
            }
        }
        let rateLimiter = InMemoryRateLimiter()
        let services = CoachingServices(
            llm: llm, rules: rules, store: InMemoryConversationStore(), rateLimiter: rateLimiter, observer: metrics,
            logger: Logger(label: "earpiece.coaching")
        )
        let copilot = Copilot(configuration: configuration.coaching, services: services, wallClockMs: { WallClock.millisecondsSinceEpoch() })
        metrics.track(copilot)

        var socketIO = SocketIOConfiguration()
        socketIO.engine.path = "/socket.io/"
        // 20 s keeps a Manifest V3 service worker alive (it idles out after 30 s without traffic).
        socketIO.engine.pingInterval = .seconds(20)
        socketIO.engine.pingTimeout = .seconds(20)
        socketIO.engine.cors = configuration.cors
        let io = SocketIOServer(group: group, configuration: socketIO)
        CopilotSocketApp.install(
            on: io, copilot: copilot, authenticator: authenticator, rateLimiter: rateLimiter,
            connectionsPerMinute: configuration.connectionsPerMinute, trustForwardedFor: configuration.trustForwardedFor, schedulers: LoopSchedulers(group: group), metrics: metrics, logger: logger
        )
        let llmClient = openAI
        let responder = OpsResponder(io: io, copilot: copilot, metrics: metrics) {
            guard let openAI = llmClient else { return "disabled" }
            return openAI.isCircuitOpen ? "open" : "closed"
        }

        let server: TCPServer
        do {
            var serverConfiguration = ServerConfiguration(host: configuration.host, port: configuration.port, tls: tls)
            serverConfiguration.backlog = 4096
            server = try HTTPServer.start(group: group, server: serverConfiguration) { _ in responder }
        } catch {
            logger.critical("cannot start server", metadata: ["error": "\(error)"])
            group.shutdown()
            return 1
        }
        logger.notice(
            "listening",
            metadata: [
                "server.address": "\(server.localAddress)", "server.tls": "\(tls != nil)", "server.loops": "\(group.loops.count)",
                "server.open_files": "\(openFiles)", "coach": "\(llm != nil ? "llm+rules" : "rules")", "store": "memory",
                "auth.keys": "\(authenticator.keyCount)",
            ]
        )

        for await signal in signals {
            if signal == SIGHUP {
                do {
                    try tls?.reload()
                    logger.notice("TLS certificate reloaded")
                } catch {
                    logger.error("TLS certificate reload failed; keeping the old one", metadata: ["tls.error": "\(error)"])
                }
                continue
            }
            logger.notice("draining", metadata: ["signal": "\(signal)"])
            break
        }
        // Drain: readiness fails, the listener stops, and every transport closes without a Socket.IO
        // DISCONNECT, so official clients reconnect (to another node) and resume their conversations.
        responder.startDraining()
        async let aborted = server.shutdown(gracePeriod: .seconds(10))
        io.closeAllConnections()
        let abortedCount = await aborted
        openAI?.shutdown()
        group.shutdown()
        logger.notice("stopped", metadata: ["server.aborted_connections": "\(abortedCount)"])
        return 0
    }
}
