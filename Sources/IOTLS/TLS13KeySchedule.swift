internal import COpenSSL

/// The TLS 1.3 cipher suites the user-space record layer implements (RFC 8446 appendix B.4), named by
/// their two-byte identifiers as `SSL_CIPHER_get_protocol_id` reports them.
enum TLS13CipherSuite: UInt16, Sendable, CaseIterable {
    case aes128GCMSHA256 = 0x1301
    case aes256GCMSHA384 = 0x1302
    case chacha20Poly1305SHA256 = 0x1303

    /// The AEAD key length in bytes.
    var keyLength: Int {
        self == .aes128GCMSHA256 ? 16 : 32
    }

    /// The length of the suite's hash, which is also the length of its traffic secrets.
    var hashLength: Int {
        self == .aes256GCMSHA384 ? 48 : 32
    }

    /// The suite's name in OpenSSL's (and the RFC's) spelling.
    var name: String {
        switch self {
        case .aes128GCMSHA256: "TLS_AES_128_GCM_SHA256"
        case .aes256GCMSHA384: "TLS_AES_256_GCM_SHA384"
        case .chacha20Poly1305SHA256: "TLS_CHACHA20_POLY1305_SHA256"
        }
    }

    /// The suite's hash for HKDF; OpenSSL's built-in digests live for the whole process.
    var digest: OpaquePointer? {
        self == .aes256GCMSHA384 ? EVP_sha384() : EVP_sha256()
    }
}

/// The traffic secret of one direction and the AEAD key and IV derived from it (RFC 8446 7.3), stored
/// inline so that an idle connection holds them without any heap allocation of its own.
///
/// Only the first ``TLS13CipherSuite/hashLength`` bytes of `secret` and ``TLS13CipherSuite/keyLength``
/// bytes of `key` are used; the rest stays zero.
struct TLS13TrafficKeys {
    /// 48 bytes: the longest secret (SHA-384).
    private var secret: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    /// 32 bytes: the longest AEAD key (AES-256, ChaCha20).
    private var key: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// 12 bytes: every TLS 1.3 AEAD uses a 96-bit nonce.
    private var iv: (UInt32, UInt32, UInt32) = (0, 0, 0)

    /// Stores `secret` and derives `key` and `iv` from it; nil if `secret` has the wrong length for
    /// `suite` or OpenSSL's HMAC failed.
    init?(suite: TLS13CipherSuite, secret source: UnsafeRawBufferPointer) {
        guard source.count == suite.hashLength else { return nil }
        withUnsafeMutableBytes(of: &self.secret) { $0.copyMemory(from: source) }
        let derived = withUnsafeBytes(of: self.secret) { secret in
            let used = UnsafeRawBufferPointer(rebasing: secret[0..<suite.hashLength])
            let keyDerived = withUnsafeMutableBytes(of: &self.key) { key in
                TLS13KeySchedule.expandLabel(
                    suite: suite, secret: used, label: "key",
                    into: UnsafeMutableRawBufferPointer(rebasing: key[0..<suite.keyLength])
                )
            }
            let ivDerived = withUnsafeMutableBytes(of: &self.iv) { iv in
                TLS13KeySchedule.expandLabel(suite: suite, secret: used, label: "iv", into: iv)
            }
            return keyDerived && ivDerived
        }
        if !derived {
            self.wipe()
            return nil
        }
    }

    /// The keys after a KeyUpdate: the next secret is `HKDF-Expand-Label(secret, "traffic upd", "", Hash.length)`
    /// (RFC 8446 7.2), and key and IV are derived from it as usual. Nil if OpenSSL's HMAC failed.
    func next(suite: TLS13CipherSuite) -> TLS13TrafficKeys? {
        var nextSecret: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        defer { withUnsafeMutableBytes(of: &nextSecret) { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        let expanded = withUnsafeBytes(of: self.secret) { secret in
            withUnsafeMutableBytes(of: &nextSecret) { next in
                TLS13KeySchedule.expandLabel(
                    suite: suite, secret: UnsafeRawBufferPointer(rebasing: secret[0..<suite.hashLength]),
                    label: "traffic upd", into: UnsafeMutableRawBufferPointer(rebasing: next[0..<suite.hashLength])
                )
            }
        }
        guard expanded else { return nil }
        return withUnsafeBytes(of: nextSecret) {
            TLS13TrafficKeys(suite: suite, secret: UnsafeRawBufferPointer(rebasing: $0[0..<suite.hashLength]))
        }
    }

    /// Calls `body` with the AEAD key (`suite.keyLength` bytes).
    func withKey<Result>(suite: TLS13CipherSuite, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeBytes(of: self.key) { body(UnsafeRawBufferPointer(rebasing: $0[0..<suite.keyLength])) }
    }

    /// Calls `body` with the 12-byte per-record nonce for `sequenceNumber`: the IV with the sequence
    /// number, big-endian and left-padded to 12 bytes, XORed into it (RFC 8446 5.3).
    func withNonce<Result>(sequenceNumber: UInt64, _ body: (UnsafeRawPointer) -> Result) -> Result {
        var nonce = self.iv
        return withUnsafeMutableBytes(of: &nonce) { bytes in
            var remaining = sequenceNumber
            for index in stride(from: 11, through: 4, by: -1) {
                bytes[index] ^= UInt8(truncatingIfNeeded: remaining)
                remaining >>= 8
            }
            return body(UnsafeRawPointer(bytes.baseAddress!))
        }
    }

    /// Overwrites secret, key and IV with zeros in a way the optimiser keeps (`OPENSSL_cleanse`).
    mutating func wipe() {
        withUnsafeMutableBytes(of: &self.secret) { OPENSSL_cleanse($0.baseAddress, $0.count) }
        withUnsafeMutableBytes(of: &self.key) { OPENSSL_cleanse($0.baseAddress, $0.count) }
        withUnsafeMutableBytes(of: &self.iv) { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }

    /// The secret, for tests that compare derivations.
    func withSecret<Result>(suite: TLS13CipherSuite, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeBytes(of: self.secret) { body(UnsafeRawBufferPointer(rebasing: $0[0..<suite.hashLength])) }
    }

    /// The IV, for tests that compare derivations.
    func withIV<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeBytes(of: self.iv, body)
    }
}

/// HKDF-Expand-Label (RFC 8446 7.1) for the labels the record layer needs.
enum TLS13KeySchedule {
    /// Writes `HKDF-Expand-Label(secret, label, "", output.count)` into `output`.
    ///
    /// Every output the record layer needs (key, IV, next secret) is at most one hash long, so HKDF-Expand
    /// is a single HMAC block: `T(1) = HMAC(secret, HkdfLabel || 0x01)`. Runs at hand-off and on KeyUpdate
    /// only, never per record.
    /// - Returns: false if `output` is longer than one hash or OpenSSL's HMAC failed.
    static func expandLabel(
        suite: TLS13CipherSuite,
        secret: UnsafeRawBufferPointer,
        label: StaticString,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard output.count <= suite.hashLength, label.utf8CodeUnitCount <= 249, let digest = suite.digest else {
            return false
        }
        // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255> = ""; }
        // followed by HKDF-Expand's block counter 0x01.
        var info: [UInt8] = [UInt8(output.count >> 8), UInt8(truncatingIfNeeded: output.count)]
        info.append(UInt8(6 + label.utf8CodeUnitCount))
        info.append(contentsOf: "tls13 ".utf8)
        label.withUTF8Buffer { info.append(contentsOf: $0) }
        info.append(0)
        info.append(1)
        var block = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        defer { block.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        var blockLength: UInt32 = 0
        let produced = block.withUnsafeMutableBufferPointer { block in
            HMAC(digest, secret.baseAddress, Int32(secret.count), info, info.count, block.baseAddress, &blockLength)
        }
        guard produced != nil, Int(blockLength) == suite.hashLength else {
            OpenSSLErrorQueue.clear()
            return false
        }
        block.withUnsafeBytes { output.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<output.count])) }
        return true
    }
}
