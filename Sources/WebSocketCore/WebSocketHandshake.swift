import IOCore

/// The WebSocket parts of the HTTP upgrade (RFC 6455 section 4): checking the client's
/// `Sec-WebSocket-Key` and computing the server's `Sec-WebSocket-Accept`.
public enum WebSocketHandshake {
    /// The fixed GUID that RFC 6455 appends to the key before hashing.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`: the base64 of the SHA-1 of
    /// the key followed by ``guid``.
    ///
    /// - Parameter key: The `Sec-WebSocket-Key` header value, exactly as received (after the HTTP
    ///   parser trimmed surrounding whitespace).
    public static func acceptValue(forKey key: String) -> String {
        var hasher = SHA1()
        var key = key
        key.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        var guid = Self.guid
        guid.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
        return hasher.finalize().withUnsafeBytes { Base64.encode($0) }
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: canonical base64 that decodes to exactly 16 bytes.
    public static func isValidKey(_ key: String) -> Bool {
        // 16 bytes encode to 22 characters plus "==".
        guard key.utf8.count == 24, let decoded = Base64.decode(key) else {
            return false
        }
        return decoded.count == 16
    }
}
