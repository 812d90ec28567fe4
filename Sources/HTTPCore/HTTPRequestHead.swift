/// The start line and header section of a request.
public struct HTTPRequestHead: Sendable, Hashable, CustomStringConvertible {
    /// The request method.
    public var method: HTTPMethod
    /// The request target exactly as sent: `/path?query`, an absolute URI, an authority (CONNECT) or `*`.
    /// Setting it recomputes ``path`` and ``query``.
    public var target: String {
        didSet { (self.path, self.query) = HTTPRequestHead.splitTarget(self.target, method: self.method) }
    }
    /// The path component of the target, percent-decoded, without the query: `/a b` for
    /// `/a%20b?x=1`, `/c` for `http://host/c`, `*` for `*`, empty for an authority-form target.
    public private(set) var path: String
    /// The raw query after the first `?`, not decoded (see ``HTTPQuery``), or nil when there is no `?`.
    public private(set) var query: String?
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields.
    public var headers: HTTPHeaders

    /// A request head for a client to send. The path and query are derived from `target`; an
    /// invalid percent escape leaves that part of the path undecoded.
    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]) {
        self.method = method
        self.target = target
        (self.path, self.query) = HTTPRequestHead.splitTarget(target, method: method)
        self.version = version
        self.headers = headers
    }

    /// A head whose parts the request parser already validated and split.
    init(method: HTTPMethod, target: String, path: String, query: String?, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
    }

    /// Whether the connection stays open after this request: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var isKeepAlive: Bool { self.version.isKeepAlive(self.headers) }

    /// The method, target and version; the headers are left out because they may carry credentials.
    public var description: String { "\(self.method) \(self.target) \(self.version)" }

    /// The path and query of a target given by a caller (lenient: never fails).
    static func splitTarget(_ target: String, method: HTTPMethod) -> (path: String, query: String?) {
        var target = target
        return target.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return ("", nil) }
            let parts = HTTPRequestTarget.split(base, count: bytes.count, isConnect: method == .connect)
            let path: String
            if let parts {
                let raw = UnsafeBufferPointer(start: base + parts.pathStart, count: parts.pathEnd - parts.pathStart)
                path =
                    parts.isAbsoluteWithoutPath
                    ? "/" : (PercentEncoding.decode(raw, plusAsSpace: false) ?? String(decoding: raw, as: UTF8.self))
            } else {
                path = ""
            }
            guard let queryStart = parts?.queryStart ?? bytes.firstIndex(of: HTTPBytes.questionMark).map({ $0 + 1 })
            else { return (path, nil) }
            return (path, String(decoding: UnsafeBufferPointer(rebasing: bytes[queryStart...]), as: UTF8.self))
        }
    }
}

/// Splits a request target into its path and query (RFC 9112 §3.2).
enum HTTPRequestTarget {
    /// Where the path and query of a target are.
    struct Parts {
        /// The first byte of the path.
        var pathStart: Int
        /// One past the last byte of the path.
        var pathEnd: Int
        /// The first byte after `?`, or nil when there is no query.
        var queryStart: Int?
        /// An absolute-form target with an empty path, which means `/`.
        var isAbsoluteWithoutPath: Bool
    }

    /// The parts of a target of `count` bytes at `base`, or nil when it is in no known form. The bytes
    /// must already be visible ASCII.
    static func split(_ base: UnsafePointer<UInt8>, count: Int, isConnect: Bool) -> Parts? {
        if isConnect {
            // authority-form: host:port, no path.
            return Parts(pathStart: 0, pathEnd: 0, queryStart: nil, isAbsoluteWithoutPath: false)
        }
        if count == 1 && base[0] == 0x2A {
            // asterisk-form, for OPTIONS.
            return Parts(pathStart: 0, pathEnd: 1, queryStart: nil, isAbsoluteWithoutPath: false)
        }
        var pathStart = 0
        var isAbsolute = false
        if count == 0 { return nil }
        if base[0] != HTTPBytes.slash {
            // absolute-form: scheme "://" authority path-abempty [ "?" query ].
            guard let schemeEnd = self.schemeEnd(base, count: count) else { return nil }
            pathStart = schemeEnd + 3
            while pathStart < count && base[pathStart] != HTTPBytes.slash && base[pathStart] != HTTPBytes.questionMark {
                pathStart += 1
            }
            isAbsolute = true
        }
        var pathEnd = pathStart
        while pathEnd < count && base[pathEnd] != HTTPBytes.questionMark { pathEnd += 1 }
        return Parts(
            pathStart: pathStart,
            pathEnd: pathEnd,
            queryStart: pathEnd < count ? pathEnd + 1 : nil,
            isAbsoluteWithoutPath: isAbsolute && pathEnd == pathStart
        )
    }

    /// The index of the `:` of `scheme://` at the start of the target, or nil.
    private static func schemeEnd(_ base: UnsafePointer<UInt8>, count: Int) -> Int? {
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        guard HTTPBytes.lowercased(base[0]) &- 0x61 < 26 else { return nil }
        var index = 1
        while index < count {
            let byte = base[index]
            if byte == HTTPBytes.colon { break }
            let isSchemeByte =
                HTTPBytes.lowercased(byte) &- 0x61 < 26 || byte &- 0x30 < 10 || byte == 0x2B || byte == 0x2D
                || byte == 0x2E
            guard isSchemeByte else { return nil }
            index += 1
        }
        guard index + 2 < count, base[index + 1] == HTTPBytes.slash, base[index + 2] == HTTPBytes.slash else {
            return nil
        }
        return index
    }
}
