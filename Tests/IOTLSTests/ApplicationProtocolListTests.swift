import IOCore
import TestKit
import Testing

@testable import IOTLS

#if canImport(Glibc)
import Glibc
#endif

/// The ALPN wire format and server-preference selection, on their own and under random input.
@Suite struct ApplicationProtocolListTests {
    func select(server: [String], client wire: [UInt8]) throws -> String? {
        let serverWire = try ApplicationProtocolList.encode(server)
        return serverWire.withUnsafeBytes { serverBytes in
            wire.withUnsafeBytes { clientBytes in
                ApplicationProtocolList.select(serverPreference: serverBytes, clientOffer: clientBytes).map {
                    String(decoding: clientBytes[$0], as: UTF8.self)
                }
            }
        }
    }

    @Test func encode_prefixesEachNameWithItsLength() throws {
        #expect(
            try ApplicationProtocolList.encode(["h2", "http/1.1"]) == [2] + Array("h2".utf8) + [8]
                + Array("http/1.1".utf8)
        )
        #expect(try ApplicationProtocolList.encode([]) == [])
    }

    @Test func select_table() throws {
        let h2 = [UInt8(2)] + Array("h2".utf8)
        let http11 = [UInt8(8)] + Array("http/1.1".utf8)
        #expect(try self.select(server: ["http/1.1"], client: h2 + http11) == "http/1.1")
        #expect(try self.select(server: ["h2", "http/1.1"], client: http11 + h2) == "h2")
        #expect(try self.select(server: ["http/1.1"], client: h2) == nil)
        #expect(try self.select(server: ["http/1.1"], client: []) == nil)
        // A prefix is not a match.
        #expect(try self.select(server: ["http/1.1"], client: [4] + Array("http".utf8)) == nil)
        // Malformed offers: zero length, length past the end.
        #expect(try self.select(server: ["h2"], client: [0] + h2) == nil)
        #expect(try self.select(server: ["h2"], client: [9] + Array("h2".utf8)) == nil)
        // A match before the malformed tail is still found (OpenSSL has validated real offers anyway).
        #expect(try self.select(server: ["h2"], client: h2 + [200]) == "h2")
    }

    @Test func select_whenFedRandomOffers_staysInBoundsAndOnlyReturnsRealMatches() throws {
        let serverWire = try ApplicationProtocolList.encode(["h2", "http/1.1", "a"])
        var generator = SeededGenerator(seed: 42)
        let iterations = 200_000
        let clock = ContinuousClock()
        let start = clock.now
        var matches = 0
        for _ in 0..<iterations {
            let length = Int(generator.next() % 40)
            var offer = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next() % 12) }
            if length > 3, generator.next() % 4 == 0 {
                // Splice in a real name so matches happen.
                let name = ["h2", "a", "http/1.1"][Int(generator.next() % 3)]
                let position = Int(generator.next() % UInt64(length))
                offer.insert(contentsOf: [UInt8(name.utf8.count)] + Array(name.utf8), at: position)
            }
            let chosen = serverWire.withUnsafeBytes { serverBytes in
                offer.withUnsafeBytes { ApplicationProtocolList.select(serverPreference: serverBytes, clientOffer: $0) }
            }
            if let chosen {
                matches += 1
                #expect(chosen.lowerBound >= 1 && chosen.upperBound <= offer.count)
                #expect(Int(offer[chosen.lowerBound - 1]) == chosen.count)
                let name = String(decoding: offer[chosen], as: UTF8.self)
                #expect(["h2", "http/1.1", "a"].contains(name))
            }
        }
        print("ALPN select fuzz: \(iterations) offers, \(matches) matches in \(clock.now - start)")
        #expect(matches > 0)
    }

    @Test func ipLiteralDetection_distinguishesAddressesFromNames() {
        #expect(TLSClientContext.isIPAddressLiteral("127.0.0.1"))
        #expect(TLSClientContext.isIPAddressLiteral("::1"))
        #expect(TLSClientContext.isIPAddressLiteral("2001:db8::1"))
        #expect(!TLSClientContext.isIPAddressLiteral("localhost"))
        #expect(!TLSClientContext.isIPAddressLiteral("api.openai.com"))
        #expect(!TLSClientContext.isIPAddressLiteral("1.2.3.4.example"))
    }
}

/// Mutated ClientHellos thrown at the server: it must fail cleanly, never crash or hang.
@Suite struct ClientHelloFuzzTests {
    @Test func server_whenFedMutatedClientHellos_failsCleanly() throws {
        ignoreSIGPIPE()
        let fixtures = try CertificateFixtures.shared.get()
        let serverContext = try fixtures.serverContext(applicationProtocols: ["h2", "http/1.1"])
        let clientContext = try fixtures.clientContext(applicationProtocols: ["h2", "http/1.1", "x"])

        // Capture a real ClientHello (with SNI and ALPN) from our client.
        let capture = try SocketPair()
        let client = try clientContext.makeConnection(fileDescriptor: capture.first, serverHostname: "localhost")
        #expect(client.handshake() == .wantRead)
        var helloBuffer = [UInt8](repeating: 0, count: 4096)
        let helloLength = read(capture.second, &helloBuffer, helloBuffer.count)
        #expect(helloLength > 100)
        let hello = Array(helloBuffer[0..<max(helloLength, 0)])

        var generator = SeededGenerator(seed: 1234)
        let iterations = Int(ProcessInfoLike.environment("EARPIECE_TLS_FUZZ_ITERATIONS") ?? "") ?? 3000
        let clock = ContinuousClock()
        let start = clock.now
        var outcomes: [String: Int] = [:]
        for iteration in 0..<iterations {
            var input = hello
            switch generator.next() % 4 {
            case 0:  // flip a few bytes
                for _ in 0...(generator.next() % 8) {
                    input[Int(generator.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 1:  // truncate
                input.removeLast(Int(generator.next() % UInt64(input.count)))
            case 2:  // corrupt one length-looking byte inside the extensions
                let position = 40 + Int(generator.next() % UInt64(input.count - 40))
                input[position] = [0x00, 0xFF, 0x01, 0x80][Int(generator.next() % 4)]
            default:  // random bytes after a plausible record header
                input =
                    Array(hello[0..<5])
                    + (0..<Int(generator.next() % 600)).map { _ in
                        UInt8(truncatingIfNeeded: generator.next())
                    }
            }
            let sockets = try SocketPair()
            let server = try serverContext.makeConnection(fileDescriptor: sockets.second)
            _ = input.withUnsafeBytes { write(sockets.first, $0.baseAddress, $0.count) }
            shutdown(sockets.first, Int32(SHUT_WR))
            var result = server.handshake()
            var steps = 0
            while result == .wantRead || result == .wantWrite {
                steps += 1
                if steps > 100 {
                    Issue.record("iteration \(iteration): server did not settle")
                    break
                }
                result = server.handshake()
            }
            switch result {
            case .failed(let error): outcomes[error.shortDescription, default: 0] += 1
            default: Issue.record("iteration \(iteration): unexpected \(result)")
            }
        }
        print("ClientHello fuzz: \(iterations) inputs in \(clock.now - start): \(outcomes)")
    }
}

/// Environment access without Foundation in this file.
enum ProcessInfoLike {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
