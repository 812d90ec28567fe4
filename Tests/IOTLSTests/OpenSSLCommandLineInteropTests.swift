import Foundation
import IOCore
import IOTLS
import TestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Our server against `openssl s_client` over loopback TCP: an independent TLS stack, and the only
/// convenient way to offer TLS 1.1, which our own client cannot.
@Suite struct OpenSSLCommandLineInteropTests {
    let fixtures: CertificateFixtures

    init() throws {
        ignoreSIGPIPE()
        self.fixtures = try CertificateFixtures.shared.get()
    }

    @Test func sClient_withALPNAndTheTestCA_handshakesAndExchangesData() throws {
        let listener = try TCPListener()
        let context = try self.fixtures.serverContext()
        let client = try ChildProcess.sClient([
            "-connect", "127.0.0.1:\(listener.port)", "-servername", "localhost",
            "-CAfile", self.fixtures.ca.certificate, "-verify_return_error", "-verify_hostname", "localhost",
            "-alpn", "h2,http/1.1",
        ])
        let (fd, connection, result) = try acceptAndHandshake(listener, context: context)
        defer { close(fd) }
        #expect(result == .done(0))
        #expect(connection.negotiatedApplicationProtocol == "http/1.1")
        #expect(connection.serverName == "localhost")
        #expect(connection.negotiatedProtocolVersion == "TLSv1.3")

        client.send("hello from s_client\n")
        let receiver = Receiver(connection, fileDescriptor: fd, expectedCount: "hello from s_client\n".utf8.count)
        try pump([receiver.step])
        #expect(String(decoding: receiver.received, as: UTF8.self) == "hello from s_client\n")

        let sender = Sender(connection, fileDescriptor: fd, payload: Array("hello from earpiece\n".utf8))
        try pump([sender.step])
        connection.shutdown()  // close_notify makes s_client exit

        let (_, output) = client.finish()
        #expect(output.contains("hello from earpiece"))
        #expect(output.contains("Verify return code: 0 (ok)"))
        #expect(output.contains("ALPN protocol: http/1.1"))
    }

    @Test func sClient_offeringOnlyTLS11_isRefusedByTheServer() throws {
        let listener = try TCPListener()
        let context = try self.fixtures.serverContext()
        // TLS 1.1 needs security level 0 in OpenSSL 3; the ClientHello then really says 1.1.
        let client = try ChildProcess.sClient([
            "-connect", "127.0.0.1:\(listener.port)", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
        ])
        let (fd, _, result) = try acceptAndHandshake(listener, context: context)
        close(fd)
        guard case .failed(let error) = result else {
            Issue.record("expected the handshake to fail, got \(result)")
            _ = client.finish(timeout: .seconds(1))
            return
        }
        #expect(error == .tlsFailure(""))
        // Proves the server saw a real TLS 1.1 ClientHello rather than a client that failed on its own.
        #expect(error.detail.contains("unsupported protocol"))
        let (status, _) = client.finish()
        #expect(status != 0)
    }

    @Test func sClient_offeringOnlyTLS12_isAccepted() throws {
        let listener = try TCPListener()
        let context = try self.fixtures.serverContext()
        let client = try ChildProcess.sClient([
            "-connect", "127.0.0.1:\(listener.port)", "-tls1_2", "-CAfile", self.fixtures.ca.certificate,
            "-verify_return_error", "-brief",
        ])
        let (fd, connection, result) = try acceptAndHandshake(listener, context: context)
        defer { close(fd) }
        #expect(result == .done(0))
        #expect(connection.negotiatedProtocolVersion == "TLSv1.2")
        connection.shutdown()
        let (_, output) = client.finish()
        #expect(output.contains("Protocol version: TLSv1.2"))
    }

    /// The server's order decides (`SSLContextSettings.tls13ServerCipherSuites`), not the client's: AES-128-GCM
    /// when offered, then ChaCha20-Poly1305 before AES-256-GCM.
    @Test(arguments: [
        ("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
        ("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
    ])
    func sClient_tls13Suites_serverOrderDecides(offered: String, expected: String) throws {
        let listener = try TCPListener()
        let context = try self.fixtures.serverContext()
        let client = try ChildProcess.sClient([
            "-connect", "127.0.0.1:\(listener.port)", "-tls1_3", "-ciphersuites", offered,
            "-CAfile", self.fixtures.ca.certificate, "-verify_return_error", "-brief",
        ])
        let (fd, connection, result) = try acceptAndHandshake(listener, context: context)
        defer { close(fd) }
        #expect(result == .done(0))
        #expect(connection.negotiatedCipherSuite == expected)
        connection.shutdown()
        let (_, output) = client.finish()
        #expect(output.contains("Ciphersuite: \(expected)"))
    }
}
