public import HTTPCore

/// Which browser origins may call the server, and the CORS headers that say so.
///
/// Origins are compared exactly (scheme, host and port), so `chrome-extension://<id>` entries work like
/// web origins. A request without `Origin` is not a cross-origin browser request (a native client, or an
/// extension page's own polling request) and gets no CORS headers; whether to serve it is not CORS's call.
public struct CORSPolicy: Sendable, Hashable {
    /// The allowed origins.
    public enum Origins: Sendable, Hashable {
        /// Every origin (`Access-Control-Allow-Origin: *`, or the origin itself when credentials are allowed).
        case any
        /// Exactly these origins.
        case list(Set<String>)
    }

    /// Who may call.
    public var origins: Origins
    /// Whether cookies and credentials are allowed (`Access-Control-Allow-Credentials: true`).
    public var allowCredentials: Bool
    /// Methods announced to preflight requests.
    public var allowedMethods: String
    /// How long a browser may cache a preflight answer, in seconds.
    public var maxAgeSeconds: Int?

    /// A policy; by default any origin, no credentials.
    public init(origins: Origins = .any, allowCredentials: Bool = false, allowedMethods: String = "GET,HEAD,PUT,PATCH,POST,DELETE", maxAgeSeconds: Int? = nil) {
        self.origins = origins
        self.allowCredentials = allowCredentials
        self.allowedMethods = allowedMethods
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Parses a comma-separated allowlist such as `CORS_ORIGIN`: `*` means any origin.
    public init(allowlist: String) {
        let entries = allowlist.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        if entries.isEmpty || entries.contains("*") {
            self.init(origins: .any)
        } else {
            self.init(origins: .list(Set(entries.map { Self.normalize($0) })))
        }
    }

    /// Whether a request from `origin` is allowed; nil (no `Origin` header) is always allowed.
    public func allows(origin: String?) -> Bool {
        guard let origin else { return true }
        switch self.origins {
        case .any: return true
        case .list(let allowed): return allowed.contains(Self.normalize(origin))
        }
    }

    /// The headers for an actual (non-preflight) response to a request with `origin`.
    public func responseHeaders(origin: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        self.addOriginHeaders(origin: origin, to: &headers)
        return headers
    }

    /// The headers of a `204` answer to a preflight `OPTIONS` request.
    public func preflightHeaders(origin: String?, requestedHeaders: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        self.addOriginHeaders(origin: origin, to: &headers)
        guard headers.contains(name: "Access-Control-Allow-Origin") else { return headers }
        headers.add(name: "Access-Control-Allow-Methods", value: self.allowedMethods)
        if let requestedHeaders, !requestedHeaders.isEmpty {
            headers.add(name: "Access-Control-Allow-Headers", value: requestedHeaders)
            headers.add(name: "Vary", value: "Access-Control-Request-Headers")
        }
        if let maxAge = self.maxAgeSeconds { headers.add(name: "Access-Control-Max-Age", value: String(maxAge)) }
        return headers
    }

    private func addOriginHeaders(origin: String?, to headers: inout HTTPHeaders) {
        switch self.origins {
        case .any where !self.allowCredentials:
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
        case .any:
            guard let origin else { return }
            headers.add(name: "Access-Control-Allow-Origin", value: origin)
            headers.add(name: "Vary", value: "Origin")
        case .list:
            guard let origin, self.allows(origin: origin) else { return }
            headers.add(name: "Access-Control-Allow-Origin", value: origin)
            headers.add(name: "Vary", value: "Origin")
        }
        if self.allowCredentials { headers.add(name: "Access-Control-Allow-Credentials", value: "true") }
    }

    /// Origins compare case-insensitively in scheme and host, without a trailing slash.
    private static func normalize(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
