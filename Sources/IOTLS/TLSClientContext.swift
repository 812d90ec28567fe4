internal import COpenSSL
public import IOCore

#if canImport(Glibc)
import Glibc
#endif

/// How a TLS client checks servers and what it offers.
public struct TLSClientConfiguration: Sendable, Hashable {
    /// Where the certificates that anchor server chains come from.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's store (`/etc/ssl/certs` on Debian).
        case system
        /// The PEM certificates in this file only.
        case certificateFile(String)
    }

    /// The certificates server chains must lead to.
    public var trustRoots: TrustRoots
    /// Whether the handshake fails when the server's chain or name does not verify. On by default;
    /// turning it off leaves the connection open to interception and is meant for tests only.
    public var verifiesPeer: Bool
    /// The oldest protocol version offered.
    public var minimumVersion: TLSVersion
    /// The newest protocol version offered.
    public var maximumVersion: TLSVersion
    /// ALPN protocols offered, in order of preference; empty sends no ALPN extension.
    public var applicationProtocols: [String]

    /// A configuration that verifies servers against `trustRoots` and offers TLS 1.2 and 1.3.
    /// - Parameters:
    ///   - trustRoots: the anchors for server chains.
    ///   - verifiesPeer: whether verification failures abort the handshake.
    ///   - minimumVersion: the oldest protocol version offered.
    ///   - maximumVersion: the newest protocol version offered.
    ///   - applicationProtocols: ALPN protocols offered, in order of preference.
    public init(
        trustRoots: TrustRoots = .system,
        verifiesPeer: Bool = true,
        minimumVersion: TLSVersion = .v1_2,
        maximumVersion: TLSVersion = .v1_3,
        applicationProtocols: [String] = []
    ) {
        self.trustRoots = trustRoots
        self.verifiesPeer = verifiesPeer
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.applicationProtocols = applicationProtocols
    }
}

/// A client `SSL_CTX` holding the trust roots; makes one ``TLSConnection`` per outgoing socket.
///
/// `@unchecked Sendable` because the `SSL_CTX` is fully configured in `init` and never modified
/// afterwards; OpenSSL allows concurrent `SSL_new` on such a context (its reference count is atomic).
public final class TLSClientContext: SecureClientTransportFactory, @unchecked Sendable {
    /// The configuration this context was made from.
    public let configuration: TLSClientConfiguration
    /// The configured `SSL_CTX`; this object owns one reference. Immutable after `init`.
    private let context: OpaquePointer

    /// Loads the trust roots and applies `configuration`.
    /// - Throws: ``TLSError/trustRootsUnreadable`` when the CA file cannot be loaded,
    ///   ``TLSError/invalidConfiguration`` for an invalid ALPN list or version range.
    public init(configuration: TLSClientConfiguration) throws(TLSError) {
        self.configuration = configuration
        let wire = try ApplicationProtocolList.encode(configuration.applicationProtocols)
        OpenSSLErrorQueue.clear()
        let context = try SSLContextSettings.makeContext(
            method: TLS_client_method(),
            minimumVersion: configuration.minimumVersion,
            maximumVersion: configuration.maximumVersion,
            tls13CipherSuites: SSLContextSettings.tls13ClientCipherSuites,
            releasesIdleBuffers: true
        )
        do throws(TLSError) {
            switch configuration.trustRoots {
            case .system:
                // Succeeds even when the directory is missing; verification then fails per connection.
                guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                    throw TLSError.trustRootsUnreadable.withErrorQueue("cannot load the system trust store")
                }
            case .certificateFile(let path):
                guard SSL_CTX_load_verify_file(context, path) == 1 else {
                    throw TLSError.trustRootsUnreadable.withErrorQueue("cannot load CA file \(path)")
                }
            }
            SSL_CTX_set_verify(context, configuration.verifiesPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
            if !wire.isEmpty {
                // Unlike most of OpenSSL this returns 0 on success.
                let status = wire.withUnsafeBufferPointer { bytes in
                    SSL_CTX_set_alpn_protos(context, bytes.baseAddress, UInt32(bytes.count))
                }
                guard status == 0 else {
                    throw TLSError.contextCreationFailed.withErrorQueue("SSL_CTX_set_alpn_protos failed")
                }
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        OpenSSLErrorQueue.clear()
        self.context = context
    }

    deinit {
        SSL_CTX_free(self.context)
    }

    /// A client connection for a connected, non-blocking socket that will verify `serverHostname`.
    ///
    /// A DNS name is sent as SNI and checked against the certificate's DNS names; an IP literal
    /// (`127.0.0.1`, `::1`, `[::1]`) is checked against its IP addresses and not sent as SNI (RFC 6066 §3
    /// forbids it). The caller keeps owning `fileDescriptor` and must keep it open until the connection
    /// is released.
    /// - Throws: ``TLSError/connectionCreationFailed`` for an empty host name or when OpenSSL fails.
    public func makeConnection(fileDescriptor: Int32, serverHostname: String) throws(TLSError) -> TLSConnection {
        var hostname = serverHostname
        if hostname.hasPrefix("[") && hostname.hasSuffix("]") && hostname.count > 2 {
            hostname = String(hostname.dropFirst().dropLast())
        }
        guard !hostname.isEmpty, !hostname.utf8.contains(0) else {
            throw TLSError.connectionCreationFailed.with(detail: "invalid server hostname \"\(serverHostname)\"")
        }
        let ssl = try TLSConnection.makeSSL(context: self.context, fileDescriptor: fileDescriptor)
        SSL_set_connect_state(ssl)
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        // SSL_set1_host recognises IP literals itself and then checks IP SANs instead of DNS names.
        guard SSL_set1_host(ssl, hostname) == 1 else {
            SSL_free(ssl)
            throw TLSError.connectionCreationFailed.withErrorQueue("SSL_set1_host failed for \(hostname)")
        }
        if !Self.isIPAddressLiteral(hostname) {
            guard COpenSSL_SSL_set_tlsext_host_name(ssl, hostname) == 1 else {
                SSL_free(ssl)
                throw TLSError.connectionCreationFailed.withErrorQueue("cannot set SNI \(hostname)")
            }
        }
        return TLSConnection(takingOwnershipOf: ssl, isClient: true)
    }

    /// See ``makeConnection(fileDescriptor:serverHostname:)``; this is the event loop's entry point.
    public func makeClientTransport(fileDescriptor: Int32, serverHostname: String) throws -> any SecureTransport {
        try self.makeConnection(fileDescriptor: fileDescriptor, serverHostname: serverHostname)
    }

    /// Whether `hostname` is an IPv4 or IPv6 address literal rather than a DNS name.
    static func isIPAddressLiteral(_ hostname: String) -> Bool {
        var address = in6_addr()
        return hostname.withCString { text in
            inet_pton(AF_INET, text, &address) == 1 || inet_pton(AF_INET6, text, &address) == 1
        }
    }
}
