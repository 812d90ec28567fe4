import IOCore

/// An HTTP protocol version, `HTTP/major.minor`.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The major version; the parsers accept only 1.
    public var major: Int
    /// The minor version, 0 through 9.
    public var minor: Int

    /// The version `HTTP/major.minor`.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0: connections close after each message unless `Connection: keep-alive`.
    public static var http1_0: HTTPVersion { HTTPVersion(major: 1, minor: 0) }
    /// HTTP/1.1: connections persist unless `Connection: close`.
    public static var http1_1: HTTPVersion { HTTPVersion(major: 1, minor: 1) }

    /// `HTTP/major.minor`.
    public var description: String { "HTTP/\(self.major).\(self.minor)" }

    /// Whether a message of this version keeps the connection open, given its Connection header.
    func isKeepAlive(_ headers: HTTPHeaders) -> Bool {
        if headers.containsToken("close", forName: "connection") { return false }
        if self.major == 1 && self.minor == 0 { return headers.containsToken("keep-alive", forName: "connection") }
        return self.major >= 1
    }

    /// Appends `HTTP/major.minor`; components outside 0...9 are clamped so the output stays one token.
    func write(into buffer: inout ByteBuffer) {
        buffer.writeString("HTTP/")
        buffer.writeByte(0x30 &+ UInt8(truncatingIfNeeded: max(0, min(9, self.major))))
        buffer.writeByte(0x2E)
        buffer.writeByte(0x30 &+ UInt8(truncatingIfNeeded: max(0, min(9, self.minor))))
    }
}
