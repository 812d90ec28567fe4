internal import COpenSSL

/// Settings shared by the server and client `SSL_CTX`s.
enum SSLContextSettings {
    /// TLS 1.2 suites: forward-secret ECDHE with AEAD ciphers only (AES-GCM, ChaCha20-Poly1305),
    /// ECDSA first because its handshakes are cheaper; this is Mozilla's "intermediate" profile.
    static let tls12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// TLS 1.3 suites a client offers (all three standard AEAD suites; AES-128 first as the cheapest with
    /// AES-NI). The server it talks to normally decides.
    static let tls13ClientCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// TLS 1.3 suites a server accepts, in the order it picks them (it uses its own order,
    /// `SSL_OP_CIPHER_SERVER_PREFERENCE`): AES-128-GCM, then ChaCha20-Poly1305, then AES-256-GCM.
    ///
    /// A TLS 1.3 server session runs on the user-space record layer after the handshake
    /// (``TLS13Transport``), which re-keys a per-thread cipher context for every record: measured per
    /// 201-byte record including that re-key, AES-128-GCM seals in 469 ns, AES-256-GCM in 417 ns and
    /// ChaCha20-Poly1305 in 689 ns on this project's host (AES-NI, VAES), and memory no longer depends on the
    /// suite. ChaCha20-Poly1305 comes before AES-256-GCM for clients without AES hardware that leave out
    /// AES-128 (AES-256's SHA-384 key schedule is also the costlier one).
    static let tls13ServerCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"

    /// Creates an `SSL_CTX` for `method` with the protocol range, the cipher lists and the I/O modes the
    /// event loop needs. The caller owns the returned reference.
    /// - Parameters:
    ///   - method: `TLS_server_method()` or `TLS_client_method()`.
    ///   - minimumVersion: the oldest protocol version accepted.
    ///   - maximumVersion: the newest protocol version accepted.
    ///   - tls13CipherSuites: ``tls13ServerCipherSuites`` or ``tls13ClientCipherSuites``.
    ///   - releasesIdleBuffers: whether to set `SSL_MODE_RELEASE_BUFFERS`.
    static func makeContext(
        method: OpaquePointer,
        minimumVersion: TLSVersion,
        maximumVersion: TLSVersion,
        tls13CipherSuites: String,
        releasesIdleBuffers: Bool
    ) throws(TLSError) -> OpaquePointer {
        guard minimumVersion <= maximumVersion else {
            throw TLSError.invalidConfiguration.with(
                detail: "minimum TLS version \(minimumVersion) above maximum \(maximumVersion)"
            )
        }
        guard let context = SSL_CTX_new(method) else {
            throw TLSError.contextCreationFailed.withErrorQueue("SSL_CTX_new failed")
        }
        guard COpenSSL_SSL_CTX_set_min_proto_version(context, minimumVersion.openSSLValue) == 1,
            COpenSSL_SSL_CTX_set_max_proto_version(context, maximumVersion.openSSLValue) == 1,
            SSL_CTX_set_cipher_list(context, Self.tls12CipherList) == 1,
            SSL_CTX_set_ciphersuites(context, tls13CipherSuites) == 1
        else {
            SSL_CTX_free(context)
            throw TLSError.contextCreationFailed.withErrorQueue("cannot set TLS versions or ciphers")
        }
        _ = COpenSSL_SSL_CTX_set_options(
            context,
            COpenSSL_SSL_OP_NO_COMPRESSION | COpenSSL_SSL_OP_NO_RENEGOTIATION
        )
        // PARTIAL_WRITE: SSL_write_ex reports each record as written, so the loop sees progress
        // instead of OpenSSL looping over a large buffer. ACCEPT_MOVING_WRITE_BUFFER: after WANT_WRITE
        // the retry may pass the same bytes from another address (the loop's buffer can reallocate).
        // RELEASE_BUFFERS: drop the ~34 KB of record buffers while a connection is idle.
        var mode = COpenSSL_SSL_MODE_ENABLE_PARTIAL_WRITE | COpenSSL_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
        if releasesIdleBuffers {
            mode |= COpenSSL_SSL_MODE_RELEASE_BUFFERS
        }
        _ = COpenSSL_SSL_CTX_set_mode(context, mode)
        return context
    }
}
