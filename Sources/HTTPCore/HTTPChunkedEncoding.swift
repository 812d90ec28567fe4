public import IOCore

/// Writers for the chunked transfer coding (RFC 9112 §7.1), for a body whose length is not known
/// when the head is sent (with `Transfer-Encoding: chunked` in the head).
public enum HTTPChunkedEncoding {
    /// Appends `data` as one chunk: its size in hex, CRLF, the data, CRLF. Writes nothing for empty
    /// data, because an empty chunk would end the body.
    public static func writeChunk(_ data: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        guard !data.isEmpty else { return }
        self.writeSize(data.count, into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
        buffer.writeBytes(data)
        HTTPWriting.writeLineEnd(into: &buffer)
    }

    /// Appends the readable bytes of `data` as one chunk; nothing when it is empty.
    public static func writeChunk(_ data: ByteBuffer, into buffer: inout ByteBuffer) {
        guard !data.isEmpty else { return }
        self.writeSize(data.readableBytes, into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
        buffer.writeBuffer(data)
        HTTPWriting.writeLineEnd(into: &buffer)
    }

    /// Appends the last chunk and the empty trailer section, `0\r\n\r\n`, which end the body.
    public static func writeLastChunk(into buffer: inout ByteBuffer) {
        buffer.writeString("0\r\n\r\n")
    }

    /// Appends the last chunk followed by `trailers` and the empty line that ends them.
    public static func writeLastChunk(trailers: HTTPHeaders, into buffer: inout ByteBuffer) {
        buffer.writeString("0\r\n")
        HTTPWriting.writeFields(trailers, into: &buffer)
        HTTPWriting.writeLineEnd(into: &buffer)
    }

    /// Appends `size` in lowercase hex without leading zeros.
    private static func writeSize(_ size: Int, into buffer: inout ByteBuffer) {
        var shift = (Int.bitWidth - size.leadingZeroBitCount + 3) / 4 * 4
        if shift == 0 { shift = 4 }
        while shift > 0 {
            shift -= 4
            buffer.writeByte(HTTPBytes.hexDigit((size >> shift) & 0xF))
        }
    }
}
