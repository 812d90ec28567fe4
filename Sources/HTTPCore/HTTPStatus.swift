/// A response status: the code and its reason phrase (RFC 9110 §15).
public struct HTTPStatus: Sendable, Hashable, CustomStringConvertible {
    /// The three-digit status code.
    public var code: Int
    /// The reason phrase; clients ignore it, but people read it.
    public var reasonPhrase: String

    /// A status with `code` and the given reason, or the standard reason when `reasonPhrase` is nil.
    public init(code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? HTTPStatus.standardReasonPhrase(forCode: code)
    }

    /// The code and reason phrase, as in a status line.
    public var description: String { "\(self.code) \(self.reasonPhrase)" }

    /// Whether the status is 1xx, an interim response that a final response follows.
    public var isInformational: Bool { (100..<200).contains(self.code) }

    /// The reason phrase RFC 9110 gives `code`, or an empty string for codes it does not define.
    public static func standardReasonPhrase(forCode code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: ""
        }
    }

    /// 100 Continue.
    public static var `continue`: HTTPStatus { HTTPStatus(code: 100, reasonPhrase: "Continue") }
    /// 101 Switching Protocols.
    public static var switchingProtocols: HTTPStatus { HTTPStatus(code: 101, reasonPhrase: "Switching Protocols") }
    /// 200 OK.
    public static var ok: HTTPStatus { HTTPStatus(code: 200, reasonPhrase: "OK") }
    /// 201 Created.
    public static var created: HTTPStatus { HTTPStatus(code: 201, reasonPhrase: "Created") }
    /// 204 No Content.
    public static var noContent: HTTPStatus { HTTPStatus(code: 204, reasonPhrase: "No Content") }
    /// 301 Moved Permanently.
    public static var movedPermanently: HTTPStatus { HTTPStatus(code: 301, reasonPhrase: "Moved Permanently") }
    /// 302 Found.
    public static var found: HTTPStatus { HTTPStatus(code: 302, reasonPhrase: "Found") }
    /// 304 Not Modified.
    public static var notModified: HTTPStatus { HTTPStatus(code: 304, reasonPhrase: "Not Modified") }
    /// 400 Bad Request.
    public static var badRequest: HTTPStatus { HTTPStatus(code: 400, reasonPhrase: "Bad Request") }
    /// 401 Unauthorized.
    public static var unauthorized: HTTPStatus { HTTPStatus(code: 401, reasonPhrase: "Unauthorized") }
    /// 403 Forbidden.
    public static var forbidden: HTTPStatus { HTTPStatus(code: 403, reasonPhrase: "Forbidden") }
    /// 404 Not Found.
    public static var notFound: HTTPStatus { HTTPStatus(code: 404, reasonPhrase: "Not Found") }
    /// 405 Method Not Allowed.
    public static var methodNotAllowed: HTTPStatus { HTTPStatus(code: 405, reasonPhrase: "Method Not Allowed") }
    /// 408 Request Timeout.
    public static var requestTimeout: HTTPStatus { HTTPStatus(code: 408, reasonPhrase: "Request Timeout") }
    /// 413 Content Too Large.
    public static var contentTooLarge: HTTPStatus { HTTPStatus(code: 413, reasonPhrase: "Content Too Large") }
    /// 414 URI Too Long.
    public static var uriTooLong: HTTPStatus { HTTPStatus(code: 414, reasonPhrase: "URI Too Long") }
    /// 426 Upgrade Required.
    public static var upgradeRequired: HTTPStatus { HTTPStatus(code: 426, reasonPhrase: "Upgrade Required") }
    /// 429 Too Many Requests.
    public static var tooManyRequests: HTTPStatus { HTTPStatus(code: 429, reasonPhrase: "Too Many Requests") }
    /// 431 Request Header Fields Too Large.
    public static var requestHeaderFieldsTooLarge: HTTPStatus {
        HTTPStatus(code: 431, reasonPhrase: "Request Header Fields Too Large")
    }
    /// 500 Internal Server Error.
    public static var internalServerError: HTTPStatus { HTTPStatus(code: 500, reasonPhrase: "Internal Server Error") }
    /// 501 Not Implemented.
    public static var notImplemented: HTTPStatus { HTTPStatus(code: 501, reasonPhrase: "Not Implemented") }
    /// 502 Bad Gateway.
    public static var badGateway: HTTPStatus { HTTPStatus(code: 502, reasonPhrase: "Bad Gateway") }
    /// 503 Service Unavailable.
    public static var serviceUnavailable: HTTPStatus { HTTPStatus(code: 503, reasonPhrase: "Service Unavailable") }
    /// 504 Gateway Timeout.
    public static var gatewayTimeout: HTTPStatus { HTTPStatus(code: 504, reasonPhrase: "Gateway Timeout") }
    /// 505 HTTP Version Not Supported.
    public static var httpVersionNotSupported: HTTPStatus {
        HTTPStatus(code: 505, reasonPhrase: "HTTP Version Not Supported")
    }
}
