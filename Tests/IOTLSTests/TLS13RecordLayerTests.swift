import IOCore
import Testing

@testable import IOTLS

/// The user-space TLS 1.3 record layer without sockets: key derivation against RFC 8448 and an
/// independent HMAC (Python's), sealing and opening, and every way a record can be refused.
@Suite struct TLS13RecordLayerTests {
    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            result.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
        }
        return result
    }

    static func keyMaterial(_ keys: TLS13TrafficKeys, suite: TLS13CipherSuite) -> (key: [UInt8], iv: [UInt8]) {
        (keys.withKey(suite: suite) { Array($0) }, keys.withIV { Array($0) })
    }

    /// A writer and a reader sharing one traffic secret, as the two ends of one direction.
    static func pair(
        _ suite: TLS13CipherSuite,
        writeSequenceNumber: UInt64 = 0
    ) -> (writer: TLS13RecordLayer, reader: TLS13RecordLayer) {
        let forward = [UInt8](repeating: 0x11, count: suite.hashLength)
        let backward = [UInt8](repeating: 0x22, count: suite.hashLength)
        let writer = forward.withUnsafeBytes { forward in
            backward.withUnsafeBytes { backward in
                TLS13RecordLayer(
                    suite: suite, readSecret: backward, writeSecret: forward, writeSequenceNumber: writeSequenceNumber
                )!
            }
        }
        let reader = forward.withUnsafeBytes { forward in
            backward.withUnsafeBytes { backward in
                TLS13RecordLayer(suite: suite, readSecret: forward, writeSecret: backward, writeSequenceNumber: 0)!
            }
        }
        return (writer, reader)
    }

    /// Seals `plaintext` with inner type `contentType` and returns the record.
    static func seal(_ layer: inout TLS13RecordLayer, contentType: UInt8 = 23, _ plaintext: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + 22)
        let length = output.withUnsafeMutableBytes { output in
            plaintext.withUnsafeBytes { try! layer.seal(contentType: contentType, plaintext: $0, into: output) }
        }
        return Array(output[0..<length])
    }

    /// Opens `record` and returns the outcome and the plaintext of application data.
    static func open(
        _ layer: inout TLS13RecordLayer,
        _ record: [UInt8]
    ) -> Result<(TLS13RecordLayer.Opened, [UInt8]), TLS13RecordError> {
        var record = record
        return record.withUnsafeMutableBytes { bytes in
            do throws(TLS13RecordError) {
                let opened = try layer.open(bytes)
                if case .applicationData(let count) = opened {
                    return .success((opened, Array(bytes[5..<(5 + count)])))
                }
                return .success((opened, []))
            } catch {
                return .failure(error)
            }
        }
    }

    static func openError(_ layer: inout TLS13RecordLayer, _ record: [UInt8]) -> TLS13RecordError? {
        if case .failure(let error) = Self.open(&layer, record) { return error }
        return nil
    }

    // MARK: Key schedule

    @Test func trafficKeys_forRFC8448ServerApplicationSecret_matchTheRFC() {
        // RFC 8448 section 3, "{server} derive write traffic keys for application data".
        let secret = Self.bytes(hex: "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
        let keys = secret.withUnsafeBytes { TLS13TrafficKeys(suite: .aes128GCMSHA256, secret: $0) }!
        let (key, iv) = Self.keyMaterial(keys, suite: .aes128GCMSHA256)
        #expect(key == Self.bytes(hex: "9f02283b6c9c07efc26bb9f2ac92e356"))
        #expect(iv == Self.bytes(hex: "cf782b88dd83549aadf1e984"))
    }

    @Test func trafficUpdate_derivesTheNextSecretAndItsKeys_asAnIndependentHMACDoes() {
        // Expected values from Python's hmac module (HKDF-Expand-Label written out by hand).
        let secret = Self.bytes(hex: "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
        let keys = secret.withUnsafeBytes { TLS13TrafficKeys(suite: .aes128GCMSHA256, secret: $0) }!
        let next = keys.next(suite: .aes128GCMSHA256)!
        #expect(
            next.withSecret(suite: .aes128GCMSHA256) { Array($0) }
                == Self.bytes(hex: "51921b8aa3001976eb401d0a4319a8516416a6c56001a357e5d162031e84f916")
        )
        let (key, iv) = Self.keyMaterial(next, suite: .aes128GCMSHA256)
        #expect(key == Self.bytes(hex: "2e63be99d67b39097feb9786cf7a15a0"))
        #expect(iv == Self.bytes(hex: "628a0a8298ac953baef4255a"))
    }

    @Test func trafficKeys_forSHA384Suite_useSHA384AndA32ByteKey() {
        let secret = (0..<48).map { UInt8($0) }
        let keys = secret.withUnsafeBytes { TLS13TrafficKeys(suite: .aes256GCMSHA384, secret: $0) }!
        let (key, iv) = Self.keyMaterial(keys, suite: .aes256GCMSHA384)
        #expect(key == Self.bytes(hex: "6877d022f1c61d24ebb7487c16752d9a4798e40431c75b39320e537c90e23225"))
        #expect(iv == Self.bytes(hex: "42822531a0fe88648fc09e9f"))
    }

    @Test func trafficKeys_whenSecretLengthDoesNotMatchTheSuite_areRefused() {
        let secret = [UInt8](repeating: 1, count: 48)
        #expect(secret.withUnsafeBytes { TLS13TrafficKeys(suite: .chacha20Poly1305SHA256, secret: $0) } == nil)
    }

    @Test func nonce_isTheIVXoredWithTheBigEndianSequenceNumber() {
        let secret = Self.bytes(hex: "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
        let keys = secret.withUnsafeBytes { TLS13TrafficKeys(suite: .aes128GCMSHA256, secret: $0) }!
        let nonce = keys.withNonce(sequenceNumber: 0x0102_0304_0506_0708) { Array(UnsafeRawBufferPointer(start: $0, count: 12)) }
        let iv = keys.withIV { Array($0) }
        var expected = iv
        for (index, byte) in [UInt8(1), 2, 3, 4, 5, 6, 7, 8].enumerated() { expected[4 + index] ^= byte }
        #expect(nonce == expected)
    }

    // MARK: Round trips

    @Test(arguments: TLS13CipherSuite.allCases)
    func sealThenOpen_returnsThePlaintext_forEverySizeUpTo16KiB(suite: TLS13CipherSuite) {
        var (writer, reader) = Self.pair(suite)
        var reader2 = reader
        for size in [0, 1, 2, 100, 1000, 16383, 16384] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let record = Self.seal(&writer, plaintext)
            #expect(record.count == size + 22)
            #expect(Array(record[0..<3]) == [23, 3, 3])
            guard case .success(let (opened, received)) = Self.open(&reader2, record) else {
                Issue.record("open failed for \(suite) size \(size)")
                return
            }
            #expect(opened == .applicationData(size))
            #expect(received == plaintext)
        }
        // Sequence numbers matter: the first reader, still at 0, cannot open record number 7.
        #expect(Self.openError(&reader, Self.seal(&writer, [9])) == .badRecordMAC)
    }

    @Test func open_whenRecordIsReplayed_failsAuthentication() {
        var (writer, reader) = Self.pair(.chacha20Poly1305SHA256)
        let record = Self.seal(&writer, Array("once".utf8))
        #expect((try? Self.open(&reader, record).get().1) == Array("once".utf8))
        #expect(Self.openError(&reader, record) == .badRecordMAC)
    }

    @Test func open_whenPlaintextIsPadded_stripsThePadding() {
        var (writer, reader) = Self.pair(.aes128GCMSHA256)
        // Inner plaintext "hi", type 23, then three zero bytes of padding.
        let record = Self.seal(&writer, contentType: 0, Array("hi".utf8) + [23, 0, 0])
        guard case .success(let (opened, received)) = Self.open(&reader, record) else {
            Issue.record("open failed")
            return
        }
        #expect(opened == .applicationData(2))
        #expect(received == Array("hi".utf8))
    }

    // MARK: Malformed records

    @Test(arguments: TLS13CipherSuite.allCases)
    func open_whenAnyCiphertextOrTagByteIsFlipped_failsWithBadRecordMAC(suite: TLS13CipherSuite) {
        var (writer, reader) = Self.pair(suite)
        let record = Self.seal(&writer, Array("attack at dawn".utf8))
        for index in 5..<record.count {
            var copy = reader
            var tampered = record
            tampered[index] ^= 0x01
            #expect(Self.openError(&copy, tampered) == .badRecordMAC, "byte \(index)")
        }
    }

    @Test func open_whenHeaderIsAltered_refusesTheRecord() {
        var (writer, reader) = Self.pair(.aes128GCMSHA256)
        let record = Self.seal(&writer, Array("header".utf8))
        var wrongType = record
        wrongType[0] = 22
        #expect(Self.openError(&reader, wrongType) == .unexpectedRecordType(22))
        var wrongVersion = record
        wrongVersion[2] = 4
        #expect(Self.openError(&reader, wrongVersion) == .unexpectedRecordVersion(0x0304))
        // The header is additional data: a legacy version 0x0301 is refused before decryption anyway,
        // and any other change of it would fail the tag.
        var oldVersion = record
        oldVersion[2] = 1
        #expect(Self.openError(&reader, oldVersion) == .unexpectedRecordVersion(0x0301))
    }

    @Test func recordLength_checksTypeVersionAndBounds() throws {
        func length(_ header: [UInt8]) -> Result<Int, TLS13RecordError> {
            header.withUnsafeBytes { header in
                do throws(TLS13RecordError) { return .success(try TLS13RecordLayer.recordLength(header: header)) } catch {
                    return .failure(error)
                }
            }
        }
        #expect(try length([23, 3, 3, 0, 17]).get() == 22)
        #expect(try length([23, 3, 3, 0x41, 0x00]).get() == 5 + 16640)
        #expect(length([23, 3, 3, 0x41, 0x01]) == .failure(.recordOverflow))
        #expect(length([23, 3, 3, 0xFF, 0xFF]) == .failure(.recordOverflow))
        #expect(length([23, 3, 3, 0, 16]) == .failure(.recordTooShort))
        #expect(length([23, 3, 3, 0, 0]) == .failure(.recordTooShort))
        #expect(length([21, 3, 3, 0, 2]) == .failure(.unexpectedRecordType(21)))
        #expect(length([20, 3, 3, 0, 1]) == .failure(.unexpectedRecordType(20)))
        #expect(length([23, 3, 1, 0, 20]) == .failure(.unexpectedRecordVersion(0x0301)))
    }

    @Test func open_whenInnerPlaintextIsAllZeros_failsWithMissingContentType() {
        var (writer, reader) = Self.pair(.chacha20Poly1305SHA256)
        #expect(Self.openError(&reader, Self.seal(&writer, contentType: 0, [0, 0, 0])) == .missingContentType)
        var (writer2, reader2) = Self.pair(.chacha20Poly1305SHA256)
        #expect(Self.openError(&reader2, Self.seal(&writer2, contentType: 0, [])) == .missingContentType)
    }

    @Test func open_whenInnerTypeIsUnknownOrChangeCipherSpec_failsWithUnexpectedContentType() {
        for type: UInt8 in [20, 24, 255] {
            var (writer, reader) = Self.pair(.aes256GCMSHA384)
            #expect(Self.openError(&reader, Self.seal(&writer, contentType: type, [1])) == .unexpectedContentType(type))
        }
    }

    @Test func open_alerts_closeNotifyEndsUserCanceledIsConsumedOthersFail() {
        var (writer, reader) = Self.pair(.aes128GCMSHA256)
        #expect((try? Self.open(&reader, Self.seal(&writer, contentType: 21, [1, 90])).get().0) == .consumed)
        #expect((try? Self.open(&reader, Self.seal(&writer, contentType: 21, [1, 0])).get().0) == .closeNotify)
        #expect(Self.openError(&reader, Self.seal(&writer, contentType: 21, [2, 40])) == .peerAlert(40))
        var (writer2, reader2) = Self.pair(.aes128GCMSHA256)
        #expect(Self.openError(&reader2, Self.seal(&writer2, contentType: 21, [1])) == .malformedAlert)
        var (writer3, reader3) = Self.pair(.aes128GCMSHA256)
        #expect(Self.openError(&reader3, Self.seal(&writer3, contentType: 21, [1, 0, 0])) == .malformedAlert)
        #expect(TLS13RecordError.peerAlert(40).alertDescription == nil, "an alert is never answered with one")
    }

    @Test func open_handshakeMessagesOtherThanAWellFormedKeyUpdate_fail() {
        let cases: [([UInt8], TLS13RecordError)] = [
            ([4, 0, 0, 1, 0], .unexpectedHandshakeMessage(4)),  // NewSessionTicket from a client
            ([11, 0, 0, 0], .unexpectedHandshakeMessage(11)),  // Certificate nobody asked for
            ([24, 0, 0, 1, 2], .malformedKeyUpdate),  // request_update out of range
            ([24, 0, 0, 2, 0, 0], .malformedKeyUpdate),  // wrong length
            ([24, 0, 0, 1], .malformedKeyUpdate),  // fragmented
            ([24, 0, 0, 1, 0, 24, 0, 0, 1, 0], .malformedKeyUpdate),  // two in one record
        ]
        for (message, expected) in cases {
            var (writer, reader) = Self.pair(.aes128GCMSHA256)
            #expect(Self.openError(&reader, Self.seal(&writer, contentType: 22, message)) == expected, "\(message)")
        }
    }

    // MARK: KeyUpdate

    @Test(arguments: TLS13CipherSuite.allCases)
    func keyUpdate_sealedByOneSide_switchesTheOtherSidesReadKey(suite: TLS13CipherSuite) {
        var (writer, reader) = Self.pair(suite, writeSequenceNumber: 0)
        _ = Self.open(&reader, Self.seal(&writer, [1, 2, 3]))
        var output = [UInt8](repeating: 0, count: TLS13Record.keyUpdateRecordLength)
        let length = output.withUnsafeMutableBytes { try! writer.sealKeyUpdate(into: $0) }
        #expect(length == TLS13Record.keyUpdateRecordLength)
        #expect(writer.writeSequenceNumber == 0)
        #expect((try? Self.open(&reader, output).get().0) == .consumed)
        #expect(reader.readSequenceNumber == 0)
        #expect(!reader.peerRequestedKeyUpdate)
        let after = Self.seal(&writer, Array("new key".utf8))
        #expect((try? Self.open(&reader, after).get().1) == Array("new key".utf8))
    }

    @Test func keyUpdate_whenPeerRequestsOne_isOwedUntilOursIsSealed() {
        var (writer, reader) = Self.pair(.chacha20Poly1305SHA256)
        let before = reader.keys(reading: true).withSecret(suite: .chacha20Poly1305SHA256) { Array($0) }
        #expect((try? Self.open(&reader, Self.seal(&writer, contentType: 22, [24, 0, 0, 1, 1])).get().0) == .consumed)
        let after = reader.keys(reading: true).withSecret(suite: .chacha20Poly1305SHA256) { Array($0) }
        #expect(before != after)
        #expect(reader.peerRequestedKeyUpdate && reader.needsKeyUpdate)
        var output = [UInt8](repeating: 0, count: TLS13Record.keyUpdateRecordLength)
        _ = output.withUnsafeMutableBytes { try! reader.sealKeyUpdate(into: $0) }
        #expect(!reader.peerRequestedKeyUpdate && !reader.needsKeyUpdate)
        // What we sealed says update_not_requested, so the peer owes nothing back.
        var peer = Self.pair(.chacha20Poly1305SHA256).writer
        #expect((try? Self.open(&peer, output).get().0) == .consumed)
        #expect(!peer.peerRequestedKeyUpdate)
    }

    @Test func keyUpdate_isDueWhenTheWriteKeyProtected2To24Records() {
        let (writer, _) = Self.pair(.aes128GCMSHA256, writeSequenceNumber: (1 << 24) - 1)
        #expect(!writer.needsKeyUpdate)
        var advanced = writer
        _ = Self.seal(&advanced, [1])
        #expect(advanced.needsKeyUpdate)
    }

    @Test func unsealLastRecord_reusesTheSequenceNumberOfARecordThatWasNeverSent() {
        var (writer, reader) = Self.pair(.aes128GCMSHA256)
        _ = Self.seal(&writer, Array("dropped".utf8))
        writer.unsealLastRecord()
        let record = Self.seal(&writer, Array("kept".utf8))
        #expect((try? Self.open(&reader, record).get().1) == Array("kept".utf8))
    }
}
