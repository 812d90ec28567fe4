import IOCore
import IOTLS
import TestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Handshake, data transfer, verification and close behaviour of ``TLSConnection`` pairs over socketpairs.
@Suite struct TLSConnectionTests {
    let fixtures: CertificateFixtures

    init() throws {
        ignoreSIGPIPE()
        self.fixtures = try CertificateFixtures.shared.get()
    }

    // MARK: Handshake and data

    @Test func handshake_whenClientTrustsTheCA_negotiatesTLS13AndHTTP11AndVerifiesTheServer() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        #expect(pair.client.negotiatedProtocolVersion == "TLSv1.3")
        #expect(pair.server.negotiatedProtocolVersion == "TLSv1.3")
        #expect(pair.client.negotiatedApplicationProtocol == "http/1.1")
        #expect(pair.server.negotiatedApplicationProtocol == "http/1.1")
        #expect(pair.client.verificationResult == .valid)
        #expect(pair.server.verificationResult == nil)
        #expect(pair.client.peerCertificate == TLSCertificateSummary(subject: "/CN=localhost", serialNumber: "1001"))
        #expect(pair.server.peerCertificate == nil)
        #expect(pair.server.serverName == "localhost")
        #expect(pair.client.isClient && !pair.server.isClient)
        #expect(pair.client.handshake() == .done(0), "handshake stays done once complete")
    }

    @Test func smallMessages_whenSentBothWays_arriveIntact() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        for message in ["hello", "x", String(repeating: "0123456789", count: 100)] {
            let (atServer, atClient, _) = try pair.exchange(Array(message.utf8))
            #expect(atServer == Array(message.utf8))
            #expect(atClient == Array(message.utf8).reversed())
        }
    }

    @Test func oneMebibyte_whenSentBothWaysAtOnce_arrivesIntactThroughPartialWrites() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        var generator = SeededGenerator(seed: 7)
        let payload = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let (atServer, atClient, senders) = try pair.exchange(payload)
        #expect(atServer == payload)
        #expect(atClient == payload.reversed())
        for sender in senders {
            // ENABLE_PARTIAL_WRITE: one record (at most 16 KiB) per call, never the whole megabyte.
            #expect(sender.partialWrites > 0)
            #expect(sender.writeSizes.max()! <= 16384)
        }
    }

    @Test func hasBufferedPlaintext_whenReadBufferIsSmallerThanARecord_isTrueUntilDrained() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        let message = [UInt8](repeating: 0x61, count: 1000)
        let sender = Sender(pair.client, fileDescriptor: pair.sockets.first, payload: message)
        try pump([sender.step])
        let receiver = Receiver(
            pair.server,
            fileDescriptor: pair.sockets.second,
            expectedCount: message.count,
            chunkSize: 100
        )
        try pump([receiver.step])
        #expect(receiver.received == message)
        #expect(receiver.sawBufferedPlaintext)
        #expect(!pair.server.hasBufferedPlaintext)
    }

    @Test func hasBufferedPlaintext_whenOnlyPartOfARecordArrived_isFalseSoTheLoopWaitsForTheSocket() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        // Let the client consume the session tickets so only our record is in flight afterwards.
        #expect(readOnce(pair.client, fileDescriptor: pair.sockets.first, timeoutMilliseconds: 0) == .wantRead)
        let message = [UInt8](repeating: 0x62, count: 500)
        #expect(message.withUnsafeBytes { pair.client.write($0) } == .done(500))
        // Take the encrypted record off the server's socket and hand it back in two halves.
        var record = [UInt8](repeating: 0, count: 4096)
        let recordLength = Glibc.read(pair.sockets.second, &record, record.count)
        #expect(recordLength > 500)
        let half = recordLength / 2
        #expect(Glibc.write(pair.sockets.first, record, half) == half)
        #expect(readOnce(pair.server, fileDescriptor: pair.sockets.second, timeoutMilliseconds: 0) == .wantRead)
        // Bytes of an undecryptable partial record are not "plaintext": reading again would only spin.
        #expect(!pair.server.hasBufferedPlaintext)
        let rest = Array(record[half..<recordLength])
        #expect(Glibc.write(pair.sockets.first, rest, rest.count) == rest.count)
        let receiver = Receiver(pair.server, fileDescriptor: pair.sockets.second, expectedCount: message.count)
        try pump([receiver.step])
        #expect(receiver.received == message)
    }

    @Test func emptyBuffers_whenReadOrWritten_returnDoneZeroWithoutTouchingTheSession() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        #expect(pair.client.write(UnsafeRawBufferPointer(start: nil, count: 0)) == .done(0))
        #expect(pair.server.read(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) == .done(0))
        let (atServer, _, _) = try pair.exchange(Array("still fine".utf8))
        #expect(atServer == Array("still fine".utf8))
    }

    // MARK: ALPN

    @Test func alpn_whenClientPrefersAnotherProtocol_serverPreferenceWins() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(applicationProtocols: ["http/1.1", "h2"]),
            server: self.fixtures.serverContext(applicationProtocols: ["h2", "http/1.1"])
        )
        #expect(pair.client.negotiatedApplicationProtocol == "h2")
        #expect(pair.server.negotiatedApplicationProtocol == "h2")
    }

    @Test func alpn_whenOffersDoNotOverlap_handshakeSucceedsWithoutALPN() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(applicationProtocols: ["h2", "spdy/3"]),
            server: self.fixtures.serverContext()
        )
        #expect(pair.client.negotiatedApplicationProtocol == nil)
        #expect(pair.server.negotiatedApplicationProtocol == nil)
    }

    @Test func alpn_whenClientOffersNone_handshakeSucceedsWithoutALPN() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(applicationProtocols: []),
            server: self.fixtures.serverContext()
        )
        #expect(pair.server.negotiatedApplicationProtocol == nil)
    }

    @Test func alpn_whenServerHasNoList_ignoresTheClientOffer() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(),
            server: self.fixtures.serverContext(applicationProtocols: [])
        )
        #expect(pair.client.negotiatedApplicationProtocol == nil)
    }

    // MARK: Versions

    @Test func tls12OnlyClient_isAccepted_withServerPreferredECDHEGCMSuite() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(maximumVersion: .v1_2),
            server: self.fixtures.serverContext()
        )
        #expect(pair.client.negotiatedProtocolVersion == "TLSv1.2")
        #expect(pair.server.negotiatedProtocolVersion == "TLSv1.2")
        #expect(pair.server.negotiatedCipherSuite == "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(pair.server.negotiatedApplicationProtocol == "http/1.1")
        let (atServer, _, _) = try pair.exchange(Array("over 1.2".utf8))
        #expect(atServer == Array("over 1.2".utf8))
    }

    @Test func versionRange_whenMinimumAboveMaximum_isRejected() throws {
        #expect(throws: TLSError.invalidConfiguration) {
            try TLSClientContext(configuration: TLSClientConfiguration(minimumVersion: .v1_3, maximumVersion: .v1_2))
        }
    }

    // MARK: Verification

    @Test func client_whenCertificateNamesAnotherHost_rejectsWithHostnameMismatch() throws {
        let outcome = try self.handshakeOutcome(server: self.fixtures.wrongNameLeaf, hostname: "localhost")
        guard case .failed(let error) = outcome.client.result else {
            Issue.record("client handshake should fail, got \(outcome.client.result)")
            return
        }
        #expect(error == .tlsFailure(""))
        #expect(error.detail.contains("certificate verify failed"))
        #expect(error.detail.contains("hostname mismatch"))
        #expect(outcome.client.connection.verificationResult == .hostnameMismatch)
        // The server learns of it through the client's alert.
        guard case .failed = outcome.server.result else {
            Issue.record("server handshake should fail, got \(outcome.server.result)")
            return
        }
    }

    @Test func client_whenChainLeadsToAnUntrustedCA_rejectsWithUntrustedIssuer() throws {
        let outcome = try self.handshakeOutcome(server: self.fixtures.untrustedLeaf, hostname: "localhost")
        guard case .failed(let error) = outcome.client.result else {
            Issue.record("client handshake should fail, got \(outcome.client.result)")
            return
        }
        #expect(error == .tlsFailure(""))
        #expect(outcome.client.connection.verificationResult == .untrustedIssuer)
        if case .failed(let serverError) = outcome.server.result {
            #expect(serverError.detail.contains("unknown ca"))
        } else {
            Issue.record("server handshake should fail, got \(outcome.server.result)")
        }
    }

    @Test func client_whenServerIsTheUntrustedCAItself_rejectsTheSelfSignedCertificate() throws {
        let outcome = try self.handshakeOutcome(server: self.fixtures.untrustedCA, hostname: "localhost")
        #expect(outcome.client.connection.verificationResult == .selfSignedCertificate)
        guard case .failed = outcome.client.result else {
            Issue.record("client handshake should fail, got \(outcome.client.result)")
            return
        }
    }

    @Test func client_whenVerificationIsOff_connectsButStillReportsTheProblem() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(verifiesPeer: false),
            server: self.fixtures.serverContext(self.fixtures.untrustedLeaf)
        )
        #expect(pair.client.verificationResult == .untrustedIssuer)
    }

    @Test func client_whenConnectingToAnIPLiteral_verifiesTheIPSANAndSendsNoSNI() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(),
            server: self.fixtures.serverContext(),
            hostname: "127.0.0.1"
        )
        #expect(pair.client.verificationResult == .valid)
        #expect(pair.server.serverName == nil)
        #expect(pair.client.serverName == nil)
    }

    @Test func client_whenIPLiteralIsNotInTheCertificate_rejectsWithIPAddressMismatch() throws {
        let outcome = try self.handshakeOutcome(server: self.fixtures.leaf, hostname: "127.0.0.2")
        #expect(outcome.client.connection.verificationResult == .ipAddressMismatch)
        #expect(outcome.server.connection.serverName == nil)
        guard case .failed = outcome.client.result else {
            Issue.record("client handshake should fail, got \(outcome.client.result)")
            return
        }
    }

    @Test func client_whenHostnameIsEmpty_refusesToMakeAConnection() throws {
        let client = try self.fixtures.clientContext()
        #expect(throws: TLSError.connectionCreationFailed) {
            try client.makeConnection(fileDescriptor: 0, serverHostname: "")
        }
        #expect(throws: TLSError.connectionCreationFailed) {
            try client.makeConnection(fileDescriptor: 0, serverHostname: "a\u{0}b")
        }
    }

    @Test func client_whenCAFileIsMissing_throwsTrustRootsUnreadable() {
        #expect(throws: TLSError.trustRootsUnreadable) {
            try TLSClientContext(
                configuration: TLSClientConfiguration(trustRoots: .certificateFile("/nonexistent/ca.pem"))
            )
        }
    }

    @Test func client_withSystemTrustRoots_rejectsTheTestCA() throws {
        let client = try TLSClientContext(configuration: TLSClientConfiguration())
        let sockets = try SocketPair()
        let connection = try client.makeConnection(fileDescriptor: sockets.first, serverHostname: "localhost")
        let server = try self.fixtures.serverContext().makeConnection(fileDescriptor: sockets.second)
        let outcome = try handshake(
            client: connection,
            clientFD: sockets.first,
            server: server,
            serverFD: sockets.second
        )
        #expect(outcome.client == .failed(.tlsFailure("")))
        #expect(connection.verificationResult == .untrustedIssuer)
    }

    // MARK: Close and failure

    @Test func closeNotify_whenPeerShutsDown_readReportsClosedOnBothSides() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        pair.client.shutdown()
        pair.client.shutdown()  // idempotent
        #expect(readOnce(pair.server, fileDescriptor: pair.sockets.second) == .closed)
        pair.server.shutdown()
        #expect(readOnce(pair.client, fileDescriptor: pair.sockets.first) == .closed)
    }

    @Test func abruptClose_afterHandshake_isReportedAsClosedWithoutCrashing() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        // Take in the server's session tickets first: closing a socket with unread bytes sends a reset.
        #expect(readOnce(pair.client, fileDescriptor: pair.sockets.first, timeoutMilliseconds: 0) == .wantRead)
        pair.sockets.closeFirst()
        #expect(readOnce(pair.server, fileDescriptor: pair.sockets.second) == .closed)
        // Writing into the dead socket: EPIPE (SIGPIPE ignored), a failure, and later calls stay failed.
        let message = [UInt8](repeating: 1, count: 100)
        let result = message.withUnsafeBytes { pair.server.write($0) }
        #expect(result == .failed(.reset()) || result == .failed(.tlsFailure("")))
        pair.server.shutdown()  // must be a no-op after a failure
    }

    @Test func abruptClose_duringHandshake_failsWithReset() throws {
        let sockets = try SocketPair()
        let server = try self.fixtures.serverContext().makeConnection(fileDescriptor: sockets.second)
        #expect(server.handshake() == .wantRead)
        sockets.closeFirst()
        var final = server.handshake()
        for _ in 0..<10 where final == .wantRead {
            final = server.handshake()
        }
        #expect(final == .failed(.reset()))
        #expect(server.handshake() == .failed(.tlsFailure("")), "a failed session stays failed")
    }

    @Test func tcpReset_afterHandshake_failsWithReset() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(),
            server: self.fixtures.serverContext(),
            sockets: SocketPair(tcpLoopback: ())
        )
        // SO_LINGER with a zero timeout turns close() into an RST.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(pair.sockets.first, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        pair.sockets.closeFirst()
        #expect(readOnce(pair.server, fileDescriptor: pair.sockets.second) == .failed(.reset()))
    }

    @Test func plaintextHTTP_sentToTheServer_failsTheHandshakeWithTLSFailure() throws {
        let sockets = try SocketPair()
        let server = try self.fixtures.serverContext().makeConnection(fileDescriptor: sockets.second)
        let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        #expect(Glibc.write(sockets.first, request, request.count) == request.count)
        let result = server.handshake()
        guard case .failed(let error) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(error == .tlsFailure(""))
        #expect(error.detail.contains("http request") || error.detail.contains("wrong version number"))
    }

    // MARK: Helpers

    struct SideOutcome {
        let connection: TLSConnection
        let result: SecureTransportResult
    }

    /// Handshakes a client (trusting the test CA, verifying `hostname`) against a server presenting `pair`.
    func handshakeOutcome(
        server pair: CertificateFixtures.Pair,
        hostname: String
    ) throws -> (client: SideOutcome, server: SideOutcome, sockets: SocketPair) {
        let sockets = try SocketPair()
        let client = try self.fixtures.clientContext().makeConnection(
            fileDescriptor: sockets.first,
            serverHostname: hostname
        )
        let server = try self.fixtures.serverContext(pair).makeConnection(fileDescriptor: sockets.second)
        let outcome = try handshake(client: client, clientFD: sockets.first, server: server, serverFD: sockets.second)
        return (
            SideOutcome(connection: client, result: outcome.client),
            SideOutcome(connection: server, result: outcome.server),
            sockets
        )
    }
}

