internal import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// Per-thread resources of the user-space TLS 1.3 record layer: one OpenSSL cipher context per AEAD,
/// re-keyed for every record, and the scratch buffers records are sealed into or read through.
///
/// Why per thread rather than per connection: an OpenSSL 3.0 cipher context costs 850 to 960 bytes, two
/// per connection would be most of what the hand-off saves. Re-keying per record costs a key setup
/// (AES key expansion, negligible for ChaCha20) instead. Every connection is confined to one loop thread,
/// and a context is only used within one call, so a thread's contexts are never used concurrently.
/// Allocated on a thread's first TLS 1.3 record, freed when the thread exits.
final class TLS13ThreadResources {
    /// Cipher contexts by suite, created on first use. Only the owning thread reads or writes them.
    private var contexts: [OpaquePointer?] = [nil, nil, nil]
    /// Where outgoing records are sealed before `send`: one KeyUpdate plus one full data record.
    let sendScratch = UnsafeMutableRawBufferPointer.allocate(
        byteCount: TLS13Record.keyUpdateRecordLength + TLS13Record.maximumSealedLength,
        alignment: 16
    )
    /// Where records are received and opened when the caller's buffer is smaller than one record.
    let receiveScratch = UnsafeMutableRawBufferPointer.allocate(
        byteCount: TLS13Record.maximumRecordLength,
        alignment: 16
    )

    private init() {}

    deinit {
        for context in self.contexts {
            EVP_CIPHER_CTX_free(context)
        }
        self.sendScratch.deallocate()
        self.receiveScratch.deallocate()
    }

    /// The key under which each thread's instance is stored; its destructor releases the instance.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<TLS13ThreadResources>.fromOpaque(pointer).release()
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    /// The calling thread's instance, created on first use.
    static var current: TLS13ThreadResources {
        if let existing = pthread_getspecific(Self.key) {
            return Unmanaged<TLS13ThreadResources>.fromOpaque(existing).takeUnretainedValue()
        }
        let resources = TLS13ThreadResources()
        pthread_setspecific(Self.key, Unmanaged.passRetained(resources).toOpaque())
        return resources
    }

    /// The cipher context for `suite`, initialised with its cipher but no key; nil if OpenSSL failed.
    func context(for suite: TLS13CipherSuite) -> OpaquePointer? {
        let index = Int(suite.rawValue - TLS13CipherSuite.aes128GCMSHA256.rawValue)
        if let context = self.contexts[index] { return context }
        guard let context = EVP_CIPHER_CTX_new() else { return nil }
        let cipher: OpaquePointer? =
            switch suite {
            case .aes128GCMSHA256: EVP_aes_128_gcm()
            case .aes256GCMSHA384: EVP_aes_256_gcm()
            case .chacha20Poly1305SHA256: EVP_chacha20_poly1305()
            }
        guard EVP_CipherInit_ex(context, cipher, nil, nil, nil, 1) == 1 else {
            EVP_CIPHER_CTX_free(context)
            OpenSSLErrorQueue.clear()
            return nil
        }
        self.contexts[index] = context
        return context
    }
}

/// The AEAD operation of the record layer over OpenSSL's EVP interface (RFC 8446 5.2): the 5-byte record
/// header is the additional data, the nonce is 12 bytes and the tag 16.
enum TLS13AEAD {
    /// One AEAD pass over `body` in place under `keys` and the nonce for `sequenceNumber`, with `header`
    /// as additional data.
    ///
    /// Encrypting (sealing), the 16-byte tag is written to `tag` at the end. Decrypting (opening), `tag`
    /// is set before the data and `EVP_CipherFinal_ex` fails unless it authenticates `body` and `header`;
    /// the plaintext is written into `body` before that check, so on false the caller must treat every
    /// byte of `body` as garbage and never pass it on.
    /// - Returns: false if the record is not authentic or OpenSSL failed (sealed output must then not be sent).
    static func run(
        encrypting: Bool,
        suite: TLS13CipherSuite,
        keys: TLS13TrafficKeys,
        sequenceNumber: UInt64,
        header: UnsafeRawPointer,
        body: UnsafeMutableRawBufferPointer,
        tag: UnsafeMutableRawPointer
    ) -> Bool {
        guard let context = TLS13ThreadResources.current.context(for: suite) else { return false }
        return keys.withKey(suite: suite) { key in
            keys.withNonce(sequenceNumber: sequenceNumber) { nonce in
                var outputLength: Int32 = 0
                let body8 = body.baseAddress?.assumingMemoryBound(to: UInt8.self)
                let tagLength = Int32(TLS13Record.tagLength)
                let succeeded =
                    EVP_CipherInit_ex(context, nil, nil, Self.bytes(key.baseAddress), Self.bytes(nonce), encrypting ? 1 : 0) == 1
                    && (encrypting || EVP_CIPHER_CTX_ctrl(context, COpenSSL_EVP_CTRL_AEAD_SET_TAG, tagLength, tag) == 1)
                    && EVP_CipherUpdate(context, nil, &outputLength, Self.bytes(header), Int32(TLS13Record.headerLength)) == 1
                    && (body.isEmpty
                        || (EVP_CipherUpdate(context, body8, &outputLength, body8, Int32(body.count)) == 1
                            && Int(outputLength) == body.count))
                    && EVP_CipherFinal_ex(context, body8, &outputLength) == 1
                    && (!encrypting || EVP_CIPHER_CTX_ctrl(context, COpenSSL_EVP_CTRL_AEAD_GET_TAG, tagLength, tag) == 1)
                if !succeeded { OpenSSLErrorQueue.clear() }
                return succeeded
            }
        }
    }

    @inline(__always)
    private static func bytes(_ pointer: UnsafeRawPointer?) -> UnsafePointer<UInt8>? {
        pointer?.assumingMemoryBound(to: UInt8.self)
    }
}
