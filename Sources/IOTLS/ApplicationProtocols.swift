internal import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// ALPN protocol lists in wire format: each name preceded by its one-byte length (RFC 7301 §3.1).
enum ApplicationProtocolList {
    /// The longest list we accept from configuration; the ALPN extension itself is limited to 65,535 bytes.
    static let maximumWireLength = 1024

    /// Encodes `names` for `SSL_CTX_set_alpn_protos` and for the server's selection.
    /// - Throws: ``TLSError/invalidConfiguration`` for an empty or over-long name or list.
    static func encode(_ names: [String]) throws(TLSError) -> [UInt8] {
        var wire: [UInt8] = []
        for name in names {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError.invalidConfiguration.with(detail: "ALPN name must be 1 to 255 bytes: \"\(name)\"")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        guard wire.count <= Self.maximumWireLength else {
            throw TLSError.invalidConfiguration.with(detail: "ALPN list longer than \(Self.maximumWireLength) bytes")
        }
        return wire
    }

    /// Picks the first protocol of `serverPreference` that `clientOffer` also lists (server preference).
    ///
    /// `clientOffer` comes from the network: OpenSSL has checked its framing already, but this scan
    /// bounds-checks every length again and gives up on a malformed list rather than trust it.
    /// Allocation-free: it compares bytes in place.
    /// - Returns: the range of the chosen name inside `clientOffer` (without its length byte), or nil
    ///   when there is no overlap or the offer is malformed.
    static func select(
        serverPreference: UnsafeRawBufferPointer,
        clientOffer: UnsafeRawBufferPointer
    ) -> Range<Int>? {
        guard let serverBase = serverPreference.baseAddress, let clientBase = clientOffer.baseAddress else {
            return nil
        }
        var serverIndex = 0
        while serverIndex < serverPreference.count {
            let serverLength = Int(serverPreference[serverIndex])
            let serverStart = serverIndex + 1
            guard serverLength > 0, serverStart + serverLength <= serverPreference.count else { return nil }
            var clientIndex = 0
            while clientIndex < clientOffer.count {
                let clientLength = Int(clientOffer[clientIndex])
                let clientStart = clientIndex + 1
                guard clientLength > 0, clientStart + clientLength <= clientOffer.count else { return nil }
                if clientLength == serverLength
                    && memcmp(serverBase + serverStart, clientBase + clientStart, serverLength) == 0
                {
                    return clientStart..<(clientStart + clientLength)
                }
                clientIndex = clientStart + clientLength
            }
            serverIndex = serverStart + serverLength
        }
        return nil
    }
}

/// The server's ALPN preference list, attached to each `SSL_CTX` it configures.
///
/// The list must live exactly as long as the `SSL_CTX`, which can outlive the ``TLSServerContext``
/// (connections keep a reference to the context they were made from, also across `reload()`). So it is
/// one `malloc` block per `SSL_CTX`, registered as ex_data with a free callback that OpenSSL runs
/// when the last reference to that `SSL_CTX` goes away. Block layout: a `UInt32` byte count, then the
/// wire-format list.
enum ServerApplicationProtocols {
    /// The ex_data slot of every `SSL_CTX` that holds the block; allocated once per process.
    static let exDataIndex: Int32 = COpenSSL_SSL_CTX_get_ex_new_index(freeApplicationProtocolBlock)

    /// Installs `wire` (non-empty) and the selection callback on `context`.
    static func install(_ wire: [UInt8], on context: OpaquePointer) throws(TLSError) {
        precondition(!wire.isEmpty, "an empty ALPN list installs no callback")
        let headerSize = MemoryLayout<UInt32>.size
        guard Self.exDataIndex >= 0, let block = malloc(headerSize + wire.count) else {
            throw TLSError.contextCreationFailed.withErrorQueue("cannot allocate the ALPN list")
        }
        block.storeBytes(of: UInt32(wire.count), as: UInt32.self)
        wire.withUnsafeBytes { bytes in
            (block + headerSize).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        guard SSL_CTX_set_ex_data(context, Self.exDataIndex, block) == 1 else {
            free(block)
            throw TLSError.contextCreationFailed.withErrorQueue("SSL_CTX_set_ex_data failed")
        }
        // From here the SSL_CTX owns the block; the free callback releases it.
        SSL_CTX_set_alpn_select_cb(context, selectApplicationProtocol, block)
    }
}

/// `CRYPTO_EX_free`: `(parent, pointer, ex_data, index, argl, argp)`. OpenSSL calls it while freeing an
/// `SSL_CTX`, with `pointer` the block stored by ``ServerApplicationProtocols/install(_:on:)`` (or NULL).
private func freeApplicationProtocolBlock(
    _ parent: UnsafeMutableRawPointer?,
    _ pointer: UnsafeMutableRawPointer?,
    _ exData: UnsafeMutablePointer<CRYPTO_EX_DATA>?,
    _ index: Int32,
    _ argl: Int,
    _ argp: UnsafeMutableRawPointer?
) {
    free(pointer)
}

/// `SSL_CTX_alpn_select_cb_func`: `(ssl, out, outlen, in, inlen, arg)`. Called by OpenSSL during a
/// handshake when the client sends ALPN; `in`/`inlen` is the client's list in wire format and `arg` the
/// block from ``ServerApplicationProtocols/install(_:on:)``. `out` must point into memory that outlives
/// the call, so it points into the client's list (OpenSSL copies the selection before freeing it).
///
/// Without an overlap it answers NOACK: the handshake goes on without ALPN, which is what HTTP/1.1
/// clients expect, instead of the fatal `no_application_protocol` alert.
private func selectApplicationProtocol(
    _ ssl: OpaquePointer?,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ input: UnsafePointer<UInt8>?,
    _ inputLength: UInt32,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let out, let outLength, let input, let argument else { return SSL_TLSEXT_ERR_NOACK }
    let headerSize = MemoryLayout<UInt32>.size
    let serverLength = Int(argument.load(as: UInt32.self))
    let serverPreference = UnsafeRawBufferPointer(start: argument + headerSize, count: serverLength)
    let clientOffer = UnsafeRawBufferPointer(start: input, count: Int(inputLength))
    guard let chosen = ApplicationProtocolList.select(serverPreference: serverPreference, clientOffer: clientOffer)
    else { return SSL_TLSEXT_ERR_NOACK }
    out.pointee = input + chosen.lowerBound
    outLength.pointee = UInt8(chosen.count)
    return SSL_TLSEXT_ERR_OK
}
