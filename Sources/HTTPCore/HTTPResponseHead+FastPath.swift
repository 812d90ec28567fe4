public import IOCore

/// Header fields encoded once, ahead of time, for responses sent many times with the same fields
/// (for example `Content-Type` and `Cache-Control` of a polling response). Writing them is one copy.
public struct HTTPPreencodedHeaders: Sendable, Hashable {
    /// The fields as `name: value\r\n` lines, already made safe.
    let bytes: [UInt8]

    /// Encodes `headers`, with the same safety rules as ``HTTPResponseHead/write(into:)``. Leave out
    /// Content-Length and Connection: the fast writer adds them.
    public init(_ headers: HTTPHeaders) {
        var buffer = ByteBuffer()
        HTTPWriting.writeFields(headers, into: &buffer)
        self.bytes = buffer.readableBytesArray
    }

    /// No fields.
    public init() {
        self.bytes = []
    }
}

/// The Connection field the fast response writer adds.
public enum HTTPConnectionHeader: Sendable, Hashable {
    /// No Connection field: the client's default applies (keep-alive for HTTP/1.1 clients).
    case omitted
    /// `Connection: keep-alive`, which an HTTP/1.0 client needs to keep the connection.
    case keepAlive
    /// `Connection: close`: the server closes the connection after this response.
    case close
}

extension HTTPResponseHead {
    /// Appends a complete HTTP/1.1 response with a Content-Length body in one pass: status line,
    /// the pre-encoded fields, the Connection field, `Content-Length`, the empty line and the body.
    /// The buffer grows at most once.
    /// - Parameters:
    ///   - status: the status; its reason phrase is made safe like a field value, and a code outside
    ///     100...999 is clamped into it.
    ///   - headers: the fixed fields, without Content-Length or Connection.
    ///   - connection: the Connection field to add, if any.
    ///   - body: the body bytes (written even for HEAD; leave them out for a HEAD response).
    ///   - buffer: where the response is appended.
    public static func writeResponse(
        status: HTTPStatus,
        headers: HTTPPreencodedHeaders,
        connection: HTTPConnectionHeader = .omitted,
        body: UnsafeRawBufferPointer,
        into buffer: inout ByteBuffer
    ) {
        let connectionLine: StaticString
        switch connection {
        case .omitted: connectionLine = ""
        case .keepAlive: connectionLine = "Connection: keep-alive\r\n"
        case .close: connectionLine = "Connection: close\r\n"
        }
        let lengthDigits = Self.decimalDigitCount(body.count)
        HTTPHeaders.withBytes(of: status.reasonPhrase) { reason in
            // "HTTP/1.1 " code SP reason CRLF, fields, connection, "Content-Length: " digits CRLF CRLF, body.
            let total =
                9 + 3 + 1 + reason.count + 2 + headers.bytes.count + connectionLine.utf8CodeUnitCount + 16
                + lengthDigits + 4 + body.count
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { output in
                let start = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var cursor = start
                func copy(_ source: UnsafeRawPointer?, _ count: Int) {
                    guard count > 0, let source else { return }
                    cursor.update(from: source.assumingMemoryBound(to: UInt8.self), count: count)
                    cursor += count
                }
                let prefix: StaticString = "HTTP/1.1 "
                copy(prefix.utf8Start, 9)
                let code = max(100, min(999, status.code))
                cursor[0] = UInt8(truncatingIfNeeded: code / 100) &+ 0x30
                cursor[1] = UInt8(truncatingIfNeeded: code / 10 % 10) &+ 0x30
                cursor[2] = UInt8(truncatingIfNeeded: code % 10) &+ 0x30
                cursor[3] = HTTPBytes.space
                cursor += 4
                for byte in reason {
                    cursor.pointee = HTTPBytes.isFieldValueCharacter(byte) ? byte : HTTPBytes.space
                    cursor += 1
                }
                cursor[0] = HTTPBytes.carriageReturn
                cursor[1] = HTTPBytes.lineFeed
                cursor += 2
                headers.bytes.withUnsafeBytes { copy($0.baseAddress, $0.count) }
                copy(connectionLine.utf8Start, connectionLine.utf8CodeUnitCount)
                let lengthName: StaticString = "Content-Length: "
                copy(lengthName.utf8Start, 16)
                var value = body.count
                for index in stride(from: lengthDigits - 1, through: 0, by: -1) {
                    cursor[index] = UInt8(truncatingIfNeeded: value % 10) &+ 0x30
                    value /= 10
                }
                cursor += lengthDigits
                cursor[0] = HTTPBytes.carriageReturn
                cursor[1] = HTTPBytes.lineFeed
                cursor[2] = HTTPBytes.carriageReturn
                cursor[3] = HTTPBytes.lineFeed
                cursor += 4
                copy(body.baseAddress, body.count)
                assert(cursor - start == total, "response size computed wrongly")
                return total
            }
        }
    }

    /// Appends a complete response whose body is the readable bytes of `body`; see
    /// the raw-bytes overload.
    public static func writeResponse(
        status: HTTPStatus,
        headers: HTTPPreencodedHeaders,
        connection: HTTPConnectionHeader = .omitted,
        body: ByteBuffer,
        into buffer: inout ByteBuffer
    ) {
        body.withUnsafeReadableBytes { bytes in
            self.writeResponse(status: status, headers: headers, connection: connection, body: bytes, into: &buffer)
        }
    }

    /// Appends a complete response whose body is the UTF-8 of `body`.
    public static func writeResponse(
        status: HTTPStatus,
        headers: HTTPPreencodedHeaders,
        connection: HTTPConnectionHeader = .omitted,
        body: String,
        into buffer: inout ByteBuffer
    ) {
        HTTPHeaders.withBytes(of: body) { bytes in
            self.writeResponse(
                status: status,
                headers: headers,
                connection: connection,
                body: UnsafeRawBufferPointer(bytes),
                into: &buffer
            )
        }
    }

    /// The number of decimal digits of a non-negative `value`.
    private static func decimalDigitCount(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}
