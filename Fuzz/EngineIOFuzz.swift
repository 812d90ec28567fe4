// libFuzzer target for the Engine.IO codec: `Fuzz/run.sh EngineIOFuzz SECONDS`.
//
// Every input is used three ways:
// 1. As a polling payload. `decode` (all or nothing) and `decodeUntilError` (the reference's prefix
//    semantics) must agree; a payload that decodes must encode back to bytes that decode to the same
//    packets.
// 2. As one WebSocket text message: the zero-copy and the copying decoders must agree, and a decoded
//    packet must survive encodeForWebSocket/decode and encodeForPolling/decode.
// 3. As an HTTP request for the verifier: fields cut out of the input at 0x00 bytes. The result must
//    be a route or an error with a code in 0...5 whose JSON body is well formed.
// Any disagreement, a broken invariant, or a memory error (ASan) is a finding.

import EngineIOCore
import IOCore

/// Stops the fuzzer with a message; libFuzzer records the input as a crash.
func fuzzFailure(_ message: String) -> Never {
    fatalError("EngineIOFuzz: \(message)")
}

/// Checks the payload decoders against each other and the encoder.
func fuzzPayload(_ bytes: UnsafeRawBufferPointer) {
    let maxPackets = 64
    let partial = EngineIOPayload.decodeUntilError(bytes, maxPackets: maxPackets)
    let whole: [EngineIOPacket]
    do {
        whole = try EngineIOPayload.decode(bytes, maxPackets: maxPackets)
    } catch {
        guard let partialError = partial.error else {
            fuzzFailure("decode threw but decodeUntilError did not")
        }
        // `decode` checks the packet count first, so it may report the limit where the prefix
        // decoder met an invalid packet before reaching it.
        if partialError != error && error != .tooManyPackets {
            fuzzFailure("decode and decodeUntilError report different errors")
        }
        if partial.packets.count > maxPackets {
            fuzzFailure("decodeUntilError returned more packets than its limit")
        }
        return
    }
    if partial.error != nil || partial.packets != whole {
        fuzzFailure("decode succeeded but decodeUntilError disagrees")
    }
    if whole.count != EngineIOPayload.packetCount(bytes) {
        fuzzFailure("packet count differs from the separator count")
    }
    var encoded = ByteBuffer()
    EngineIOPayload.encode(packets: whole, into: &encoded)
    guard let again = try? EngineIOPayload.decode(encoded, maxPackets: maxPackets), again == whole else {
        fuzzFailure("a decoded payload does not survive encode/decode")
    }
}

/// Checks one text packet through both decoders and both encodings.
func fuzzPacket(_ bytes: UnsafeRawBufferPointer) {
    let message = ByteBuffer(bytes: bytes)
    let copying = Result { () throws(EngineIODecodeError) in try EngineIOPacket.decode(text: bytes) }
    let zeroCopy = Result { () throws(EngineIODecodeError) in try EngineIOPacket.decode(webSocketText: message) }
    guard copying == zeroCopy else {
        fuzzFailure("decode(text:) and decode(webSocketText:) disagree")
    }
    guard case .success(let packet) = copying else {
        return
    }
    var frame = ByteBuffer()
    let kind = packet.encodeForWebSocket(into: &frame)
    let fromFrame: EngineIOPacket?
    switch kind {
    case .text: fromFrame = try? EngineIOPacket.decode(webSocketText: frame)
    case .binary: fromFrame = EngineIOPacket.decode(webSocketBinary: frame)
    }
    if fromFrame != packet {
        fuzzFailure("a packet does not survive the WebSocket encoding")
    }
    var polling = ByteBuffer()
    packet.encodeForPolling(into: &polling)
    let fromPolling = polling.withUnsafeReadableBytes { try? EngineIOPacket.decode(text: $0) }
    if fromPolling != packet {
        fuzzFailure("a packet does not survive the polling encoding")
    }
}

/// Runs the request verifier on fields cut from the input.
func fuzzRequest(_ bytes: UnsafeRawBufferPointer) {
    guard let flags = bytes.first else {
        return
    }
    let fields = bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
    }
    func field(_ index: Int) -> String? {
        index < fields.count && flags & (1 << UInt8(index)) != 0 ? fields[index] : nil
    }
    let methods = ["GET", "POST", "PUT", "OPTIONS"]
    let query = EngineIOQuery(eio: field(0), transport: field(1), sid: field(2))
    let knownTransport: EngineIOTransportKind? =
        flags & 0x20 != 0 ? nil : (flags & 0x40 != 0 ? .websocket : .polling)
    let result = EngineIORequestVerifier.verify(
        method: methods[Int(flags >> 6)],
        query: query,
        isWebSocketUpgrade: flags & 0x10 != 0,
        origin: field(3),
        sessionTransport: { _ in knownTransport },
        allowRequest: { flags & 0x08 != 0 ? .refuse(message: field(4)) : .allow }
    )
    switch result {
    case .success(.handshake):
        if query.eio != "4" {
            fuzzFailure("a handshake passed without EIO=4")
        }
    case .success:
        break
    case .failure(let error):
        guard (0...5).contains(error.code), error.httpStatus == (error.code == 4 ? 403 : 400) else {
            fuzzFailure("error code or status out of range")
        }
        let body = error.jsonBody.withUnsafeReadableBytes { Array($0) }
        guard body.starts(with: Array("{\"code\":\(error.code),\"message\":\"".utf8)), body.last == UInt8(ascii: "}")
        else {
            fuzzFailure("malformed JSON error body")
        }
        // Inside the message string every control character must be escaped.
        if body.contains(where: { $0 < 0x20 }) {
            fuzzFailure("unescaped control character in the JSON error body")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    fuzzPayload(bytes)
    fuzzPacket(bytes)
    fuzzRequest(bytes)
    return 0
}
