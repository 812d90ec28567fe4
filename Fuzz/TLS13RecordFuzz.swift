// libFuzzer target for the user-space TLS 1.3 record layer: `Fuzz/run.sh TLS13RecordFuzz SECONDS`.
//
// The first input byte picks the suite, the second the mode:
// - even: the rest is a byte stream from an attacker who does not know the keys. It is cut into records
//   by their headers, as `TLS13Transport` does, and each is opened. Every record must be refused: one
//   that opens would be a forgery (or a bug that skips authentication).
// - odd: the rest is plaintext sealed by a real writer with the inner content type the third byte names,
//   then opened: application data must come back unchanged and every other type must end in its
//   handling (consumed, close_notify) or a typed error. Then one bit of the record, chosen by the input,
//   is flipped and the record cut short; both must be refused.
// A crash, a trap, a memory error (ASan) or a broken property is a finding.

@testable import TLS13Pure

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("TLS13RecordFuzz: \(message)")
}

/// A writer and a reader for one direction of `suite`, with fixed secrets.
func makePair(_ suite: TLS13CipherSuite) -> (writer: TLS13RecordLayer, reader: TLS13RecordLayer) {
    let forward = [UInt8](repeating: 0x5A, count: suite.hashLength)
    let backward = [UInt8](repeating: 0xA5, count: suite.hashLength)
    let writer = forward.withUnsafeBytes { forward in
        backward.withUnsafeBytes { backward in
            TLS13RecordLayer(suite: suite, readSecret: backward, writeSecret: forward, writeSequenceNumber: 0)
        }
    }
    let reader = forward.withUnsafeBytes { forward in
        backward.withUnsafeBytes { backward in
            TLS13RecordLayer(suite: suite, readSecret: forward, writeSecret: backward, writeSequenceNumber: 0)
        }
    }
    guard let writer, let reader else { fuzzFailure("key derivation failed") }
    return (writer, reader)
}

/// Opens `record` with a copy of `reader`; nil when refused.
func tryOpen(_ reader: TLS13RecordLayer, _ record: [UInt8]) -> (TLS13RecordLayer.Opened, [UInt8])? {
    var reader = reader
    var record = record
    return record.withUnsafeMutableBytes { bytes -> (TLS13RecordLayer.Opened, [UInt8])? in
        guard bytes.count >= TLS13Record.headerLength,
            let length = try? TLS13RecordLayer.recordLength(header: UnsafeRawBufferPointer(bytes)),
            length == bytes.count,
            let opened = try? reader.open(bytes)
        else { return nil }
        if case .applicationData(let count) = opened {
            guard count <= bytes.count - TLS13Record.headerLength - TLS13Record.tagLength - 1 else {
                fuzzFailure("plaintext longer than the record")
            }
            return (opened, Array(bytes[5..<(5 + count)]))
        }
        return (opened, [])
    }
}

/// Cuts `stream` into records by their headers and opens each; none may open.
func attackerStream(_ suite: TLS13CipherSuite, _ stream: UnsafeRawBufferPointer) {
    var reader = makePair(suite).reader
    var bytes = Array(stream)
    bytes.withUnsafeMutableBytes { workspace in
        var offset = 0
        while workspace.count - offset >= TLS13Record.headerLength {
            let header = UnsafeRawBufferPointer(rebasing: workspace[offset..<(offset + TLS13Record.headerLength)])
            guard let length = try? TLS13RecordLayer.recordLength(header: header) else { return }
            guard length <= TLS13Record.maximumRecordLength else { fuzzFailure("record length above the limit") }
            guard workspace.count - offset >= length else { return }
            let record = UnsafeMutableRawBufferPointer(rebasing: workspace[offset..<(offset + length)])
            if (try? reader.open(record)) != nil { fuzzFailure("a record without the key was accepted") }
            // The real transport fails the session at the first refusal; keep going to cover more headers.
            offset += length
        }
    }
}

/// Seals `plaintext` as `contentType`, opens it, then checks that a flipped bit and a cut are refused.
func sealedRoundTrip(_ suite: TLS13CipherSuite, contentType: UInt8, flip: Int, _ plaintext: [UInt8]) {
    var (writer, reader) = makePair(suite)
    var record = [UInt8](repeating: 0, count: plaintext.count + 22)
    let length = record.withUnsafeMutableBytes { output in
        plaintext.withUnsafeBytes { try? writer.seal(contentType: contentType, plaintext: $0, into: output) }
    }
    guard let length, length == record.count else { fuzzFailure("sealing failed") }
    let opened = tryOpen(reader, record)
    // What the reader must make of it: the inner type is the last non-zero byte of plaintext + type.
    let inner = plaintext + [contentType]
    let typeIndex = inner.lastIndex(where: { $0 != 0 })
    switch (opened?.0, typeIndex.map { inner[$0] }) {
    case (.applicationData(let count)?, 23?):
        guard count == typeIndex!, opened!.1 == Array(inner[0..<count]) else { fuzzFailure("data changed") }
    case (.closeNotify?, 21?), (.consumed?, 21?), (.consumed?, 22?):
        break
    case (nil, _):
        // Refused: must be a type or message the layer does not accept; data records never are.
        if let typeIndex, inner[typeIndex] == 23 { fuzzFailure("application data refused") }
    default:
        fuzzFailure("unexpected outcome \(String(describing: opened?.0)) for type \(String(describing: typeIndex))")
    }
    var tampered = record
    let bit = flip % (tampered.count * 8)
    tampered[bit / 8] ^= UInt8(1 << (bit % 8))
    // The header is the AEAD's additional data, so a flipped bit anywhere must be refused.
    if tryOpen(reader, tampered) != nil { fuzzFailure("a tampered record was accepted") }
    var cut = Array(record.dropLast())
    let cutLength = cut.count - TLS13Record.headerLength
    cut[3] = UInt8(cutLength >> 8)
    cut[4] = UInt8(truncatingIfNeeded: cutLength)
    if tryOpen(reader, cut) != nil { fuzzFailure("a shortened record was accepted") }
    writer.wipe()
    reader.wipe()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 3 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let suite = TLS13CipherSuite.allCases[Int(input[0]) % TLS13CipherSuite.allCases.count]
    if input[1] & 1 == 0 {
        attackerStream(suite, UnsafeRawBufferPointer(rebasing: input[2...]))
    } else {
        let plaintext = Array(input[3...].prefix(TLS13Record.maximumPlaintextLength))
        sealedRoundTrip(suite, contentType: input[2], flip: Int(input[1] >> 1) &* 31 &+ size, plaintext)
    }
    return 0
}
