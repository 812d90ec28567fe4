/// Percent-encoding (RFC 3986 §2.1) for paths and query components.
public enum PercentEncoding {
    /// Decodes the `%XX` escapes of a path segment (a `+` stays a `+`). Returns nil when an escape
    /// is not `%` followed by two hex digits, or when the decoded bytes are not valid UTF-8.
    public static func decode(_ string: String) -> String? {
        HTTPHeaders.withBytes(of: string) { self.decode($0, plusAsSpace: false) }
    }

    /// Decodes `%XX` escapes, and `+` as a space when `plusAsSpace` is true (form encoding). Returns
    /// nil when an escape is not `%` followed by two hex digits, or the result is not valid UTF-8.
    public static func decode(_ string: String, plusAsSpace: Bool) -> String? {
        HTTPHeaders.withBytes(of: string) { self.decode($0, plusAsSpace: plusAsSpace) }
    }

    /// Encodes every byte except RFC 3986 `unreserved` (`A-Z a-z 0-9 - . _ ~`) as `%XX`, so the
    /// result is safe in a path segment or as a query name or value.
    public static func encode(_ string: String) -> String {
        HTTPHeaders.withBytes(of: string) { bytes in
            var encodedCount = 0
            for byte in bytes { encodedCount += HTTPBytes.isUnreservedCharacter(byte) ? 1 : 3 }
            if encodedCount == bytes.count { return string }
            return String(unsafeUninitializedCapacity: encodedCount) { output in
                var index = 0
                for byte in bytes {
                    if HTTPBytes.isUnreservedCharacter(byte) {
                        output[index] = byte
                        index += 1
                    } else {
                        output[index] = HTTPBytes.percent
                        output[index + 1] = HTTPBytes.uppercaseHexDigit(Int(byte >> 4))
                        output[index + 2] = HTTPBytes.uppercaseHexDigit(Int(byte & 0x0F))
                        index += 3
                    }
                }
                return index
            }
        }
    }

    /// Decodes `bytes`; see ``decode(_:plusAsSpace:)``.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool) -> String? {
        var needsDecoding = false
        for byte in bytes where byte == HTTPBytes.percent || (plusAsSpace && byte == HTTPBytes.plus) {
            needsDecoding = true
            break
        }
        if !needsDecoding { return self.string(validating: bytes) }
        // The decoded form is never longer than the input; small inputs decode on the stack.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count) { output -> String? in
            var written = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == HTTPBytes.percent {
                    guard index + 2 < bytes.count,
                        let high = HTTPBytes.hexValue(bytes[index + 1]),
                        let low = HTTPBytes.hexValue(bytes[index + 2])
                    else { return nil }
                    output[written] = UInt8(truncatingIfNeeded: high << 4 | low)
                    index += 3
                } else {
                    output[written] = plusAsSpace && byte == HTTPBytes.plus ? HTTPBytes.space : byte
                    index += 1
                }
                written += 1
            }
            return self.string(validating: UnsafeBufferPointer(rebasing: output[..<written]))
        }
    }

    /// `bytes` as a string, or nil when they are not valid UTF-8.
    ///
    /// Not `String(validating:as:)`: that generic initialiser looks up type metadata at run time on
    /// every call, which showed up in request parsing profiles. Decoding repairs invalid sequences, so
    /// a result whose bytes differ from the input means the input was invalid.
    static func string(validating bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let string = String(decoding: bytes, as: UTF8.self)
        if bytes.allSatisfy({ $0 < 0x80 }) { return string }
        return string.utf8.elementsEqual(bytes) ? string : nil
    }
}
