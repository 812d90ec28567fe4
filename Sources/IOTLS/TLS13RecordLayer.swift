internal import COpenSSL

/// Sizes and codes of the TLS 1.3 record protocol (RFC 8446 section 5).
enum TLS13Record {
    /// `ContentType type; ProtocolVersion legacy_record_version; uint16 length`.
    static let headerLength = 5
    /// Every TLS 1.3 AEAD appends a 16-byte tag.
    static let tagLength = 16
    /// The most content one record carries (2^14).
    static let maximumPlaintextLength = 16384
    /// The longest encrypted body a peer may send (2^14 + 256); longer is `record_overflow`.
    static let maximumCiphertextLength = 16384 + 256
    /// A whole record as a peer may send it: header plus the longest body.
    static let maximumRecordLength = headerLength + maximumCiphertextLength
    /// The largest record this side seals: a full plaintext, the inner content type, the tag. No padding.
    static let maximumSealedLength = headerLength + maximumPlaintextLength + 1 + tagLength
    /// A sealed KeyUpdate: 4-byte handshake header, 1-byte body, inner type, tag.
    static let keyUpdateRecordLength = headerLength + 5 + 1 + tagLength
    /// A sealed alert: level, description, inner type, tag.
    static let alertRecordLength = headerLength + 2 + 1 + tagLength
    /// The write side sends a KeyUpdate once this many records used one key, well below AES-GCM's limit of
    /// 2^24.5 full-size records per key (RFC 8446 5.5); ChaCha20-Poly1305's limit is far higher.
    static let writeRecordsPerKey: UInt64 = 1 << 24

    static let contentTypeAlert: UInt8 = 21
    static let contentTypeHandshake: UInt8 = 22
    static let contentTypeApplicationData: UInt8 = 23
    static let handshakeTypeKeyUpdate: UInt8 = 24
}

/// TLS alert descriptions this side sends or treats specially (RFC 8446 section 6).
enum TLS13Alert {
    static let closeNotify: UInt8 = 0
    static let unexpectedMessage: UInt8 = 10
    static let badRecordMAC: UInt8 = 20
    static let recordOverflow: UInt8 = 22
    static let decodeError: UInt8 = 50
    static let internalError: UInt8 = 80
    static let userCanceled: UInt8 = 90
    static let levelWarning: UInt8 = 1
    static let levelFatal: UInt8 = 2
}

/// Why the record layer refused a record or could not protect one. Each case names the alert it
/// answers with; ``peerAlert(_:)`` is answered with none.
enum TLS13RecordError: Error, Equatable, Sendable {
    /// The outer content type is not application_data (TLS 1.3 encrypts everything after the handshake).
    case unexpectedRecordType(UInt8)
    /// The legacy record version is not 0x0303.
    case unexpectedRecordVersion(UInt16)
    /// The record body is longer than 2^14 + 256, or its inner plaintext longer than 2^14 + 1.
    case recordOverflow
    /// The body is too short to hold an inner content type and a tag.
    case recordTooShort
    /// The tag did not authenticate the record.
    case badRecordMAC
    /// The decrypted plaintext is all zeros: no inner content type.
    case missingContentType
    /// The inner content type is not application data, alert or handshake.
    case unexpectedContentType(UInt8)
    /// An alert record that is not exactly two bytes.
    case malformedAlert
    /// The peer sent a fatal alert (or any alert but close_notify and user_canceled).
    case peerAlert(UInt8)
    /// A handshake message other than KeyUpdate after the handshake.
    case unexpectedHandshakeMessage(UInt8)
    /// A KeyUpdate that is malformed, fragmented or shares its record with other messages.
    case malformedKeyUpdate
    /// OpenSSL failed to encrypt or to derive keys.
    case cryptoFailure

    /// The alert to send before closing, nil when the peer's own alert ended the session.
    var alertDescription: UInt8? {
        switch self {
        case .unexpectedRecordType, .unexpectedContentType, .unexpectedHandshakeMessage, .missingContentType:
            TLS13Alert.unexpectedMessage
        case .unexpectedRecordVersion, .recordTooShort, .malformedAlert, .malformedKeyUpdate:
            TLS13Alert.decodeError
        case .recordOverflow: TLS13Alert.recordOverflow
        case .badRecordMAC: TLS13Alert.badRecordMAC
        case .cryptoFailure: TLS13Alert.internalError
        case .peerAlert: nil
        }
    }

    /// For logs and ``IOCore/ConnectionError`` details; never contains record bytes.
    var detail: String {
        switch self {
        case .unexpectedRecordType(let type): "TLS 1.3 record of type \(type)"
        case .unexpectedRecordVersion(let version): "TLS 1.3 record with version 0x\(String(version, radix: 16))"
        case .recordOverflow: "TLS 1.3 record overflow"
        case .recordTooShort: "TLS 1.3 record too short"
        case .badRecordMAC: "TLS 1.3 record failed authentication"
        case .missingContentType: "TLS 1.3 record without inner content type"
        case .unexpectedContentType(let type): "TLS 1.3 inner content type \(type)"
        case .malformedAlert: "malformed TLS alert"
        case .peerAlert(let description): "peer sent TLS alert \(description)"
        case .unexpectedHandshakeMessage(let type): "TLS handshake message \(type) after the handshake"
        case .malformedKeyUpdate: "malformed TLS KeyUpdate"
        case .cryptoFailure: "TLS record crypto failed"
        }
    }
}

/// The record protection of one TLS 1.3 connection after the handshake, run in user space: traffic keys
/// and sequence numbers of both directions, sealing and opening of records, and KeyUpdate (RFC 8446
/// sections 5 and 4.6.3). No system calls, no heap: about 200 bytes inline.
///
/// Opening decrypts in place; a record is accepted only after its tag verified, and its bytes must not be
/// used when ``open(_:)`` throws. After any error the layer must not be used again (the session is over).
struct TLS13RecordLayer {
    /// The negotiated suite: which AEAD and hash.
    let suite: TLS13CipherSuite
    /// The peer's traffic keys.
    private var readKeys: TLS13TrafficKeys
    /// This side's traffic keys.
    private var writeKeys: TLS13TrafficKeys
    /// Records opened under `readKeys`.
    private(set) var readSequenceNumber: UInt64 = 0
    /// Records sealed under `writeKeys`.
    private(set) var writeSequenceNumber: UInt64
    /// Set when the peer asked for a KeyUpdate (`update_requested`); ours must precede our next data record.
    private(set) var peerRequestedKeyUpdate = false

    /// A layer for traffic secrets taken from the handshake; nil if key derivation failed.
    /// - Parameters:
    ///   - suite: the negotiated suite.
    ///   - readSecret: the peer's application traffic secret (a server reads with the client's).
    ///   - writeSecret: this side's application traffic secret.
    ///   - writeSequenceNumber: records already sent under `writeSecret` (a server's session tickets).
    init?(
        suite: TLS13CipherSuite,
        readSecret: UnsafeRawBufferPointer,
        writeSecret: UnsafeRawBufferPointer,
        writeSequenceNumber: UInt64
    ) {
        guard let readKeys = TLS13TrafficKeys(suite: suite, secret: readSecret),
            let writeKeys = TLS13TrafficKeys(suite: suite, secret: writeSecret)
        else { return nil }
        self.suite = suite
        self.readKeys = readKeys
        self.writeKeys = writeKeys
        self.writeSequenceNumber = writeSequenceNumber
    }

    /// Zeros both directions' keys; call before the layer is dropped.
    mutating func wipe() {
        self.readKeys.wipe()
        self.writeKeys.wipe()
    }

    // MARK: Opening

    /// What one opened record held.
    enum Opened: Equatable {
        /// Application data: this many bytes, starting right after the record header.
        case applicationData(Int)
        /// The peer's close_notify: no more data follows.
        case closeNotify
        /// A record consumed by the layer itself (a KeyUpdate, a user_canceled warning).
        case consumed
    }

    /// The total length (header included) of the record starting at `header`, after checking its header.
    /// - Parameter header: at least ``TLS13Record/headerLength`` bytes.
    /// - Throws: when the header is not one a TLS 1.3 peer may send after the handshake.
    static func recordLength(header: UnsafeRawBufferPointer) throws(TLS13RecordError) -> Int {
        precondition(header.count >= TLS13Record.headerLength, "header needs 5 bytes")
        let type = header[0]
        guard type == TLS13Record.contentTypeApplicationData else { throw .unexpectedRecordType(type) }
        let version = UInt16(header[1]) << 8 | UInt16(header[2])
        guard version == 0x0303 else { throw .unexpectedRecordVersion(version) }
        let length = Int(header[3]) << 8 | Int(header[4])
        guard length <= TLS13Record.maximumCiphertextLength else { throw .recordOverflow }
        guard length >= 1 + TLS13Record.tagLength else { throw .recordTooShort }
        return TLS13Record.headerLength + length
    }

    /// Authenticates and decrypts one whole record in place and handles what is not application data.
    ///
    /// On ``Opened/applicationData(_:)`` the plaintext is at `record[5...]`. A KeyUpdate switches the read
    /// keys at once and, if the peer asked for one, sets ``peerRequestedKeyUpdate``.
    /// - Parameter record: exactly one record, header included, as ``recordLength(header:)`` measured it.
    mutating func open(_ record: UnsafeMutableRawBufferPointer) throws(TLS13RecordError) -> Opened {
        let length = try Self.recordLength(header: UnsafeRawBufferPointer(record))
        precondition(record.count == length, "open takes exactly one record")
        let bodyLength = length - TLS13Record.headerLength - TLS13Record.tagLength
        let base = record.baseAddress!
        let body = UnsafeMutableRawBufferPointer(start: base + TLS13Record.headerLength, count: bodyLength)
        let authentic = TLS13AEAD.run(
            encrypting: false, suite: self.suite, keys: self.readKeys, sequenceNumber: self.readSequenceNumber,
            header: UnsafeRawPointer(base), body: body, tag: base + TLS13Record.headerLength + bodyLength
        )
        guard authentic else { throw .badRecordMAC }
        self.readSequenceNumber &+= 1
        // TLSInnerPlaintext: content, then the content type, then zero padding. The type is the last
        // non-zero byte.
        var typeIndex = bodyLength - 1
        while typeIndex >= 0 && body[typeIndex] == 0 { typeIndex -= 1 }
        guard typeIndex >= 0 else { throw .missingContentType }
        guard bodyLength <= TLS13Record.maximumPlaintextLength + 1 else { throw .recordOverflow }
        let contentLength = typeIndex
        switch body[typeIndex] {
        case TLS13Record.contentTypeApplicationData:
            return .applicationData(contentLength)
        case TLS13Record.contentTypeAlert:
            guard contentLength == 2 else { throw .malformedAlert }
            switch body[1] {
            case TLS13Alert.closeNotify: return .closeNotify
            // A warning that precedes close_notify (RFC 8446 6.1); nothing to do until that arrives.
            case TLS13Alert.userCanceled: return .consumed
            case let description: throw .peerAlert(description)
            }
        case TLS13Record.contentTypeHandshake:
            guard contentLength >= 1, body[0] == TLS13Record.handshakeTypeKeyUpdate else {
                throw .unexpectedHandshakeMessage(contentLength >= 1 ? body[0] : 0)
            }
            // Exactly one KeyUpdate, alone in its record: a key change must end a record (RFC 8446 5.1),
            // and nothing else may come before it on a server after the handshake.
            guard contentLength == 5, body[1] == 0, body[2] == 0, body[3] == 1, body[4] <= 1 else {
                throw .malformedKeyUpdate
            }
            guard let next = self.readKeys.next(suite: self.suite) else { throw .cryptoFailure }
            self.readKeys.wipe()
            self.readKeys = next
            self.readSequenceNumber = 0
            if body[4] == 1 { self.peerRequestedKeyUpdate = true }
            return .consumed
        case let other:
            throw .unexpectedContentType(other)
        }
    }

    // MARK: Sealing

    /// Whether a KeyUpdate must be sealed before the next data record: the peer asked for one, or this
    /// key has protected ``TLS13Record/writeRecordsPerKey`` records.
    var needsKeyUpdate: Bool {
        self.peerRequestedKeyUpdate || self.writeSequenceNumber >= TLS13Record.writeRecordsPerKey
    }

    /// Seals one record of `contentType` holding `plaintext` (at most 2^14 bytes) into `output`.
    /// - Parameter output: at least `plaintext.count + 22` bytes; must not overlap `plaintext`.
    /// - Returns: the record's length.
    mutating func seal(
        contentType: UInt8,
        plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(TLS13RecordError) -> Int {
        precondition(plaintext.count <= TLS13Record.maximumPlaintextLength, "one record holds at most 16 KiB")
        let bodyLength = plaintext.count + 1
        let length = TLS13Record.headerLength + bodyLength + TLS13Record.tagLength
        precondition(output.count >= length, "output too small for the record")
        let base = output.baseAddress!
        let encryptedLength = bodyLength + TLS13Record.tagLength
        base.storeBytes(of: TLS13Record.contentTypeApplicationData, toByteOffset: 0, as: UInt8.self)
        base.storeBytes(of: 0x03, toByteOffset: 1, as: UInt8.self)
        base.storeBytes(of: 0x03, toByteOffset: 2, as: UInt8.self)
        base.storeBytes(of: UInt8(encryptedLength >> 8), toByteOffset: 3, as: UInt8.self)
        base.storeBytes(of: UInt8(truncatingIfNeeded: encryptedLength), toByteOffset: 4, as: UInt8.self)
        let body = UnsafeMutableRawBufferPointer(start: base + TLS13Record.headerLength, count: bodyLength)
        if let source = plaintext.baseAddress, !plaintext.isEmpty {
            body.baseAddress!.copyMemory(from: source, byteCount: plaintext.count)
        }
        body[plaintext.count] = contentType
        let sealed = TLS13AEAD.run(
            encrypting: true, suite: self.suite, keys: self.writeKeys, sequenceNumber: self.writeSequenceNumber,
            header: UnsafeRawPointer(base), body: body, tag: base + TLS13Record.headerLength + bodyLength
        )
        guard sealed else { throw .cryptoFailure }
        self.writeSequenceNumber &+= 1
        return length
    }

    /// Takes back the last sealed record, which was never handed to the kernel, so its sequence number
    /// is used again. Safe because no byte of that record left this process, so no nonce is reused in
    /// anything the peer or an observer can see.
    mutating func unsealLastRecord() {
        precondition(self.writeSequenceNumber > 0, "no record to take back")
        self.writeSequenceNumber -= 1
    }

    /// Seals a KeyUpdate (`update_not_requested`) into `output` and switches the write keys after it.
    /// Clears ``peerRequestedKeyUpdate``: this answers the peer's request (RFC 8446 4.6.3).
    /// - Returns: the record's length, ``TLS13Record/keyUpdateRecordLength``.
    mutating func sealKeyUpdate(into output: UnsafeMutableRawBufferPointer) throws(TLS13RecordError) -> Int {
        let message: (UInt8, UInt8, UInt8, UInt8, UInt8) = (TLS13Record.handshakeTypeKeyUpdate, 0, 0, 1, 0)
        let length = try withUnsafeBytes(of: message) { bytes throws(TLS13RecordError) in
            try self.seal(contentType: TLS13Record.contentTypeHandshake, plaintext: bytes, into: output)
        }
        guard let next = self.writeKeys.next(suite: self.suite) else { throw .cryptoFailure }
        self.writeKeys.wipe()
        self.writeKeys = next
        self.writeSequenceNumber = 0
        self.peerRequestedKeyUpdate = false
        return length
    }

    /// Seals an alert (`level`, `description`) into `output`, at least ``TLS13Record/alertRecordLength`` bytes.
    mutating func sealAlert(
        level: UInt8,
        description: UInt8,
        into output: UnsafeMutableRawBufferPointer
    ) throws(TLS13RecordError) -> Int {
        let alert: (UInt8, UInt8) = (level, description)
        return try withUnsafeBytes(of: alert) { bytes throws(TLS13RecordError) in
            try self.seal(contentType: TLS13Record.contentTypeAlert, plaintext: bytes, into: output)
        }
    }

    // MARK: Tests

    /// The current keys of one direction, for tests.
    func keys(reading: Bool) -> TLS13TrafficKeys {
        reading ? self.readKeys : self.writeKeys
    }
}
