internal import COpenSSL
public import IOCore

#if canImport(Glibc)
import Glibc
#endif

/// One TLS session over a non-blocking socket, driven by the event loop through ``SecureTransport``.
///
/// OpenSSL reads and writes the socket itself (`SSL_set_fd`); this object only maps its outcomes:
/// WANT_READ and WANT_WRITE are results the loop waits on, not errors. It never closes the socket,
/// which stays the loop's. Record buffers are released while idle (`SSL_MODE_RELEASE_BUFFERS`).
///
/// Memory per idle server connection after a TLS 1.3 handshake, as heaptrack measured it (OpenSSL 3.0):
/// about 13.2 KiB of OpenSSL heap. `SSL_new` makes 8.5 KiB of it: the `SSL` object (7.4 KiB, 4.2 KiB of
/// that the record layer's fixed arrays for 32 pipelines), a copy of the certificate table and the
/// socket BIO. The handshake leaves 4.7 KiB: two cipher contexts, the session, both X25519 key shares,
/// the client's cipher and signature algorithm lists, and two handshake digests. OpenSSL frees all of
/// this only in `SSL_free`, and has no call that releases part of it earlier.
/// This object itself is 32 bytes.
///
/// Confined to the loop thread that owns the socket: OpenSSL's per-thread error queue and the `SSL`
/// object are not safe to share, hence not `Sendable`.
public final class TLSConnection: SecureTransport {
    /// The `SSL*`, owned: freed in `deinit`.
    private let ssl: OpaquePointer
    /// Whether this end verifies the peer (client) or presents a certificate (server).
    public let isClient: Bool
    /// Set once OpenSSL reported a fatal error; the session must not be used, not even for close_notify.
    private var hasFailed = false
    /// Set once close_notify was sent, so ``shutdown()`` stays idempotent.
    private var hasSentShutdown = false

    /// Wraps `ssl`, whose ownership passes to the new object.
    init(takingOwnershipOf ssl: OpaquePointer, isClient: Bool) {
        self.ssl = ssl
        self.isClient = isClient
    }

    deinit {
        SSL_free(self.ssl)
    }

    /// A new `SSL*` from `context` whose BIO is `fileDescriptor` (not closed by OpenSSL).
    static func makeSSL(context: OpaquePointer, fileDescriptor: Int32) throws(TLSError) -> OpaquePointer {
        guard fileDescriptor >= 0 else {
            throw TLSError.connectionCreationFailed.with(detail: "invalid file descriptor \(fileDescriptor)")
        }
        guard let ssl = SSL_new(context) else {
            throw TLSError.connectionCreationFailed.withErrorQueue("SSL_new failed")
        }
        guard SSL_set_fd(ssl, fileDescriptor) == 1 else {
            SSL_free(ssl)
            throw TLSError.connectionCreationFailed.withErrorQueue("SSL_set_fd failed")
        }
        return ssl
    }

    // MARK: SecureTransport

    /// Drives the handshake one step; `.done(0)` once it is complete (also on later calls).
    public func handshake() -> SecureTransportResult {
        if self.hasFailed { return Self.alreadyFailed }
        if SSL_is_init_finished(self.ssl) == 1 { return .done(0) }
        // Rare compared with reads and writes, so it can afford to guarantee an empty error queue.
        OpenSSLErrorQueue.clear()
        let status = SSL_do_handshake(self.ssl)
        if status == 1 { return .done(0) }
        return self.outcome(ofFailedCall: status, operation: "SSL_do_handshake")
    }

    /// Reads decrypted bytes; `.done(n)` with n ≥ 1 unless `buffer` is empty. Also completes the
    /// handshake if it is still running. May return `.wantWrite` (TLS 1.3 post-handshake messages need
    /// an answer): then wait for POLLOUT and call `read` again.
    ///
    /// Reads and writes do not clear OpenSSL's error queue first (that costs ~25 ns per call); they rely
    /// on every failure path of this module draining it, see ``OpenSSLErrorQueue``.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> SecureTransportResult {
        if self.hasFailed { return Self.alreadyFailed }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var count = 0
        let status = SSL_read_ex(self.ssl, base, buffer.count, &count)
        if status == 1 { return .done(count) }
        return self.outcome(ofFailedCall: status, operation: "SSL_read_ex")
    }

    /// Encrypts and writes up to one record (16 KiB) per call; `.done(n)` may be less than offered.
    ///
    /// After `.wantWrite`, the next call must offer the same bytes again, at least as many, possibly from
    /// another address: OpenSSL has already encrypted them into a record that is partly sent. May return
    /// `.wantRead` while a handshake message is outstanding: then wait for POLLIN and write again.
    public func write(_ buffer: UnsafeRawBufferPointer) -> SecureTransportResult {
        if self.hasFailed { return Self.alreadyFailed }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var count = 0
        let status = SSL_write_ex(self.ssl, base, buffer.count, &count)
        if status == 1 { return .done(count) }
        return self.outcome(ofFailedCall: status, operation: "SSL_write_ex")
    }

    /// Whether OpenSSL holds decrypted bytes of a record that a smaller read left behind.
    ///
    /// `SSL_pending`, not `SSL_has_pending`: the latter is also true for a partly received record that
    /// cannot be decrypted yet, and a loop that reads again for it would spin on WANT_READ. Without
    /// read-ahead OpenSSL never pulls more than one record from the socket, so bytes that are not
    /// decrypted are still in the kernel and epoll reports them.
    public var hasBufferedPlaintext: Bool {
        SSL_pending(self.ssl) > 0
    }

    /// Sends close_notify once, best effort: if the socket is full it is dropped, never waited for.
    /// Does nothing before the handshake completed or after a fatal error (OpenSSL forbids it then).
    public func shutdown() {
        guard !self.hasFailed, !self.hasSentShutdown, SSL_is_init_finished(self.ssl) == 1 else { return }
        self.hasSentShutdown = true
        if SSL_shutdown(self.ssl) < 0 {
            // WANT_WRITE or a broken socket: nothing to do, but the queue must be left empty.
            OpenSSLErrorQueue.clear()
        }
    }

    /// The protocol agreed through ALPN, or nil when either side did not offer one or there was no overlap.
    public var negotiatedApplicationProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(self.ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    // MARK: Inspection, for logs and tests

    /// Whether the handshake has completed.
    public var isHandshakeComplete: Bool {
        SSL_is_init_finished(self.ssl) == 1
    }

    /// The negotiated protocol version (`"TLSv1.2"`, `"TLSv1.3"`), nil before the handshake completed.
    public var negotiatedProtocolVersion: String? {
        guard self.isHandshakeComplete else { return nil }
        return String(cString: SSL_get_version(self.ssl))
    }

    /// The negotiated cipher suite in OpenSSL's naming (`"TLS_AES_128_GCM_SHA256"`), nil before the handshake.
    public var negotiatedCipherSuite: String? {
        guard self.isHandshakeComplete, let cipher = SSL_get_current_cipher(self.ssl),
            let name = SSL_CIPHER_get_name(cipher)
        else { return nil }
        return String(cString: name)
    }

    /// The SNI host name: the one a client sent (server side) or will send (client side); nil if none.
    public var serverName: String? {
        guard let name = SSL_get_servername(self.ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// For a client, how the server's certificate fared (also when ``TLSClientConfiguration/verifiesPeer``
    /// is off): a failure as soon as verification failed, ``TLSVerificationResult/valid`` once the
    /// handshake completed with a verified certificate; nil for a server and while nothing is known yet.
    public var verificationResult: TLSVerificationResult? {
        guard self.isClient else { return nil }
        // OpenSSL starts with X509_V_OK and keeps no peer certificate when verification fails, so a
        // failure code is conclusive at any time, and OK only after a completed handshake.
        let code = SSL_get_verify_result(self.ssl)
        if code != X509_V_OK { return TLSVerificationResult(code: code) }
        guard self.isHandshakeComplete, SSL_get0_peer_certificate(self.ssl) != nil else { return nil }
        return .valid
    }

    /// Subject and serial number of the peer's certificate; nil if it sent none (a client, normally).
    public var peerCertificate: TLSCertificateSummary? {
        guard let certificate = SSL_get0_peer_certificate(self.ssl) else { return nil }
        return TLSCertificateSummary(certificate: certificate)
    }

    // MARK: Error mapping

    /// What later calls return once the session failed.
    private static let alreadyFailed = SecureTransportResult.failed(.tlsFailure("TLS session already failed"))

    /// Maps a failed `SSL_*` call (return value ≤ 0) to a result. Called right after the call, before
    /// anything that may change `errno` or the error queue. Always leaves the error queue empty.
    private func outcome(ofFailedCall status: Int32, operation: StaticString) -> SecureTransportResult {
        let savedErrno = errno
        switch SSL_get_error(self.ssl, status) {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            // The peer sent close_notify. Our own close_notify may still be sent by shutdown().
            return .closed
        case SSL_ERROR_SYSCALL:
            self.hasFailed = true
            // The errno is the whole story here; whatever OpenSSL queued only repeats it.
            OpenSSLErrorQueue.clear()
            switch savedErrno {
            case 0:
                return self.peerClosedWithoutCloseNotify()
            case ECONNRESET, EPIPE:
                return .failed(.reset(String(cString: strerror(savedErrno))))
            default:
                return .failed(.io(IOError(errno: savedErrno, syscall: "\(operation)")))
            }
        case SSL_ERROR_SSL:
            self.hasFailed = true
            // OpenSSL 3 reports EOF without close_notify as a protocol error with this reason.
            if ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                OpenSSLErrorQueue.clear()
                return self.peerClosedWithoutCloseNotify()
            }
            var detail = OpenSSLErrorQueue.drain()
            if let verification = self.verificationResult, !verification.isValid {
                detail += detail.isEmpty ? "" : "; "
                detail += "certificate verification: \(verification) (X509_V \(verification.code))"
            }
            return .failed(.tlsFailure(detail.isEmpty ? "\(operation) failed" : detail))
        case let other:
            // WANT_X509_LOOKUP, WANT_ASYNC and friends need callbacks or engines this module never installs.
            self.hasFailed = true
            let queue = OpenSSLErrorQueue.drain()
            return .failed(.tlsFailure("\(operation): unexpected SSL_get_error \(other) \(queue)"))
        }
    }

    /// The peer closed the TCP stream without close_notify. During the handshake that is a failure.
    /// Afterwards it is reported as a close: browsers routinely do this, and truncation is detected by
    /// the HTTP and WebSocket framing above, which know where their messages end.
    private func peerClosedWithoutCloseNotify() -> SecureTransportResult {
        // Not SSL_is_init_finished: the fatal error that reported the EOF has already put the session
        // back "in init". The handshake state itself stays at TLS_ST_OK once the handshake completed.
        if SSL_get_state(self.ssl) == TLS_ST_OK {
            return .closed
        }
        return .failed(.reset("peer closed the connection during the TLS handshake"))
    }
}

@available(*, unavailable)
extension TLSConnection: Sendable {}
