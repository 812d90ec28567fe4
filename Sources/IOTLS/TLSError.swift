internal import COpenSSL

/// Why a TLS context or connection could not be set up.
///
/// A struct around a private code, so new codes never break callers. Two errors are equal when their
/// codes are equal: compare against the static members (`error == .privateKeyMismatch`) and read
/// ``detail`` for logs.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case certificateChainUnreadable
        case privateKeyUnreadable
        case privateKeyMismatch
        case trustRootsUnreadable
        case invalidConfiguration
        case contextCreationFailed
        case connectionCreationFailed
    }

    private let code: Code
    /// What OpenSSL reported (its drained error queue) or which setting was wrong; for logs only.
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The PEM certificate chain file is missing, unreadable or holds no usable certificate.
    public static let certificateChainUnreadable = TLSError(.certificateChainUnreadable, "")
    /// The PEM private key file is missing, unreadable, encrypted or not a key.
    public static let privateKeyUnreadable = TLSError(.privateKeyUnreadable, "")
    /// The private key does not belong to the leaf certificate.
    public static let privateKeyMismatch = TLSError(.privateKeyMismatch, "")
    /// The CA file given as trust roots could not be loaded.
    public static let trustRootsUnreadable = TLSError(.trustRootsUnreadable, "")
    /// A configuration value is out of range (for example an empty or over-long ALPN name).
    public static let invalidConfiguration = TLSError(.invalidConfiguration, "")
    /// OpenSSL could not create or configure an `SSL_CTX`.
    public static let contextCreationFailed = TLSError(.contextCreationFailed, "")
    /// OpenSSL could not create a connection object for a socket.
    public static let connectionCreationFailed = TLSError(.connectionCreationFailed, "")

    /// This error with `detail` attached.
    func with(detail: String) -> TLSError {
        TLSError(self.code, detail)
    }

    /// This error with the drained OpenSSL error queue of the calling thread as detail, prefixed by `context`.
    func withErrorQueue(_ context: String) -> TLSError {
        let queue = OpenSSLErrorQueue.drain()
        return TLSError(self.code, queue.isEmpty ? context : "\(context): \(queue)")
    }

    /// A short label without detail, safe as a metric label.
    public var shortDescription: String {
        switch self.code {
        case .certificateChainUnreadable: "certificate_chain_unreadable"
        case .privateKeyUnreadable: "private_key_unreadable"
        case .privateKeyMismatch: "private_key_mismatch"
        case .trustRootsUnreadable: "trust_roots_unreadable"
        case .invalidConfiguration: "invalid_configuration"
        case .contextCreationFailed: "context_creation_failed"
        case .connectionCreationFailed: "connection_creation_failed"
        }
    }

    /// The label plus the detail, for logs.
    public var description: String {
        self.detail.isEmpty ? self.shortDescription : "\(self.shortDescription): \(self.detail)"
    }

    /// Equal when the codes are equal; the detail is ignored so static members work as patterns.
    public static func == (lhs: TLSError, rhs: TLSError) -> Bool { lhs.code == rhs.code }

    /// Hashes the code only, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// Reads the calling thread's OpenSSL error queue.
///
/// OpenSSL keeps one queue per thread, and `SSL_get_error` misreports a WANT_READ as a failure if an
/// older error is still queued. Every failure path in this module therefore drains the queue on the
/// thread where the failure happened, which keeps it empty for the next connection on that loop.
enum OpenSSLErrorQueue {
    /// At most this many entries are rendered; the rest are discarded. One failure normally pushes
    /// one to three entries, so this bounds the detail string without losing information in practice.
    static let maximumRenderedEntries = 6

    /// Empties the queue and returns its entries as `"error:0A000086:SSL routines::certificate verify failed"`
    /// strings joined by `"; "`, oldest first; empty when the queue was empty.
    static func drain() -> String {
        var rendered = ""
        var count = 0
        // ERR_error_string_n needs at least 120 bytes ("error:%08lX:%s:%s:%s" with library and reason names).
        var scratch = (
            UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
            UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
            UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
            UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0)
        )
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            count += 1
            if count > Self.maximumRenderedEntries { continue }
            let text = withUnsafeMutableBytes(of: &scratch) { raw -> String in
                let characters = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                ERR_error_string_n(code, characters, raw.count)
                return String(cString: characters)
            }
            if !rendered.isEmpty { rendered += "; " }
            rendered += text
            // ERR_TXT_STRING marks `data` as text that OpenSSL attached to the error (a file name, an
            // option value); anything else is binary or absent.
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 {
                rendered += " (\(String(cString: data)))"
            }
        }
        if count > Self.maximumRenderedEntries {
            rendered += "; \(count - Self.maximumRenderedEntries) more"
        }
        return rendered
    }

    /// Empties the queue, discarding its entries.
    @inline(__always)
    static func clear() {
        ERR_clear_error()
    }
}
