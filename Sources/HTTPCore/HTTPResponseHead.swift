/// The status line and header section of a response.
public struct HTTPResponseHead: Sendable, Hashable, CustomStringConvertible {
    /// The protocol version.
    public var version: HTTPVersion
    /// The three-digit status code.
    public var statusCode: Int
    /// The reason phrase (may be empty).
    public var reasonPhrase: String
    /// The header fields.
    public var headers: HTTPHeaders

    /// A response head with a status code and reason phrase.
    public init(version: HTTPVersion = .http1_1, statusCode: Int, reasonPhrase: String, headers: HTTPHeaders = [:]) {
        self.version = version
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase
        self.headers = headers
    }

    /// A response head with `status`'s code and reason phrase.
    public init(version: HTTPVersion = .http1_1, status: HTTPStatus, headers: HTTPHeaders = [:]) {
        self.init(version: version, statusCode: status.code, reasonPhrase: status.reasonPhrase, headers: headers)
    }

    /// The status code and reason phrase as an ``HTTPStatus``.
    public var status: HTTPStatus { HTTPStatus(code: self.statusCode, reasonPhrase: self.reasonPhrase) }

    /// Whether the version and Connection header let the connection stay open after this response:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`. A response
    /// whose body runs until the connection closes ends it whatever this says.
    public var isKeepAlive: Bool { self.version.isKeepAlive(self.headers) }

    /// The version, status and reason; the headers are left out because they may carry credentials.
    public var description: String { "\(self.version) \(self.statusCode) \(self.reasonPhrase)" }
}
