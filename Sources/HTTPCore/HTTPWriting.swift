public import IOCore

/// The byte-level writers behind the public ones. Everything written passes through a check that
/// keeps one message one message: names and methods stay tokens, values and reason phrases never
/// carry CR, LF or other control bytes, and request targets stay visible ASCII. The checks cost one
/// scan of each piece; clean pieces (all of them, in practice) are then copied in one go.
enum HTTPWriting {
    /// Appends `bytes` as a token, writing each non-token byte as `_`; an empty token becomes `_`.
    static func writeToken(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        if bytes.isEmpty {
            buffer.writeByte(0x5F)
        } else if bytes.allSatisfy(HTTPBytes.isTokenCharacter) {
            buffer.writeBytes(UnsafeRawBufferPointer(bytes))
        } else {
            for byte in bytes { buffer.writeByte(HTTPBytes.isTokenCharacter(byte) ? byte : 0x5F) }
        }
    }

    /// Appends `bytes` as a field value or reason phrase, writing control bytes (CR and LF included,
    /// HTAB excepted) as spaces.
    static func writeFieldValue(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        if bytes.allSatisfy(HTTPBytes.isFieldValueCharacter) {
            buffer.writeBytes(UnsafeRawBufferPointer(bytes))
        } else {
            for byte in bytes { buffer.writeByte(HTTPBytes.isFieldValueCharacter(byte) ? byte : HTTPBytes.space) }
        }
    }

    /// Appends `bytes` as a request target, percent-encoding every byte that is not visible ASCII
    /// (space, controls, non-ASCII); an empty target becomes `/`.
    static func writeTarget(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        if bytes.isEmpty {
            buffer.writeByte(HTTPBytes.slash)
        } else if bytes.allSatisfy(HTTPBytes.isVisibleASCII) {
            buffer.writeBytes(UnsafeRawBufferPointer(bytes))
        } else {
            for byte in bytes {
                if HTTPBytes.isVisibleASCII(byte) {
                    buffer.writeByte(byte)
                } else {
                    buffer.writeByte(HTTPBytes.percent)
                    buffer.writeByte(HTTPBytes.uppercaseHexDigit(Int(byte >> 4)))
                    buffer.writeByte(HTTPBytes.uppercaseHexDigit(Int(byte & 0x0F)))
                }
            }
        }
    }

    /// Appends every field as `name: value\r\n`.
    static func writeFields(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        headers.storage.withUnsafeBufferPointer { storage in
            for field in headers.fields {
                self.writeToken(UnsafeBufferPointer(rebasing: storage[field.nameStart..<field.nameEnd]), into: &buffer)
                buffer.writeByte(HTTPBytes.colon)
                buffer.writeByte(HTTPBytes.space)
                self.writeFieldValue(
                    UnsafeBufferPointer(rebasing: storage[field.valueStart..<field.valueEnd]),
                    into: &buffer
                )
                self.writeLineEnd(into: &buffer)
            }
        }
    }

    /// Appends CRLF.
    @inline(__always)
    static func writeLineEnd(into buffer: inout ByteBuffer) {
        buffer.writeByte(HTTPBytes.carriageReturn)
        buffer.writeByte(HTTPBytes.lineFeed)
    }

    /// Appends a three-digit status code; codes outside 100...999 are clamped into it so that the
    /// status line always has three digits.
    static func writeStatusCode(_ code: Int, into buffer: inout ByteBuffer) {
        let clamped = max(100, min(999, code))
        buffer.writeByte(UInt8(truncatingIfNeeded: clamped / 100) &+ 0x30)
        buffer.writeByte(UInt8(truncatingIfNeeded: clamped / 10 % 10) &+ 0x30)
        buffer.writeByte(UInt8(truncatingIfNeeded: clamped % 10) &+ 0x30)
    }
}

extension HTTPResponseHead {
    /// Appends the status line, the header fields and the empty line that ends the head.
    ///
    /// The head is written as given: add Content-Length or Transfer-Encoding yourself. Control bytes
    /// in values and the reason phrase are written as spaces, and non-token bytes in names as `_`,
    /// so that no header can split the response.
    public func write(into buffer: inout ByteBuffer) {
        self.version.write(into: &buffer)
        buffer.writeByte(HTTPBytes.space)
        HTTPWriting.writeStatusCode(self.statusCode, into: &buffer)
        buffer.writeByte(HTTPBytes.space)
        HTTPHeaders.withBytes(of: self.reasonPhrase) { HTTPWriting.writeFieldValue($0, into: &buffer) }
        HTTPWriting.writeLineEnd(into: &buffer)
        HTTPWriting.writeFields(self.headers, into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
    }
}

extension HTTPRequestHead {
    /// Appends the request line, the header fields and the empty line that ends the head.
    ///
    /// The head is written as given: add Host, and Content-Length or Transfer-Encoding, yourself.
    /// Bytes of the target that are not visible ASCII are percent-encoded; control bytes in values
    /// are written as spaces and non-token bytes in the method and names as `_`.
    public func write(into buffer: inout ByteBuffer) {
        HTTPHeaders.withBytes(of: self.method.rawValue) { HTTPWriting.writeToken($0, into: &buffer) }
        buffer.writeByte(HTTPBytes.space)
        HTTPHeaders.withBytes(of: self.target) { HTTPWriting.writeTarget($0, into: &buffer) }
        buffer.writeByte(HTTPBytes.space)
        self.version.write(into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
        HTTPWriting.writeFields(self.headers, into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
    }
}
