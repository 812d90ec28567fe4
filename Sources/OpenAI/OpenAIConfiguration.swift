/// An API key that never shows itself: `description`, `debugDescription` and reflection (`dump`) all
/// print `<redacted>`. The key leaves the process only in the `Authorization` header.
public struct APIKey: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The secret; read only where the `Authorization` header is written.
    let value: String

    /// Wraps a key.
    public init(_ value: String) {
        self.value = value
    }

    /// Wraps a key written in the source (tests, examples).
    public init(stringLiteral value: String) {
        self.value = value
    }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror without children, so `dump` and debuggers print nothing of the key.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Where the API lives, parsed from a base URL as the OpenAI SDKs take it (`https://api.openai.com/v1`).
public struct OpenAIEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection uses TLS (`https`).
    public var usesTLS: Bool
    /// The host name or IP address (an IPv6 address without brackets).
    public var host: String
    /// The TCP port (default 443 for https, 80 for http).
    public var port: Int
    /// The path before `/chat/completions`, without a trailing slash, e.g. `/v1` (may be empty).
    public var pathPrefix: String

    /// Parses `baseURL`: `http` or `https`, a host, an optional port and path; no user info, query or
    /// fragment. A trailing slash is ignored.
    public init(baseURL: String) throws(OpenAIError) {
        func invalid(_ why: String) -> OpenAIError { .invalidConfiguration("base URL \(why)") }
        var rest = Substring(baseURL)
        if rest.hasPrefix("https://") {
            self.usesTLS = true
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            self.usesTLS = false
            rest = rest.dropFirst(7)
        } else {
            throw invalid("must start with https:// or http://")
        }
        guard !rest.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0 == " " || $0 == "\\" }) else {
            throw invalid("must not contain user info, a query, a fragment, spaces or backslashes")
        }
        let authority = rest.prefix(while: { $0 != "/" })
        var path = rest.dropFirst(authority.count)
        while path.hasSuffix("/") { path = path.dropLast() }
        self.pathPrefix = String(path)
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("has an unterminated IPv6 address") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("has characters after the IPv6 address") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
        }
        guard !hostPart.isEmpty, hostPart.utf8.count <= 253 else { throw invalid("has no host") }
        self.host = String(hostPart).lowercased()
        if let portPart {
            guard !portPart.isEmpty, portPart.utf8.count <= 5, portPart.allSatisfy(\.isASCII), let port = Int(portPart),
                (1...65535).contains(port)
            else { throw invalid("has an invalid port") }
            self.port = port
        } else {
            self.port = self.usesTLS ? 443 : 80
        }
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.0/8`, `::1`), where plain HTTP is harmless.
    public var isLoopback: Bool {
        if self.host == "localhost" || self.host.hasSuffix(".localhost") || self.host == "::1" { return true }
        let octets = self.host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// The request target of the chat completions endpoint.
    public var chatCompletionsPath: String { self.pathPrefix + "/chat/completions" }

    /// The base URL, normalised.
    public var description: String {
        let scheme = self.usesTLS ? "https" : "http"
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let defaultPort = self.usesTLS ? 443 : 80
        return "\(scheme)://\(host)\(self.port == defaultPort ? "" : ":\(self.port)")\(self.pathPrefix)"
    }
}

/// The deadlines of a call.
public struct OpenAITimeouts: Sendable, Hashable {
    /// Name resolution, TCP connect and TLS handshake of a new connection.
    public var connect: Duration
    /// From sending a request to receiving the response head (a streamed answer's head comes when the
    /// model starts; a non-streamed one's when it has finished).
    public var firstByte: Duration
    /// The whole call: every attempt, the backoff between them, and reading the body (for a stream,
    /// until its end).
    public var request: Duration

    /// Deadlines; by default 10 s to connect, 60 s to the first byte, 120 s in all.
    public init(connect: Duration = .seconds(10), firstByte: Duration = .seconds(60), request: Duration = .seconds(120)) {
        self.connect = connect
        self.firstByte = firstByte
        self.request = request
    }
}

/// The keep-alive pool's bounds.
public struct ConnectionPoolPolicy: Sendable, Hashable {
    /// The most idle connections kept for reuse; more are closed when released. Set it to at least
    /// the number of calls usually in flight, or connections are closed and reopened (a TLS handshake
    /// each) under load.
    public var maximumIdleConnections: Int
    /// An idle connection older than this is closed instead of reused (servers close idle connections
    /// after some time; reusing one then costs a failed attempt).
    public var idleTimeout: Duration

    /// Bounds; 32 idle connections, 30 s idle timeout by default.
    public init(maximumIdleConnections: Int = 32, idleTimeout: Duration = .seconds(30)) {
        self.maximumIdleConnections = max(0, maximumIdleConnections)
        self.idleTimeout = idleTimeout
    }
}

/// Everything an ``OpenAIClient`` needs: endpoint, credentials, model, prices, deadlines, retries,
/// breaker, pool and TLS trust.
///
/// `description` redacts the API key.
public struct OpenAIConfiguration: Sendable, CustomStringConvertible {
    /// The API key, sent as `Authorization: Bearer <key>`; nil sends no `Authorization` (local servers).
    public var apiKey: APIKey?
    /// The model used when a request names none.
    public var model: String
    /// Where the API lives.
    public var endpoint: OpenAIEndpoint
    /// Whether plain `http://` may be used for a host that is not loopback. Off: the key and the
    /// transcripts would cross the network unencrypted.
    public var allowsInsecureHTTP: Bool
    /// A PEM file of CA certificates to trust instead of the system store (tests, private endpoints).
    public var certificateAuthorityFile: String?
    /// Prices for the cost figure.
    public var prices: TokenPrices
    /// Deadlines.
    public var timeouts: OpenAITimeouts
    /// Retries.
    public var retry: RetryPolicy
    /// The circuit breaker.
    public var circuitBreaker: CircuitBreakerPolicy
    /// The keep-alive pool.
    public var pool: ConnectionPoolPolicy
    /// The largest response body accepted (a non-streamed answer, or a whole stream).
    public var maximumResponseBytes: Int
    /// Bounds for the event-stream parser.
    public var eventStreamLimits: SSEParser.Limits

    /// The default model, `gpt-4o-mini`.
    public static let defaultModel = "gpt-4o-mini"
    /// The default base URL, `https://api.openai.com/v1`.
    public static let defaultBaseURL = "https://api.openai.com/v1"

    /// A configuration with the defaults for everything not given.
    /// - Throws: ``OpenAIError/invalidConfiguration(_:)`` for a malformed `baseURL`.
    public init(apiKey: APIKey?, model: String = Self.defaultModel, baseURL: String = Self.defaultBaseURL) throws(OpenAIError) {
        self.apiKey = apiKey
        self.model = model
        self.endpoint = try OpenAIEndpoint(baseURL: baseURL)
        self.allowsInsecureHTTP = false
        self.certificateAuthorityFile = nil
        self.prices = .gpt4oMini
        self.timeouts = OpenAITimeouts()
        self.retry = RetryPolicy()
        self.circuitBreaker = CircuitBreakerPolicy()
        self.pool = ConnectionPoolPolicy()
        self.maximumResponseBytes = 16 << 20
        self.eventStreamLimits = SSEParser.Limits()
    }

    /// Reads `OPENAI_API_KEY`, `OPENAI_MODEL` and `OPENAI_BASE_URL` (empty counts as unset).
    /// - Throws: ``OpenAIError/invalidConfiguration(_:)`` for a malformed base URL.
    public init(environment: [String: String]) throws(OpenAIError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        try self.init(
            apiKey: value("OPENAI_API_KEY").map { APIKey($0) },
            model: value("OPENAI_MODEL") ?? Self.defaultModel,
            baseURL: value("OPENAI_BASE_URL") ?? Self.defaultBaseURL
        )
    }

    /// Checks what the initialiser cannot: plain HTTP only to loopback unless ``allowsInsecureHTTP``;
    /// a model name; positive limits.
    public func validate() throws(OpenAIError) {
        if !self.endpoint.usesTLS && !self.endpoint.isLoopback && !self.allowsInsecureHTTP {
            throw .invalidConfiguration(
                "plain http:// is allowed only for loopback hosts unless insecure HTTP is explicitly allowed"
            )
        }
        guard !self.model.isEmpty else { throw .invalidConfiguration("the model name is empty") }
        guard self.maximumResponseBytes > 0 else { throw .invalidConfiguration("maximumResponseBytes must be positive") }
    }

    /// The settings, with the API key redacted.
    public var description: String {
        "OpenAIConfiguration(baseURL: \(self.endpoint), model: \(self.model), apiKey: "
            + (self.apiKey == nil ? "none" : "<redacted>")
            + (self.certificateAuthorityFile.map { ", caFile: \($0)" } ?? "") + ")"
    }
}
