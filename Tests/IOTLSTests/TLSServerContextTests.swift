import Foundation
import IOCore
import IOTLS
import TestKit
import Testing

/// Loading, validating and reloading the server certificate.
@Suite struct TLSServerContextTests {
    let fixtures: CertificateFixtures

    init() throws {
        ignoreSIGPIPE()
        self.fixtures = try CertificateFixtures.shared.get()
    }

    /// Copies `pair` to `certificate.pem` / `key.pem` in `directory` (replacing what is there).
    func install(_ pair: CertificateFixtures.Pair, in directory: String) throws -> CertificateFixtures.Pair {
        let target = CertificateFixtures.Pair(certificate: directory + "/certificate.pem", key: directory + "/key.pem")
        try Data(contentsOf: URL(fileURLWithPath: pair.certificate)).write(to: URL(fileURLWithPath: target.certificate))
        try Data(contentsOf: URL(fileURLWithPath: pair.key)).write(to: URL(fileURLWithPath: target.key))
        return target
    }

    @Test func reload_whenFilesChanged_newConnectionsGetTheNewCertificateAndOldOnesKeepWorking() throws {
        let directory = try self.fixtures.makeScratchDirectory()
        let paths = try self.install(self.fixtures.leaf, in: directory)
        let server = try self.fixtures.serverContext(paths)
        let client = try self.fixtures.clientContext()
        #expect(server.certificate?.serialNumber == "1001")

        let before = try ConnectedPair(client: client, server: server)
        #expect(before.client.peerCertificate?.serialNumber == "1001")

        _ = try self.install(self.fixtures.reloadedLeaf, in: directory)
        try server.reload()
        #expect(
            server.certificate
                == TLSCertificateSummary(
                    subject: "/O=Earpiece Reloaded/CN=localhost",
                    serialNumber: "2002"
                )
        )

        let after = try ConnectedPair(client: client, server: server)
        #expect(after.client.peerCertificate?.serialNumber == "2002")
        #expect(after.client.peerCertificate?.subject == "/O=Earpiece Reloaded/CN=localhost")
        #expect(after.server.negotiatedApplicationProtocol == "http/1.1", "ALPN survives a reload")

        // The connection made before the reload still carries data both ways.
        let (atServer, atClient, _) = try before.exchange(Array("after reload".utf8))
        #expect(atServer == Array("after reload".utf8))
        #expect(atClient == Array("after reload".utf8).reversed())
        #expect(before.client.peerCertificate?.serialNumber == "1001")
    }

    @Test func reload_whenCertificateFileIsGarbage_throwsAndKeepsTheCurrentCertificate() throws {
        let directory = try self.fixtures.makeScratchDirectory()
        let paths = try self.install(self.fixtures.leaf, in: directory)
        let server = try self.fixtures.serverContext(paths)
        let client = try self.fixtures.clientContext()

        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: paths.certificate))
        #expect(throws: TLSError.certificateChainUnreadable) { try server.reload() }
        #expect(server.certificate?.serialNumber == "1001")
        let pair = try ConnectedPair(client: client, server: server)
        #expect(pair.client.peerCertificate?.serialNumber == "1001")
    }

    @Test func reload_whenKeyDoesNotMatchTheNewCertificate_throwsAndKeepsTheCurrentCertificate() throws {
        let directory = try self.fixtures.makeScratchDirectory()
        let paths = try self.install(self.fixtures.leaf, in: directory)
        let server = try self.fixtures.serverContext(paths)

        // A half-finished deployment: new certificate, old key.
        try Data(contentsOf: URL(fileURLWithPath: self.fixtures.reloadedLeaf.certificate))
            .write(to: URL(fileURLWithPath: paths.certificate))
        do {
            try server.reload()
            Issue.record("reload should fail")
        } catch {
            #expect(error == .privateKeyMismatch)
            #expect(error.detail.contains("key values mismatch"))
        }
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: server)
        #expect(pair.client.peerCertificate?.serialNumber == "1001")
    }

    @Test func reload_whileConnectionsAreMadeOnAnotherThread_neverHandsOutAFreedContext() async throws {
        let directory = try self.fixtures.makeScratchDirectory()
        let paths = try self.install(self.fixtures.leaf, in: directory)
        let server = try self.fixtures.serverContext(paths)
        let reloader = Task.detached {
            for _ in 0..<50 { try server.reload() }
        }
        // Connections made concurrently with the swaps; each must be usable.
        for _ in 0..<50 {
            let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: server)
            #expect(pair.client.verificationResult == .valid)
        }
        try await reloader.value
    }

    @Test func init_whenFilesAreMissing_throwsTypedErrors() {
        #expect(throws: TLSError.certificateChainUnreadable) {
            try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: "/nonexistent/cert.pem",
                    privateKeyPath: self.fixtures.leaf.key
                )
            )
        }
        #expect(throws: TLSError.privateKeyUnreadable) {
            try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: self.fixtures.leaf.certificate,
                    privateKeyPath: "/nonexistent/key.pem"
                )
            )
        }
    }

    @Test func init_whenKeyBelongsToAnotherCertificate_throwsPrivateKeyMismatch() {
        #expect(throws: TLSError.privateKeyMismatch) {
            try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: self.fixtures.leaf.certificate,
                    privateKeyPath: self.fixtures.wrongNameLeaf.key
                )
            )
        }
    }

    @Test func init_whenKeyIsEncrypted_failsInsteadOfPromptingForAPassphrase() {
        #expect(throws: TLSError.privateKeyUnreadable) {
            try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: self.fixtures.leaf.certificate,
                    privateKeyPath: self.fixtures.encryptedLeafKey
                )
            )
        }
    }

    @Test func init_whenALPNNameIsEmptyOrTooLong_throwsInvalidConfiguration() {
        for names in [[""], [String(repeating: "a", count: 256)], Array(repeating: "http/1.1", count: 200)] {
            #expect(throws: TLSError.invalidConfiguration) {
                try self.fixtures.serverContext(applicationProtocols: names)
            }
            #expect(throws: TLSError.invalidConfiguration) {
                try TLSClientContext(configuration: TLSClientConfiguration(applicationProtocols: names))
            }
        }
    }

    @Test func errors_describeThemselvesWithALabelAndTheOpenSSLDetail() throws {
        do {
            _ = try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: "/nonexistent/cert.pem",
                    privateKeyPath: "/nonexistent/key.pem"
                )
            )
            Issue.record("should throw")
        } catch {
            #expect(error.shortDescription == "certificate_chain_unreadable")
            #expect(error.description.hasPrefix("certificate_chain_unreadable: cannot load certificate chain"))
            #expect(error.detail.contains("/nonexistent/cert.pem"))
        }
    }

    @Test func factory_makesServerTransportsThroughTheProtocol() throws {
        let factory: any SecureTransportFactory = try self.fixtures.serverContext()
        let sockets = try SocketPair()
        let transport = try factory.makeServerTransport(fileDescriptor: sockets.second)
        #expect(transport is TLSConnection)
        #expect(transport.handshake() == .wantRead)
        #expect(throws: TLSError.connectionCreationFailed) {
            try factory.makeServerTransport(fileDescriptor: -1)
        }
    }
}
