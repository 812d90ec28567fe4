import Foundation
public import IOTLS

#if canImport(Glibc)
import Glibc
#endif

/// Certificates generated once per test process with the `openssl` CLI in a temporary directory.
///
/// - `ca`: the trusted test CA.
/// - `leaf`: `CN=localhost`, SAN `DNS:localhost, IP:127.0.0.1`, serial 0x1001, signed by `ca`.
/// - `reloadedLeaf`: `O=Earpiece Reloaded, CN=localhost`, same SANs, serial 0x2002, signed by `ca`.
/// - `wrongNameLeaf`: `CN=wrong.example`, SAN `DNS:wrong.example`, serial 0x3003, signed by `ca`.
/// - `untrustedCA`: an unrelated self-signed CA; `untrustedLeaf` (localhost, serial 0x4004) is signed by it.
/// - `encryptedLeafKey`: `leaf`'s key encrypted with a passphrase.
public struct CertificateFixtures: Sendable {
    /// A certificate file and its key file.
    public struct Pair: Sendable {
        public var certificate: String
        public var key: String

        /// A certificate file and its key file.
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    public let directory: String
    public let ca: Pair
    public let leaf: Pair
    public let reloadedLeaf: Pair
    public let wrongNameLeaf: Pair
    public let untrustedCA: Pair
    public let untrustedLeaf: Pair
    public let encryptedLeafKey: String

    /// The fixtures, generated on first use; tests call `try CertificateFixtures.shared.get()`.
    public static let shared: Result<CertificateFixtures, any Error> = Result { try CertificateFixtures.generate() }

    /// Runs `openssl` with `arguments` in `directory` and throws with its output when it fails.
    public static func runOpenSSL(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(
                "openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: text, as: UTF8.self))"
            )
        }
    }

    private static func generate() throws -> CertificateFixtures {
        let directory = NSTemporaryDirectory() + "earpiece-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

        func makeCA(_ name: String, subject: String) throws -> Pair {
            try runOpenSSL(
                ["req", "-x509"] + ecKey + [
                    "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", subject,
                ],
                in: directory
            )
            return Pair(certificate: "\(directory)/\(name).pem", key: "\(directory)/\(name).key")
        }

        func makeLeaf(_ name: String, subject: String, names: String, serial: String, issuer: Pair) throws -> Pair {
            let extensions = """
                basicConstraints=critical,CA:FALSE
                keyUsage=critical,digitalSignature
                extendedKeyUsage=serverAuth
                subjectAltName=\(names)

                """
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try runOpenSSL(
                ["req", "-new"] + ecKey + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject],
                in: directory
            )
            try runOpenSSL(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", issuer.certificate, "-CAkey", issuer.key,
                    "-set_serial", serial, "-days", "2", "-extfile", "\(name).ext", "-out", "\(name).pem",
                ],
                in: directory
            )
            return Pair(certificate: "\(directory)/\(name).pem", key: "\(directory)/\(name).key")
        }

        let ca = try makeCA("ca", subject: "/CN=Earpiece Test CA")
        let localNames = "DNS:localhost,IP:127.0.0.1"
        let leaf = try makeLeaf("leaf", subject: "/CN=localhost", names: localNames, serial: "0x1001", issuer: ca)
        let reloaded = try makeLeaf(
            "reloaded",
            subject: "/O=Earpiece Reloaded/CN=localhost",
            names: localNames,
            serial: "0x2002",
            issuer: ca
        )
        let wrongName = try makeLeaf(
            "wrongname",
            subject: "/CN=wrong.example",
            names: "DNS:wrong.example",
            serial: "0x3003",
            issuer: ca
        )
        let untrustedCA = try makeCA("untrusted-ca", subject: "/CN=Unrelated Test CA")
        let untrustedLeaf = try makeLeaf(
            "untrusted-leaf",
            subject: "/CN=localhost",
            names: localNames,
            serial: "0x4004",
            issuer: untrustedCA
        )
        try runOpenSSL(
            ["pkey", "-in", leaf.key, "-aes128", "-passout", "pass:secret", "-out", "encrypted.key"],
            in: directory
        )
        return CertificateFixtures(
            directory: directory,
            ca: ca,
            leaf: leaf,
            reloadedLeaf: reloaded,
            wrongNameLeaf: wrongName,
            untrustedCA: untrustedCA,
            untrustedLeaf: untrustedLeaf,
            encryptedLeafKey: "\(directory)/encrypted.key"
        )
    }

    /// A server context presenting `pair`.
    public func serverContext(
        _ pair: Pair? = nil,
        applicationProtocols: [String] = ["http/1.1"]
    ) throws -> TLSServerContext {
        let pair = pair ?? self.leaf
        return try TLSServerContext(
            configuration: TLSServerConfiguration(
                certificateChainPath: pair.certificate,
                privateKeyPath: pair.key,
                applicationProtocols: applicationProtocols
            )
        )
    }

    /// A client context trusting only the test CA.
    public func clientContext(
        maximumVersion: TLSVersion = .v1_3,
        applicationProtocols: [String] = ["http/1.1"],
        verifiesPeer: Bool = true
    ) throws -> TLSClientContext {
        try TLSClientContext(
            configuration: TLSClientConfiguration(
                trustRoots: .certificateFile(self.ca.certificate),
                verifiesPeer: verifiesPeer,
                maximumVersion: maximumVersion,
                applicationProtocols: applicationProtocols
            )
        )
    }

    /// A fresh directory for a test that rewrites files.
    public func makeScratchDirectory() throws -> String {
        let path = self.directory + "/scratch-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A failure in test set-up, with a message.
/// A test fixture could not be set up.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
