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
    /// `SSL_OP_CIPHER_SERVER_PREFERENCE`): ChaCha20-Poly1305 first, for memory and for speed.
    ///
    /// Memory (for sessions that stay with OpenSSL; a TLS 1.3 server session moves to the user-space record
    /// layer, which shares per-thread cipher contexts): such a connection keeps two cipher contexts (read and write) for its whole life. OpenSSL
    /// 3.0's provider context is 848 bytes for ChaCha20-Poly1305 and 960 for AES-GCM, so an idle
    /// connection holds 228 bytes less heap (exact, the same in every run); `ws-idle.sh` with 10,000
    /// connections measured 15.28 → 15.00 KiB of VmRSS per connection (median of 3 runs each).
    /// AES-256-GCM would hold 182 bytes more than AES-128-GCM (its SHA-384 digests are larger).
    /// Speed: on this project's host (AMD EPYC with AES-NI, VAES and AVX-512), `openssl speed -aead`
    /// seals 64 to 1024-byte records 2.2 to 2.9 times faster with ChaCha20-Poly1305 than with
    /// AES-128-GCM, and 16 KiB records at about the same rate; Socket.IO records are small.
    /// Clients that do not offer ChaCha20 (FIPS-only stacks) still get AES-128-GCM.
    static let tls13ServerCipherSuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"

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
