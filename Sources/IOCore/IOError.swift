#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: its name and the `errno` it set.
public struct IOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value.
    public var errno: Int32
    /// The system call that failed, for example `"accept4"`.
    public var syscall: String

    /// Wraps `errno` from `syscall`.
    public init(errno: Int32, syscall: String) {
        self.errno = errno
        self.syscall = syscall
    }

    public var description: String {
        "\(self.syscall) failed: \(String(cString: strerror(self.errno))) (errno \(self.errno))"
    }
}

/// Why a connection ended; the one place that names every way a byte stream can stop.
public struct ConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline enum Code: Hashable, Sendable {
        case reset, timedOut, outputOverflow, protocolViolation, tlsFailure, shuttingDown, connectFailed, io
    }

    @usableFromInline let code: Code
    /// Detail for logs; never contains payload bytes.
    public let detail: String

    @usableFromInline init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The peer reset the connection or it broke.
    public static func reset(_ detail: String = "") -> ConnectionError { .init(.reset, detail) }
    /// A deadline passed (handshake, header read, connect, idle).
    public static func timedOut(_ detail: String) -> ConnectionError { .init(.timedOut, detail) }
    /// The peer stopped reading and our output passed its hard limit.
    public static let outputOverflow = ConnectionError(.outputOverflow, "peer is not reading")
    /// The peer broke the protocol spoken on this connection.
    public static func protocolViolation(_ detail: String) -> ConnectionError { .init(.protocolViolation, detail) }
    /// The TLS handshake or record layer failed.
    public static func tlsFailure(_ detail: String) -> ConnectionError { .init(.tlsFailure, detail) }
    /// The server is shutting down and the drain deadline passed.
    public static let shuttingDown = ConnectionError(.shuttingDown, "server is shutting down")
    /// An outgoing connection could not be established.
    public static func connectFailed(_ detail: String) -> ConnectionError { .init(.connectFailed, detail) }
    /// A system call failed.
    public static func io(_ error: IOError) -> ConnectionError { .init(.io, error.description) }

    /// A short label without detail, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .reset: "reset"
        case .timedOut: "timed_out"
        case .outputOverflow: "output_overflow"
        case .protocolViolation: "protocol_violation"
        case .tlsFailure: "tls_failure"
        case .shuttingDown: "shutting_down"
        case .connectFailed: "connect_failed"
        case .io: "io"
        }
    }

    public var description: String {
        self.detail.isEmpty ? self.shortDescription : "\(self.shortDescription): \(self.detail)"
    }

    public static func == (lhs: ConnectionError, rhs: ConnectionError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
