import Coaching
import HTTP
import Logging

/// What `earpiece serve` was asked to do. Every option is a flag and an environment variable; the flag
/// wins, then the environment, then the default.
struct ServeConfiguration {
    /// One option: its flag, its variable and what it is for (the `--help` text is built from these).
    struct Option {
        var flag: String
        var variable: String
        var placeholder: String
        var help: String
    }

    static let options: [Option] = [
        Option(flag: "--host", variable: "HOST", placeholder: "ADDRESS", help: "address to bind, default 0.0.0.0"),
        Option(flag: "--port", variable: "PORT", placeholder: "N", help: "port to listen on, default 3000"),
        Option(flag: "--tls-cert", variable: "TLS_CERT_FILE", placeholder: "FILE", help: "PEM certificate chain; HTTPS with --tls-key"),
        Option(flag: "--tls-key", variable: "TLS_KEY_FILE", placeholder: "FILE", help: "PEM private key"),
        Option(flag: "--loops", variable: "EVENT_LOOPS", placeholder: "N", help: "event loops, default one per CPU"),
        Option(flag: "--log-level", variable: "LOG_LEVEL", placeholder: "LEVEL", help: "trace|debug|info|notice|warning|error|critical, default info"),
        Option(flag: "--api-key", variable: "BACKEND_API_KEY", placeholder: "KEYS", help: "API keys clients present in auth {apiKey}, comma-separated; none: no check"),
        Option(flag: "--cors-origin", variable: "CORS_ORIGIN", placeholder: "ORIGINS", help: "allowed origins, comma-separated (chrome-extension://ID works), default *"),
        Option(flag: "--env", variable: "EARPIECE_ENV", placeholder: "NAME", help: "production: API keys required, at least 32 characters"),
        Option(flag: "--openai-model", variable: "OPENAI_MODEL", placeholder: "NAME", help: "model, default gpt-4o-mini"),
        Option(flag: "--openai-base-url", variable: "OPENAI_BASE_URL", placeholder: "URL", help: "API base URL ending in /v1, default https://api.openai.com/v1"),
        Option(flag: "--openai-api-key", variable: "OPENAI_API_KEY", placeholder: "KEY", help: "enables LLM tips (prefer the variable: flags show in ps)"),
        Option(flag: "--redis-url", variable: "REDIS_URL", placeholder: "URL", help: "the shared store for many nodes; not in this build yet, so setting it stops start-up (conversations live in memory)"),
        Option(flag: "--playbook", variable: "PLAYBOOK_FILE", placeholder: "FILE", help: "rule-coach playbook (JSON), default the embedded one"),
        Option(flag: "--llm-deadline-ms", variable: "LLM_DEADLINE_MS", placeholder: "MS", help: "after this the rule coach answers, default 4000"),
        Option(flag: "--resume-grace-seconds", variable: "RESUME_GRACE_SECONDS", placeholder: "S", help: "how long a dropped call waits for a resume, default 120"),
        Option(flag: "--idle-timeout-seconds", variable: "IDLE_TIMEOUT_SECONDS", placeholder: "S", help: "a call with no event this long ends, default 1800"),
        Option(flag: "--max-conversations-per-key", variable: "MAX_CONVERSATIONS_PER_KEY", placeholder: "N", help: "open conversations per API key, default 20"),
        Option(flag: "--rate-limit-start-per-minute", variable: "RATE_LIMIT_START_PER_MINUTE", placeholder: "N", help: "START_CONVERSATION per key, default 30"),
        Option(flag: "--rate-limit-connections-per-minute", variable: "RATE_LIMIT_CONNECTIONS_PER_MINUTE", placeholder: "N", help: "connections per client address, default 120"),
        Option(flag: "--trust-forwarded-for", variable: "TRUST_FORWARDED_FOR", placeholder: "BOOL", help: "behind a proxy: per-address limits use X-Forwarded-For, default false"),
        Option(flag: "--rate-limit-events-per-second", variable: "RATE_LIMIT_EVENTS_PER_SECOND", placeholder: "N", help: "events per connection, default 50"),
        Option(flag: "--rate-limit-transcript-per-second", variable: "RATE_LIMIT_TRANSCRIPT_PER_SECOND", placeholder: "N", help: "TRANSCRIPT per conversation, default 20"),
        Option(flag: "--rate-limit-tips-per-minute", variable: "RATE_LIMIT_TIPS_PER_MINUTE", placeholder: "N", help: "REQUEST_NEXT_TIP per conversation, default 30"),
        Option(flag: "--rate-limit-key-tips-per-minute", variable: "RATE_LIMIT_KEY_TIPS_PER_MINUTE", placeholder: "N", help: "tips per API key, timed and requested, default 600"),
        Option(flag: "--time-scale", variable: "COACHING_TIME_SCALE", placeholder: "F", help: "multiplies call timings (0.001 to 1), for tests and demos, default 1"),
    ]

    var host = "0.0.0.0"
    var port = 3000
    var tlsCertificateFile: String?
    var tlsKeyFile: String?
    var eventLoops: Int?
    var logLevel: Logger.Level = .info
    var apiKeys: [String] = []
    var production = false
    var cors = CORSPolicy(origins: .any)
    var redisURL: String?
    var playbookFile: String?
    var connectionsPerMinute = 120
    var trustForwardedFor = false
    var coaching = CoachingConfiguration()
    /// The environment with the flags laid over it: what the OpenAI configuration reads.
    var effectiveEnvironment: [String: String] = [:]
    var showHelp = false

    /// A configuration problem, told to the operator as is.
    struct Problem: Error, CustomStringConvertible {
        var message: String
        var description: String { self.message }
    }

    init(arguments: [String], environment: [String: String]) throws(Problem) {
        var settings = environment.filter { !$0.value.isEmpty }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "-h" || argument == "--help" {
                self.showHelp = true
                return
            }
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let option = Self.options.first(where: { $0.flag == name }) else { throw Problem(message: "unknown option '\(name)'") }
            if value == nil {
                index += 1
                guard index < arguments.count else { throw Problem(message: "option \(name) needs a value") }
                value = arguments[index]
            }
            settings[option.variable] = value
            index += 1
        }
        self.effectiveEnvironment = settings

        func integer(_ variable: String, _ range: ClosedRange<Int>) throws(Problem) -> Int? {
            guard let text = settings[variable] else { return nil }
            guard let number = Int(text), range.contains(number) else {
                let flag = Self.options.first { $0.variable == variable }?.flag ?? variable
                throw Problem(message: "\(flag) / \(variable) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return number
        }

        if let host = settings["HOST"] { self.host = host }
        if let port = try integer("PORT", 0...65535) { self.port = port }
        self.tlsCertificateFile = settings["TLS_CERT_FILE"]
        self.tlsKeyFile = settings["TLS_KEY_FILE"]
        if (self.tlsCertificateFile == nil) != (self.tlsKeyFile == nil) {
            throw Problem(message: "TLS needs both a certificate (--tls-cert / TLS_CERT_FILE) and a key (--tls-key / TLS_KEY_FILE)")
        }
        self.eventLoops = try integer("EVENT_LOOPS", 1...256)
        if let level = settings["LOG_LEVEL"] {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else { throw Problem(message: "unknown log level '\(level)'") }
            self.logLevel = parsed
        }
        self.apiKeys = APIKeyAuthenticator.keys(fromEnvironment: settings["BACKEND_API_KEY"])
        self.production = settings["EARPIECE_ENV"]?.lowercased() == "production"
        if let origins = settings["CORS_ORIGIN"] { self.cors = CORSPolicy(allowlist: origins) }
        self.redisURL = settings["REDIS_URL"]
        self.playbookFile = settings["PLAYBOOK_FILE"]
        if let value = try integer("RATE_LIMIT_CONNECTIONS_PER_MINUTE", 1...1_000_000) { self.connectionsPerMinute = value }
        if let value = settings["TRUST_FORWARDED_FOR"] {
            switch value.lowercased() {
            case "1", "true", "yes": self.trustForwardedFor = true
            case "0", "false", "no": self.trustForwardedFor = false
            default: throw Problem(message: "--trust-forwarded-for / TRUST_FORWARDED_FOR must be true or false, got '\(value)'")
            }
        }

        if let value = try integer("LLM_DEADLINE_MS", 100...120_000) { self.coaching.llmDeadline = .milliseconds(value) }
        if let value = try integer("RESUME_GRACE_SECONDS", 1...86_400) { self.coaching.resumeGrace = .seconds(value) }
        if let value = try integer("IDLE_TIMEOUT_SECONDS", 10...86_400) { self.coaching.idleTimeout = .seconds(value) }
        if let value = try integer("MAX_CONVERSATIONS_PER_KEY", 1...1_000_000) { self.coaching.maximumConversationsPerKey = value }
        if let value = try integer("RATE_LIMIT_START_PER_MINUTE", 1...1_000_000) { self.coaching.startRate = .perMinute(value) }
        if let value = try integer("RATE_LIMIT_EVENTS_PER_SECOND", 1...1_000_000) { self.coaching.eventRate = .perSecond(value) }
        if let value = try integer("RATE_LIMIT_TRANSCRIPT_PER_SECOND", 1...1_000_000) { self.coaching.transcriptRate = .perSecond(value) }
        if let value = try integer("RATE_LIMIT_TIPS_PER_MINUTE", 1...1_000_000) { self.coaching.tipRequestRate = .perMinute(value) }
        if let value = try integer("RATE_LIMIT_KEY_TIPS_PER_MINUTE", 1...10_000_000) { self.coaching.keyTipRate = .perMinute(value) }
        if let text = settings["COACHING_TIME_SCALE"] {
            guard let scale = Double(text), scale >= 0.001, scale <= 1 else {
                throw Problem(message: "--time-scale / COACHING_TIME_SCALE must be a number from 0.001 to 1, got '\(text)'")
            }
            self.coaching.timeScale = scale
        }
    }

    /// The options part of `earpiece --help`.
    static var help: String {
        let width = Self.options.map { $0.flag.count + $0.placeholder.count + 1 }.max() ?? 0
        return Self.options.map { option in
            let left = "\(option.flag) \(option.placeholder)"
            return "  " + left + String(repeating: " ", count: width - left.count + 2) + option.help + " [\(option.variable)]"
        }.joined(separator: "\n")
    }
}
