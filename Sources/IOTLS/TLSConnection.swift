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
///
/// That is why a TLS 1.3 server connection does not keep its `SSL`: once OpenSSL completed the
/// handshake, the connection takes the application traffic secrets (through the key log callback), frees
/// the `SSL` and runs the record layer itself (``TLS13Transport``), keeping only keys, IVs and sequence
/// numbers, inline in this object (448 bytes in all; `TLSMemoryTests` measures ~0.7 KB of heap per idle
/// connection, `ws-idle.sh` 2.5 KiB of RSS per idle TLS WebSocket instead of 15.0). TLS 1.2 sessions,
/// sessions whose handshake did not finish in ``handshake()``, and client connections keep OpenSSL.
///
/// Confined to the loop thread that owns the socket: OpenSSL's per-thread error queue and the `SSL`
/// object are not safe to share, hence not `Sendable`.
public final class TLSConnection: SecureTransport {
    /// The `SSL*`, owned: freed in `deinit`, or right after the handshake when the session is handed
    /// off to ``TLS13Transport`` (then nil).
    private var ssl: OpaquePointer?
    /// The user-space TLS 1.3 session once the handshake was handed off; nil before and for sessions
    /// that stay with OpenSSL.
    private var offloaded: TLS13Transport?
    /// What the key log and message callbacks collect during a server handshake for the hand-off;
    /// zeroed and dropped once the handshake completed.
    fileprivate var handoff: TLS13Handoff?
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
        if !isClient {
            // The callbacks find this object through the SSL's app data. Unretained: the SSL is owned by
            // this object and freed before it, and callbacks run only inside calls this object makes.
            self.handoff = TLS13Handoff()
            SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
            SSL_set_msg_callback(ssl, tls13HandoffMessageCallback)
        }
    }

    deinit {
        if let ssl = self.ssl { SSL_free(ssl) }
        self.offloaded?.release()
        self.handoff?.wipe()
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
        guard let ssl = self.ssl else { return .done(0) }
        if SSL_is_init_finished(ssl) == 1 { return .done(0) }
        // Rare compared with reads and writes, so it can afford to guarantee an empty error queue.
        OpenSSLErrorQueue.clear()
        let status = SSL_do_handshake(ssl)
        if status == 1 {
            self.handshakeDidComplete(ssl)
            return .done(0)
        }
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
        if self.offloaded != nil { return self.offloaded!.read(into: buffer) }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var count = 0
        let status = SSL_read_ex(self.ssl!, base, buffer.count, &count)
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
        if self.offloaded != nil { return self.offloaded!.write(buffer) }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var count = 0
        let status = SSL_write_ex(self.ssl!, base, buffer.count, &count)
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
        if let offloaded = self.offloaded { return offloaded.hasBufferedPlaintext }
        guard let ssl = self.ssl else { return false }
        return SSL_pending(ssl) > 0
    }

    /// Sends close_notify once, best effort: if the socket is full it is dropped, never waited for.
    /// Does nothing before the handshake completed or after a fatal error (OpenSSL forbids it then).
    public func shutdown() {
        if self.offloaded != nil {
            self.offloaded!.shutdown()
            return
        }
        guard !self.hasFailed, !self.hasSentShutdown, let ssl = self.ssl, SSL_is_init_finished(ssl) == 1 else { return }
        self.hasSentShutdown = true
        if SSL_shutdown(ssl) < 0 {
            // WANT_WRITE or a broken socket: nothing to do, but the queue must be left empty.
            OpenSSLErrorQueue.clear()
        }
    }

    /// The protocol agreed through ALPN, or nil when either side did not offer one or there was no overlap.
    public var negotiatedApplicationProtocol: String? {
        if let offloaded = self.offloaded { return offloaded.applicationProtocol }
        guard let ssl = self.ssl else { return nil }
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    // MARK: Inspection, for logs and tests

    /// Whether the handshake has completed.
    public var isHandshakeComplete: Bool {
        guard let ssl = self.ssl else { return true }
        return SSL_is_init_finished(ssl) == 1
    }

    /// Whether the session runs on the user-space TLS 1.3 record layer rather than on OpenSSL's.
    public var usesUserSpaceRecordLayer: Bool {
        self.offloaded != nil
    }

    /// The heap size of one instance (header and stored properties), for the memory tests.
    static var instanceSize: Int {
        16 + MemoryLayout<OpaquePointer?>.stride + MemoryLayout<TLS13Transport?>.stride
            + MemoryLayout<TLS13Handoff?>.stride + 8
    }

    /// Records sent under the current key by the user-space record layer; nil on OpenSSL's. For tests.
    var userSpaceWriteSequenceNumber: UInt64? {
        self.offloaded?.writeSequenceNumber
    }

    /// The negotiated protocol version (`"TLSv1.2"`, `"TLSv1.3"`), nil before the handshake completed.
    public var negotiatedProtocolVersion: String? {
        guard self.isHandshakeComplete else { return nil }
        guard let ssl = self.ssl else { return "TLSv1.3" }
        return String(cString: SSL_get_version(ssl))
    }

    /// The negotiated cipher suite in OpenSSL's naming (`"TLS_AES_128_GCM_SHA256"`), nil before the handshake.
    public var negotiatedCipherSuite: String? {
        if let offloaded = self.offloaded { return offloaded.suite.name }
        guard self.isHandshakeComplete, let ssl = self.ssl, let cipher = SSL_get_current_cipher(ssl),
            let name = SSL_CIPHER_get_name(cipher)
        else { return nil }
        return String(cString: name)
    }

    /// The SNI host name: the one a client sent (server side) or will send (client side); nil if none.
    public var serverName: String? {
        if let offloaded = self.offloaded { return offloaded.serverName }
        guard let ssl = self.ssl, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// For a client, how the server's certificate fared (also when ``TLSClientConfiguration/verifiesPeer``
    /// is off): a failure as soon as verification failed, ``TLSVerificationResult/valid`` once the
    /// handshake completed with a verified certificate; nil for a server and while nothing is known yet.
    public var verificationResult: TLSVerificationResult? {
        guard self.isClient, let ssl = self.ssl else { return nil }
        // OpenSSL starts with X509_V_OK and keeps no peer certificate when verification fails, so a
        // failure code is conclusive at any time, and OK only after a completed handshake.
        let code = SSL_get_verify_result(ssl)
        if code != X509_V_OK { return TLSVerificationResult(code: code) }
        guard self.isHandshakeComplete, SSL_get0_peer_certificate(ssl) != nil else { return nil }
        return .valid
    }

    /// Subject and serial number of the peer's certificate; nil if it sent none (a client, normally).
    public var peerCertificate: TLSCertificateSummary? {
        // A handed-off server never asked for a client certificate, so there is none to forget.
        guard let ssl = self.ssl, let certificate = SSL_get0_peer_certificate(ssl) else { return nil }
        return TLSCertificateSummary(certificate: certificate)
    }

    // MARK: Error mapping

    /// What later calls return once the session failed.
    private static let alreadyFailed = SecureTransportResult.failed(.tlsFailure("TLS session already failed"))

    /// Maps a failed `SSL_*` call (return value ≤ 0) to a result. Called right after the call, before
    /// anything that may change `errno` or the error queue. Always leaves the error queue empty.
    private func outcome(ofFailedCall status: Int32, operation: StaticString) -> SecureTransportResult {
        let savedErrno = errno
        switch SSL_get_error(self.ssl!, status) {
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
        if let ssl = self.ssl, SSL_get_state(ssl) == TLS_ST_OK {
            return .closed
        }
        return .failed(.reset("peer closed the connection during the TLS handshake"))
    }
}

// MARK: Hand-off to the user-space TLS 1.3 record layer

extension TLSConnection {
    /// Runs once when `SSL_do_handshake` succeeded: a TLS 1.3 server session moves to ``TLS13Transport``
    /// and its `SSL` is freed; any other session stays with OpenSSL as it is.
    ///
    /// Sequence numbers at this point: OpenSSL reads one record at a time and never ahead (read-ahead is
    /// off, checked here along with `SSL_has_pending`), so the client's first record after its Finished is
    /// still in the socket and is opened with read sequence number 0. OpenSSL has sent its session tickets
    /// under the server application key, each in its own record, before the handshake call returned 1;
    /// the message callback counted them, and that count is the write sequence number.
    private func handshakeDidComplete(_ ssl: OpaquePointer) {
        guard let handoff = self.handoff else { return }
        self.handoff = nil
        defer { handoff.wipe() }
        SSL_set_msg_callback(ssl, nil)
        let fileDescriptor = SSL_get_fd(ssl)
        guard SSL_version(ssl) == COpenSSL_TLS1_3_VERSION,
            SSL_get_read_ahead(ssl) == 0,
            SSL_has_pending(ssl) == 0,
            fileDescriptor >= 0,
            let cipher = SSL_get_current_cipher(ssl),
            let suite = TLS13CipherSuite(rawValue: SSL_CIPHER_get_protocol_id(cipher)),
            let recordLayer = handoff.makeRecordLayer(suite: suite)
        else { return }
        self.offloaded = TLS13Transport(
            fileDescriptor: fileDescriptor, recordLayer: recordLayer,
            applicationProtocol: self.negotiatedApplicationProtocol, serverName: self.serverName
        )
        self.ssl = nil
        SSL_free(ssl)
    }
}

/// What a server connection collects during its handshake for the hand-off: both application traffic
/// secrets from OpenSSL's key log, and how many session tickets OpenSSL sent under the server's key.
/// Never logged; zeroed as soon as the record layer took its keys. A class so that a connection holds
/// only a pointer to it during the handshake and nothing afterwards.
final class TLS13Handoff {
    /// The client's application traffic secret (`CLIENT_TRAFFIC_SECRET_0`), `clientSecretLength` bytes.
    private var clientSecret: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    private var clientSecretLength = 0
    /// The server's application traffic secret (`SERVER_TRAFFIC_SECRET_0`), `serverSecretLength` bytes.
    private var serverSecret: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    private var serverSecretLength = 0
    /// NewSessionTicket messages written so far; OpenSSL writes each in a record of its own.
    var sessionTicketsSent: UInt64 = 0

    /// Takes the secret from an NSS key log line `LABEL <client random hex> <secret hex>` if LABEL is one
    /// of the two application traffic secrets; ignores every other line (handshake secrets, exporter).
    func store(keyLogLine line: UnsafePointer<CChar>) {
        let clientLabel: StaticString = "CLIENT_TRAFFIC_SECRET_0 "
        let serverLabel: StaticString = "SERVER_TRAFFIC_SECRET_0 "
        let isClient = Self.hasPrefix(line, clientLabel)
        guard isClient || Self.hasPrefix(line, serverLabel) else { return }
        // Skip the label and the client random, up to the second space.
        var index = clientLabel.utf8CodeUnitCount
        let limit = index + 200
        while line[index] != 0x20 {
            guard line[index] != 0, index < limit else { return }
            index += 1
        }
        index += 1
        var secret: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        defer { withUnsafeMutableBytes(of: &secret) { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        let length = withUnsafeMutableBytes(of: &secret) { output -> Int in
            var count = 0
            while line[index] != 0 {
                guard count < output.count, let high = Self.hexValue(line[index]), let low = Self.hexValue(line[index + 1])
                else { return 0 }
                output[count] = high << 4 | low
                count += 1
                index += 2
            }
            return count
        }
        guard length == 32 || length == 48 else { return }
        if isClient {
            self.clientSecret = secret
            self.clientSecretLength = length
        } else {
            self.serverSecret = secret
            self.serverSecretLength = length
        }
    }

    /// The record layer for `suite` if both secrets arrived with its hash's length; nil otherwise.
    func makeRecordLayer(suite: TLS13CipherSuite) -> TLS13RecordLayer? {
        guard self.clientSecretLength == suite.hashLength, self.serverSecretLength == suite.hashLength else {
            return nil
        }
        return withUnsafeBytes(of: self.clientSecret) { client in
            withUnsafeBytes(of: self.serverSecret) { server in
                TLS13RecordLayer(
                    suite: suite,
                    readSecret: UnsafeRawBufferPointer(rebasing: client[0..<suite.hashLength]),
                    writeSecret: UnsafeRawBufferPointer(rebasing: server[0..<suite.hashLength]),
                    writeSequenceNumber: self.sessionTicketsSent
                )
            }
        }
    }

    deinit {
        self.wipe()
    }

    /// Zeros both secrets.
    func wipe() {
        withUnsafeMutableBytes(of: &self.clientSecret) { OPENSSL_cleanse($0.baseAddress, $0.count) }
        withUnsafeMutableBytes(of: &self.serverSecret) { OPENSSL_cleanse($0.baseAddress, $0.count) }
        self.clientSecretLength = 0
        self.serverSecretLength = 0
    }

    private static func hasPrefix(_ line: UnsafePointer<CChar>, _ prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { prefix in
            for (index, byte) in prefix.enumerated() where UInt8(bitPattern: line[index]) != byte {
                return false  // also stops at the line's NUL, which matches no label byte
            }
            return true
        }
    }

    private static func hexValue(_ character: CChar) -> UInt8? {
        switch UInt8(bitPattern: character) {
        case let digit where digit >= 0x30 && digit <= 0x39: digit - 0x30
        case let letter where letter >= 0x61 && letter <= 0x66: letter - 0x61 + 10
        case let letter where letter >= 0x41 && letter <= 0x46: letter - 0x41 + 10
        default: nil
        }
    }
}

/// `SSL_CTX_keylog_cb_func`: `(const SSL *ssl, const char *line)`, called by OpenSSL for every secret of a
/// handshake, on the thread running it. Installed on server contexts; hands the line to the connection.
func tls13HandoffKeyLogCallback(_ ssl: OpaquePointer?, _ line: UnsafePointer<CChar>?) {
    guard let ssl, let line, let pointer = SSL_get_ex_data(ssl, 0) else { return }
    Unmanaged<TLSConnection>.fromOpaque(pointer).takeUnretainedValue().handoff?.store(keyLogLine: line)
}

/// `SSL_set_msg_callback`'s callback: `(write_p, version, content_type, buf, len, ssl, arg)` for every
/// protocol message OpenSSL reads or writes. Counts the NewSessionTicket messages a server writes; removed
/// when the handshake completed.
func tls13HandoffMessageCallback(
    _ isWrite: Int32,
    _ version: Int32,
    _ contentType: Int32,
    _ buffer: UnsafeRawPointer?,
    _ length: Int,
    _ ssl: OpaquePointer?,
    _ argument: UnsafeMutableRawPointer?
) {
    guard isWrite == 1, contentType == COpenSSL_SSL3_RT_HANDSHAKE, length >= 1, let buffer, let ssl,
        buffer.load(as: UInt8.self) == UInt8(COpenSSL_SSL3_MT_NEWSESSION_TICKET),
        let pointer = SSL_get_ex_data(ssl, 0)
    else { return }
    Unmanaged<TLSConnection>.fromOpaque(pointer).takeUnretainedValue().handoff?.sessionTicketsSent += 1
}

@available(*, unavailable)
extension TLSConnection: Sendable {}
