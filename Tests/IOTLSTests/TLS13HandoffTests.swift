import Foundation
import IOCore
import TestKit
import Testing

@testable import IOTLS

#if canImport(Glibc)
import Glibc
#endif

/// TLS 1.3 server sessions after the hand-off to the user-space record layer, against three independent
/// peers: our own OpenSSL-backed client, Python's `ssl` and `openssl s_client` (KeyUpdate both ways,
/// every suite). A wrong sequence number or key makes the peer fail at its first record.
@Suite struct TLS13HandoffTests {
    let fixtures: CertificateFixtures

    init() throws {
        ignoreSIGPIPE()
        self.fixtures = try CertificateFixtures.shared.get()
    }

    /// Echoes what a server connection reads until the peer closes, then sends close_notify.
    final class EchoServer {
        let connection: TLSConnection
        let fileDescriptor: Int32
        private var pending: [UInt8] = []
        private var buffer = [UInt8](repeating: 0, count: 65536)
        private(set) var echoed = 0
        private(set) var end: SecureTransportResult?

        init(_ connection: TLSConnection, fileDescriptor: Int32) {
            self.connection = connection
            self.fileDescriptor = fileDescriptor
        }

        func step() throws -> PumpStep {
            if !self.pending.isEmpty {
                let result = self.pending.withUnsafeBytes { self.connection.write($0) }
                switch result {
                case .done(let count):
                    self.pending.removeFirst(count)
                    self.echoed += count
                    return .progressed
                case .wantWrite: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLOUT))
                case .wantRead: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLIN))
                case .closed, .failed: throw FixtureError("echo write ended with \(result)")
                }
            }
            if self.end != nil {
                self.connection.shutdown()
                return .finished
            }
            let result = self.buffer.withUnsafeMutableBytes { self.connection.read(into: $0) }
            switch result {
            case .done(let count):
                self.pending.append(contentsOf: self.buffer[0..<count])
                return .progressed
            case .wantRead: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLIN))
            case .wantWrite: return .waiting(fileDescriptor: self.fileDescriptor, events: Int16(POLLOUT))
            case .closed, .failed:
                self.end = result
                return .progressed
            }
        }
    }

    /// Accepts one connection and completes the server handshake, which must succeed.
    func acceptAndCompleteHandshake(_ listener: TCPListener, context: TLSServerContext) throws -> (Int32, TLSConnection) {
        let (fd, connection, result) = try acceptAndHandshake(listener, context: context)
        guard result == .done(0) else {
            close(fd)
            throw FixtureError("server handshake ended with \(result)")
        }
        return (fd, connection)
    }

    // MARK: Our own client

    @Test func tls13Server_afterHandshake_runsInUserSpaceAndStillReportsTheSession() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        #expect(pair.server.usesUserSpaceRecordLayer)
        #expect(!pair.client.usesUserSpaceRecordLayer, "clients keep OpenSSL")
        #expect(pair.server.isHandshakeComplete)
        #expect(pair.server.negotiatedProtocolVersion == "TLSv1.3")
        #expect(pair.server.negotiatedCipherSuite == "TLS_AES_128_GCM_SHA256")
        #expect(pair.server.negotiatedApplicationProtocol == "http/1.1")
        #expect(pair.server.serverName == "localhost")
        #expect(pair.server.handshake() == .done(0))
    }

    @Test func tls12Session_staysWithOpenSSL() throws {
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(maximumVersion: .v1_2),
            server: self.fixtures.serverContext()
        )
        #expect(!pair.server.usesUserSpaceRecordLayer)
        let (atServer, atClient, _) = try pair.exchange(Array("still OpenSSL".utf8))
        #expect(atServer == Array("still OpenSSL".utf8))
        #expect(atClient == Array("still OpenSSL".utf8).reversed())
    }

    @Test func ownClient_exchangesRecordsOfEverySizeBothWays() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        #expect(pair.server.usesUserSpaceRecordLayer)
        var generator = SeededGenerator(seed: 13)
        for size in [1, 2, 255, 16383, 16384, 16385, 40000, 300_000] {
            let payload = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let (atServer, atClient, _) = try pair.exchange(payload)
            #expect(atServer == payload, "size \(size)")
            #expect(atClient == payload.reversed(), "size \(size)")
        }
    }

    @Test func tinySendBuffer_splitsRecordsAcrossSends_andTheRetriedWritesKeepTheStreamIntact() throws {
        let sockets = try SocketPair()
        // A 4 KiB send buffer (the kernel doubles it) makes a Unix socket take a 16 KiB record in pieces
        // of about 4 KB, so the unsent tail of a record is kept and the caller's retry finishes it. (TCP
        // over loopback queues a whole record whenever it has any room, so it never splits one.)
        var size: Int32 = 4096
        setsockopt(sockets.second, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let pair = try ConnectedPair(
            client: self.fixtures.clientContext(), server: self.fixtures.serverContext(), sockets: sockets
        )
        #expect(pair.server.usesUserSpaceRecordLayer)
        var generator = SeededGenerator(seed: 21)
        let payload = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let (atServer, atClient, senders) = try pair.exchange(payload)
        #expect(atServer == payload)
        #expect(atClient == payload.reversed())
        #expect(senders[1].writeSizes.max()! <= 16384)
    }

    @Test func tamperedRecord_failsTheServerRead_andTheClientReceivesAFatalAlert() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        // Take in the session tickets so the alert is the next thing the client reads.
        #expect(readOnce(pair.client, fileDescriptor: pair.sockets.first, timeoutMilliseconds: 0) == .wantRead)
        #expect([UInt8]("x".utf8).withUnsafeBytes { pair.client.write($0) } == .done(1))
        var record = [UInt8](repeating: 0, count: 256)
        let length = Glibc.read(pair.sockets.second, &record, record.count)
        #expect(length == 5 + 1 + 1 + 16)
        record[length - 1] ^= 0x80  // one bit of the tag
        #expect(Glibc.write(pair.sockets.first, record, length) == length)
        let result = readOnce(pair.server, fileDescriptor: pair.sockets.second)
        #expect(result == .failed(.tlsFailure("")))
        #expect(pair.server.write(UnsafeRawBufferPointer(start: nil, count: 0)) == .failed(.tlsFailure("")))
        guard case .failed(let clientError) = readOnce(pair.client, fileDescriptor: pair.sockets.first) else {
            Issue.record("the client should have received an alert")
            return
        }
        #expect(clientError.detail.contains("bad record mac"))
    }

    @Test func garbageAfterHandshake_failsTheServerRead_withoutDeliveringAnyByte() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        let garbage = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        #expect(Glibc.write(pair.sockets.first, garbage, garbage.count) == garbage.count)
        #expect(readOnce(pair.server, fileDescriptor: pair.sockets.second) == .failed(.tlsFailure("")))
    }

    @Test func closeNotify_afterData_isReadAfterTheData() throws {
        let pair = try ConnectedPair(client: self.fixtures.clientContext(), server: self.fixtures.serverContext())
        #expect([UInt8]("last words".utf8).withUnsafeBytes { pair.client.write($0) } == .done(10))
        pair.client.shutdown()
        usleep(50_000)  // both records are in the socket before the server reads
        var buffer = [UInt8](repeating: 0, count: 65536)
        #expect(buffer.withUnsafeMutableBytes { pair.server.read(into: $0) } == .done(10))
        #expect(Array(buffer[0..<10]) == Array("last words".utf8))
        #expect(pair.server.hasBufferedPlaintext, "the close is still to be reported")
        #expect(buffer.withUnsafeMutableBytes { pair.server.read(into: $0) } == .closed)
        #expect(!pair.server.hasBufferedPlaintext)
        pair.server.shutdown()
        #expect(readOnce(pair.client, fileDescriptor: pair.sockets.first) == .closed)
    }

    // MARK: Python ssl

    @Test func pythonSSLClient_echoOfManySizes_andCloseNotifyBothWays() throws {
        let listener = try TCPListener()
        let script = """
            import os, socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
            tls = context.wrap_socket(raw, server_hostname="localhost")
            for size in [1, 5, 100, 1000, 16383, 16384, 16385, 32768, 50000, 200000]:
                data = os.urandom(size)
                tls.sendall(data)
                received = bytearray()
                while len(received) < size:
                    chunk = tls.recv(65536)
                    if not chunk:
                        sys.exit("EOF after %d of %d" % (len(received), size))
                    received += chunk
                if bytes(received) != data:
                    sys.exit("mismatch at size %d" % size)
            version, cipher = tls.version(), tls.cipher()[0]
            tls.unwrap()  # sends close_notify and waits for the server's
            print("ECHO OK", version, cipher)
            """
        let child = try ChildProcess("/usr/bin/python3", ["-c", script, "\(listener.port)", self.fixtures.ca.certificate])
        let (fd, connection) = try self.acceptAndCompleteHandshake(listener, context: self.fixtures.serverContext())
        defer { close(fd) }
        #expect(connection.usesUserSpaceRecordLayer)
        let echo = EchoServer(connection, fileDescriptor: fd)
        try pump([echo.step], timeout: .seconds(60))
        #expect(echo.end == .closed, "Python's unwrap() sends close_notify")
        let (status, output) = child.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("ECHO OK TLSv1.3 TLS_AES_128_GCM_SHA256"), "\(output)")
    }

    // MARK: openssl s_client

    @Test(arguments: TLS13CipherSuite.allCases)
    func sClient_keyUpdatesBothWays_keepTheSessionWorking(suite: TLS13CipherSuite) throws {
        let listener = try TCPListener()
        let child = try ChildProcess("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(listener.port)", "-tls1_3", "-ciphersuites", suite.name,
            "-CAfile", self.fixtures.ca.certificate, "-verify_return_error", "-servername", "localhost",
        ])
        let (fd, connection) = try self.acceptAndCompleteHandshake(listener, context: self.fixtures.serverContext())
        defer { close(fd) }
        #expect(connection.usesUserSpaceRecordLayer)
        #expect(connection.negotiatedCipherSuite == suite.name)
        // OpenSSL sent its two session tickets under our write key before the hand-off.
        #expect(connection.userSpaceWriteSequenceNumber == 2)
        let echo = EchoServer(connection, fileDescriptor: fd)
        func echoUntil(_ total: Int) throws {
            try pump([{ echo.echoed >= total ? .finished : try echo.step() }], timeout: .seconds(20))
        }
        // A line starting with "K" makes s_client send KeyUpdate(update_requested) instead of data, "k"
        // KeyUpdate(update_not_requested). Our reply to "K" must carry our own KeyUpdate first.
        var expected = 0
        for line in ["before\n", "K\n", "after requested update\n", "k\n", "after unrequested update\n", "K\n", "end\n"] {
            child.send(line)
            if line.hasPrefix("K") || line.hasPrefix("k") {
                usleep(100_000)  // s_client handles the command before it reads the next line
                continue
            }
            expected += line.utf8.count
            try echoUntil(expected)
        }
        // Without our KeyUpdate answering the last "K" this would be 6 (2 tickets + 4 echoed lines); with
        // it, the key was replaced and only the echo of "end" went out under the new one.
        #expect(connection.userSpaceWriteSequenceNumber == 1)
        connection.shutdown()  // close_notify makes s_client exit
        let (_, output) = child.finish()
        for line in ["before", "after requested update", "after unrequested update", "end"] {
            #expect(output.contains(line + "\n"), "\(output)")
        }
        #expect(output.contains("KEYUPDATE"), "s_client announces the updates it sends")
        #expect(!output.contains("alert"), "\(output)")
    }
}
