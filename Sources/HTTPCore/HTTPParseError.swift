/// Why an HTTP/1.1 message could not be parsed, with the status a server should answer with.
///
/// A struct around a private code, so that new codes never break callers. `message` is a static
/// string (it never contains bytes from the peer), safe for logs and as a metric label.
/// Two errors are equal when their codes are equal.
public struct HTTPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline enum Code: UInt8, Hashable, Sendable {
        case invalidRequestLine, invalidRequestTarget, invalidStatusLine, invalidVersion
        case bareCarriageReturn, invalidHeaderName, whitespaceBeforeColon, obsoleteLineFolding, invalidHeaderValue
        case invalidContentLength, conflictingContentLength, contentLengthWithTransferEncoding
        case invalidTransferEncoding, transferEncodingInHTTP10, missingHost, multipleHost, invalidHost
        case invalidChunkSize, invalidChunkExtension, chunkLineTooLong, invalidChunkTerminator
        case tooManyEmptyLines, truncatedMessage
        case bodyTooLarge, requestLineTooLong, statusLineTooLong, headersTooLarge, tooManyHeaders, trailersTooLarge
        case unsupportedTransferCoding, unsupportedVersion
    }

    @usableFromInline let code: Code

    @usableFromInline init(_ code: Code) {
        self.code = code
    }

    /// The status code a server answers with when it rejects a request for this reason
    /// (400, 413, 414, 431, 501 or 505; 502 for errors only a response can have).
    public var status: Int {
        switch self.code {
        case .bodyTooLarge: 413
        case .requestLineTooLong: 414
        case .headersTooLarge, .tooManyHeaders, .trailersTooLarge: 431
        case .unsupportedTransferCoding: 501
        case .unsupportedVersion: 505
        case .invalidStatusLine, .statusLineTooLong, .truncatedMessage: 502
        default: 400
        }
    }

    /// A fixed description of the error; never contains peer data.
    public var message: String {
        switch self.code {
        case .invalidRequestLine: "malformed request line"
        case .invalidRequestTarget: "malformed request target"
        case .invalidStatusLine: "malformed status line"
        case .invalidVersion: "malformed HTTP version"
        case .bareCarriageReturn: "carriage return not followed by line feed"
        case .invalidHeaderName: "invalid header field name"
        case .whitespaceBeforeColon: "whitespace between header field name and colon"
        case .obsoleteLineFolding: "obsolete line folding or whitespace before a header field"
        case .invalidHeaderValue: "invalid header field value"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "differing Content-Length values"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .invalidTransferEncoding: "Transfer-Encoding does not end with chunked"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 message"
        case .missingHost: "missing Host header"
        case .multipleHost: "more than one Host header"
        case .invalidHost: "invalid Host header"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "invalid chunk extension"
        case .chunkLineTooLong: "chunk size line too long"
        case .invalidChunkTerminator: "chunk data not followed by a line ending"
        case .tooManyEmptyLines: "too many empty lines before the start line"
        case .truncatedMessage: "connection closed before the message was complete"
        case .bodyTooLarge: "body too large"
        case .requestLineTooLong: "request line too long"
        case .statusLineTooLong: "status line too long"
        case .headersTooLarge: "header section too large"
        case .tooManyHeaders: "too many header fields"
        case .trailersTooLarge: "trailer section too large"
        case .unsupportedTransferCoding: "unsupported transfer coding"
        case .unsupportedVersion: "unsupported HTTP version"
        }
    }

    /// The status and the fixed message.
    public var description: String { "HTTPParseError(\(self.status): \(self.message))" }

    /// The request line is not `method SP request-target SP HTTP-version`.
    public static let invalidRequestLine = HTTPParseError(.invalidRequestLine)
    /// The request target has a byte outside the URI characters, a bad percent escape, or an unknown form.
    public static let invalidRequestTarget = HTTPParseError(.invalidRequestTarget)
    /// The status line is not `HTTP-version SP 3DIGIT SP reason`.
    public static let invalidStatusLine = HTTPParseError(.invalidStatusLine)
    /// The HTTP version is not `HTTP/DIGIT.DIGIT`.
    public static let invalidVersion = HTTPParseError(.invalidVersion)
    /// A CR that is not immediately followed by LF.
    public static let bareCarriageReturn = HTTPParseError(.bareCarriageReturn)
    /// A header field name is empty, has a non-token byte, or the line has no colon.
    public static let invalidHeaderName = HTTPParseError(.invalidHeaderName)
    /// Whitespace between a field name and its colon (a request-smuggling vector, RFC 9112 §5.1).
    public static let whitespaceBeforeColon = HTTPParseError(.whitespaceBeforeColon)
    /// A field line that starts with whitespace: obs-fold, or whitespace before the first field.
    public static let obsoleteLineFolding = HTTPParseError(.obsoleteLineFolding)
    /// A control character (other than HTAB) in a field value.
    public static let invalidHeaderValue = HTTPParseError(.invalidHeaderValue)
    /// Content-Length is not a list of decimal numbers.
    public static let invalidContentLength = HTTPParseError(.invalidContentLength)
    /// Content-Length appears with different values.
    public static let conflictingContentLength = HTTPParseError(.conflictingContentLength)
    /// Both Content-Length and Transfer-Encoding are present.
    public static let contentLengthWithTransferEncoding = HTTPParseError(.contentLengthWithTransferEncoding)
    /// Transfer-Encoding is empty, malformed, names chunked twice, or does not end with chunked.
    public static let invalidTransferEncoding = HTTPParseError(.invalidTransferEncoding)
    /// Transfer-Encoding in an HTTP/1.0 message, whose framing is then unreliable (RFC 9112 §6.1).
    public static let transferEncodingInHTTP10 = HTTPParseError(.transferEncodingInHTTP10)
    /// An HTTP/1.1 request without Host.
    public static let missingHost = HTTPParseError(.missingHost)
    /// A request with more than one Host field.
    public static let multipleHost = HTTPParseError(.multipleHost)
    /// A Host value with bytes that cannot appear in an authority.
    public static let invalidHost = HTTPParseError(.invalidHost)
    /// A chunk size that is empty or not hexadecimal.
    public static let invalidChunkSize = HTTPParseError(.invalidChunkSize)
    /// A malformed chunk extension.
    public static let invalidChunkExtension = HTTPParseError(.invalidChunkExtension)
    /// A chunk size line (with extensions) longer than its limit.
    public static let chunkLineTooLong = HTTPParseError(.chunkLineTooLong)
    /// Chunk data not followed by CRLF.
    public static let invalidChunkTerminator = HTTPParseError(.invalidChunkTerminator)
    /// Too many empty lines before a start line.
    public static let tooManyEmptyLines = HTTPParseError(.tooManyEmptyLines)
    /// The connection ended in the middle of a message.
    public static let truncatedMessage = HTTPParseError(.truncatedMessage)
    /// The body is larger than its limit.
    public static let bodyTooLarge = HTTPParseError(.bodyTooLarge)
    /// The request line is longer than its limit.
    public static let requestLineTooLong = HTTPParseError(.requestLineTooLong)
    /// The status line is longer than its limit.
    public static let statusLineTooLong = HTTPParseError(.statusLineTooLong)
    /// The header section is larger than its limit.
    public static let headersTooLarge = HTTPParseError(.headersTooLarge)
    /// More header (or trailer) fields than the limit.
    public static let tooManyHeaders = HTTPParseError(.tooManyHeaders)
    /// The trailer section is larger than its limit.
    public static let trailersTooLarge = HTTPParseError(.trailersTooLarge)
    /// A transfer coding other than chunked, which this codec does not decode.
    public static let unsupportedTransferCoding = HTTPParseError(.unsupportedTransferCoding)
    /// An HTTP major version other than 1.
    public static let unsupportedVersion = HTTPParseError(.unsupportedVersion)
}
