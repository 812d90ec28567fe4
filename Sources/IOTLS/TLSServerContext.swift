internal import COpenSSL
public import IOCore

/// What a TLS server presents and accepts.
public struct TLSServerConfiguration: Sendable, Hashable {
    /// Path of a PEM file holding the leaf certificate followed by its intermediates.
    public var certificateChainPath: String
    /// Path of a PEM file holding the unencrypted private key of the leaf certificate.
    public var privateKeyPath: String
    /// ALPN protocols in order of preference. When a client offers ALPN the first of these it also
    /// offers is chosen; without an overlap the handshake continues without ALPN. Empty disables ALPN.
    public var applicationProtocols: [String]
    /// The oldest protocol version accepted. TLS 1.0 and 1.1 are never accepted.
    public var minimumVersion: TLSVersion

    /// Whether idle connections give their record buffers back (`SSL_MODE_RELEASE_BUFFERS`). Only the
    /// memory measurement in the tests turns it off.
    var releasesIdleBuffers = true
    /// Whether TLS 1.3 sessions move to the user-space record layer after the handshake (see
    /// ``TLSConnection``). Only tests that compare with OpenSSL's record layer turn it off.
    var handsOffTLS13Sessions = true

    /// A configuration serving the given files, with `http/1.1` as the only ALPN protocol.
    /// - Parameters:
    ///   - certificateChainPath: PEM certificate chain, leaf first.
    ///   - privateKeyPath: PEM private key of the leaf, not encrypted.
    ///   - applicationProtocols: ALPN protocols in order of preference.
    ///   - minimumVersion: the oldest protocol version accepted.
    public init(
        certificateChainPath: String,
        privateKeyPath: String,
        applicationProtocols: [String] = ["http/1.1"],
        minimumVersion: TLSVersion = .v1_2
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.applicationProtocols = applicationProtocols
        self.minimumVersion = minimumVersion
    }
}

/// A server `SSL_CTX` holding the certificate and key; makes one ``TLSConnection`` per accepted socket.
///
/// ``reload()`` re-reads the certificate and key and swaps in a new `SSL_CTX`: connections made after
/// it present the new certificate, connections made before keep the context they hold a reference to.
///
/// `@unchecked Sendable` because the only mutable state, the current `SSL_CTX` pointer, is read and
/// written only under `lock`, and an `SSL_CTX` is never modified after it was published (OpenSSL allows
/// concurrent `SSL_new` on an unmodified context; its reference count is atomic).
public final class TLSServerContext: SecureTransportFactory, @unchecked Sendable {
    /// The configuration this context was made from; ``reload()`` re-reads its files.
    public let configuration: TLSServerConfiguration
    /// The ALPN preference list in wire format, validated once at init.
    private let applicationProtocolWire: [UInt8]
    /// Guards `context`. Held only to copy or swap the pointer, never across OpenSSL work.
    private let lock = PthreadMutex()
    /// The `SSL_CTX` new connections use; this object owns one reference. Any thread reads it and
    /// ``reload()`` replaces it, both under `lock`.
    private var context: OpaquePointer

    /// Loads the certificate chain and key named in `configuration`.
    /// - Throws: ``TLSError`` when a file cannot be read, the key does not match the certificate or a
    ///   setting is invalid.
    public init(configuration: TLSServerConfiguration) throws(TLSError) {
        self.configuration = configuration
        self.applicationProtocolWire = try ApplicationProtocolList.encode(configuration.applicationProtocols)
        self.context = try Self.makeContext(configuration, applicationProtocolWire: self.applicationProtocolWire)
    }

    deinit {
        SSL_CTX_free(self.context)
    }

    /// Re-reads the certificate chain and key files and makes new connections use them.
    ///
    /// Existing connections are not affected. On failure the current certificate stays in use.
    /// Blocking file I/O: call it from a control thread, not from an event loop.
    /// - Throws: ``TLSError`` as ``init(configuration:)`` does.
    public func reload() throws(TLSError) {
        let replacement = try Self.makeContext(
            self.configuration,
            applicationProtocolWire: self.applicationProtocolWire
        )
        let previous = self.lock.withLock {
            let previous = self.context
            self.context = replacement
            return previous
        }
        // Connections made from the previous context hold their own references; it is freed with the last.
        SSL_CTX_free(previous)
    }

    /// The leaf certificate new connections present, for logs (for example after ``reload()``).
    public var certificate: TLSCertificateSummary? {
        let context = self.retainCurrentContext()
        defer { SSL_CTX_free(context) }
        guard let leaf = SSL_CTX_get0_certificate(context) else { return nil }
        return TLSCertificateSummary(certificate: leaf)
    }

    /// A server connection for an accepted, non-blocking socket. The caller keeps owning `fileDescriptor`
    /// and must keep it open until the connection is released.
    /// - Throws: ``TLSError/connectionCreationFailed`` when OpenSSL cannot allocate the connection.
    public func makeConnection(fileDescriptor: Int32) throws(TLSError) -> TLSConnection {
        let context = self.retainCurrentContext()
        // SSL_new takes its own reference; drop the one that kept the context alive until then.
        defer { SSL_CTX_free(context) }
        let ssl = try TLSConnection.makeSSL(context: context, fileDescriptor: fileDescriptor)
        SSL_set_accept_state(ssl)
        return TLSConnection(takingOwnershipOf: ssl, isClient: false)
    }

    /// See ``makeConnection(fileDescriptor:)``; this is the event loop's entry point.
    public func makeServerTransport(fileDescriptor: Int32) throws -> any SecureTransport {
        try self.makeConnection(fileDescriptor: fileDescriptor)
    }

    /// The current context with one extra reference the caller must free; taken under the lock so a
    /// concurrent ``reload()`` cannot free it in between.
    private func retainCurrentContext() -> OpaquePointer {
        self.lock.withLock {
            SSL_CTX_up_ref(self.context)
            return self.context
        }
    }

    /// Builds a fully configured server `SSL_CTX`, or throws and leaves nothing behind.
    private static func makeContext(
        _ configuration: TLSServerConfiguration,
        applicationProtocolWire: [UInt8]
    ) throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        let context = try SSLContextSettings.makeContext(
            method: TLS_server_method(),
            minimumVersion: configuration.minimumVersion,
            maximumVersion: .v1_3,
            tls13CipherSuites: SSLContextSettings.tls13ServerCipherSuites,
            releasesIdleBuffers: configuration.releasesIdleBuffers
        )
        do throws(TLSError) {
            _ = COpenSSL_SSL_CTX_set_options(context, COpenSSL_SSL_OP_CIPHER_SERVER_PREFERENCE)
            // The stateful session cache would keep every TLS 1.2 session in memory (up to 20,480 by
            // default). Session tickets resume without it, so keep memory bounded and turn it off.
            _ = COpenSSL_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
            // An encrypted key would make OpenSSL prompt for a passphrase on the terminal and block;
            // a callback that supplies none makes the load fail instead.
            SSL_CTX_set_default_passwd_cb(context, refusePassphrase)
            if configuration.handsOffTLS13Sessions {
                // Hands each connection its application traffic secrets (never logged anywhere).
                SSL_CTX_set_keylog_callback(context, tls13HandoffKeyLogCallback)
            }

            guard SSL_CTX_use_certificate_chain_file(context, configuration.certificateChainPath) == 1 else {
                throw TLSError.certificateChainUnreadable.withErrorQueue(
                    "cannot load certificate chain \(configuration.certificateChainPath)"
                )
            }
            guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
                // Loading the key already compares it with the certificate: tell that apart from a bad file.
                let first = ERR_peek_error()
                let isMismatch =
                    ERR_GET_LIB(first) == ERR_LIB_X509 && ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH
                throw (isMismatch ? TLSError.privateKeyMismatch : TLSError.privateKeyUnreadable).withErrorQueue(
                    isMismatch
                        ? "\(configuration.privateKeyPath) does not match \(configuration.certificateChainPath)"
                        : "cannot load private key \(configuration.privateKeyPath)"
                )
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.privateKeyMismatch.withErrorQueue(
                    "\(configuration.privateKeyPath) does not match \(configuration.certificateChainPath)"
                )
            }
            if !applicationProtocolWire.isEmpty {
                try ServerApplicationProtocols.install(applicationProtocolWire, on: context)
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        // Successful loads can leave benign entries behind; the queue must be empty for SSL_get_error.
        OpenSSLErrorQueue.clear()
        return context
    }
}

/// `pem_password_cb`: `(buffer, size, rwflag, userdata)`; returns the passphrase length. Returns 0 (no
/// passphrase) so that loading an encrypted key fails rather than prompting on the terminal.
private func refusePassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?,
    _ size: Int32,
    _ readWriteFlag: Int32,
    _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    0
}
