/// A growable byte buffer with a read cursor: bytes are appended at the end and consumed from the front.
///
/// It is a value type (copy-on-write through its array), holds no memory while empty, and gives
/// unsafe pointer access for parsers and syscalls. A connection keeps one for bytes it could not yet
/// send and one for bytes it could not yet parse; both are usually empty.
public struct ByteBuffer: Sendable, Hashable {
    @usableFromInline var bytes: [UInt8]
    /// Index of the first unread byte in `bytes`.
    @usableFromInline var readerIndex: Int

    /// An empty buffer; allocates nothing.
    @inlinable public init() {
        self.bytes = []
        self.readerIndex = 0
    }

    /// An empty buffer with room for `capacity` bytes.
    @inlinable public init(capacity: Int) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
        self.readerIndex = 0
    }

    /// A buffer holding a copy of `bytes`.
    @inlinable public init(bytes: some Sequence<UInt8>) {
        self.bytes = Array(bytes)
        self.readerIndex = 0
    }

    /// A buffer holding the UTF-8 bytes of `string`.
    @inlinable public init(string: String) {
        self.bytes = Array(string.utf8)
        self.readerIndex = 0
    }

    /// The number of bytes not yet read.
    @inlinable public var readableBytes: Int { self.bytes.count &- self.readerIndex }

    /// Whether every byte has been read.
    @inlinable public var isEmpty: Bool { self.readerIndex == self.bytes.count }

    /// The bytes allocated, read or not; what an idle connection costs.
    @inlinable public var capacity: Int { self.bytes.capacity }

    /// The unread bytes, copied into an array.
    @inlinable public var readableBytesArray: [UInt8] {
        self.readerIndex == 0 ? self.bytes : Array(self.bytes[self.readerIndex...])
    }

    /// Calls `body` with the unread bytes. The pointer is valid only inside `body`.
    @inlinable
    public func withUnsafeReadableBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        // Array's own method is untyped `rethrows`, so a typed error travels out through a Result.
        let start = self.readerIndex
        let result: Result<R, E> = self.bytes.withUnsafeBytes { raw in
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: raw[start...])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Calls `body` with the unread bytes; the non-throwing fast path (no `Result` round trip, which
    /// costs a copy of a large `R`). The pointer is valid only inside `body`.
    @inlinable
    public func withUnsafeReadableBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let start = self.readerIndex
        return self.bytes.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[start...])) }
    }

    /// Marks `count` bytes as read. Releases the storage once everything is read and it is large,
    /// so that an idle connection holds little memory.
    @inlinable
    public mutating func moveReaderIndex(forwardBy count: Int) {
        precondition(count >= 0 && count <= self.readableBytes, "moveReaderIndex past the readable bytes")
        self.readerIndex &+= count
        if self.readerIndex == self.bytes.count {
            self.clear()
        }
    }

    /// Drops every byte. Keeps small storage for reuse and releases large storage.
    @inlinable
    public mutating func clear() {
        self.bytes.removeAll(keepingCapacity: self.bytes.capacity <= ByteBuffer.retainedCapacity)
        self.readerIndex = 0
    }

    /// Drops every byte but keeps the storage, however large (``clear()`` releases large storage): for a
    /// buffer that fills again at once, such as a busy connection's output from one tick to the next.
    @inlinable
    public mutating func removeAllKeepingCapacity() {
        self.bytes.removeAll(keepingCapacity: true)
        self.readerIndex = 0
    }

    /// Storage up to this size is kept when the buffer empties; larger storage is released.
    public static let retainedCapacity = 1024

    /// Moves the unread bytes to the front when more than half the storage is already read.
    @inlinable
    public mutating func compactIfNeeded() {
        if self.readerIndex > 0 && self.readerIndex >= self.bytes.count / 2 {
            self.bytes.removeSubrange(0..<self.readerIndex)
            self.readerIndex = 0
        }
    }

    /// Appends a copy of `source`.
    @inlinable
    public mutating func writeBytes(_ source: UnsafeRawBufferPointer) {
        self.bytes.append(contentsOf: source)
    }

    /// Appends a copy of `source`.
    @inlinable
    public mutating func writeBytes(_ source: some Collection<UInt8>) {
        self.bytes.append(contentsOf: source)
    }

    /// Appends the unread bytes of `other`.
    @inlinable
    public mutating func writeBuffer(_ other: ByteBuffer) {
        if self.isEmpty && other.readerIndex == 0 {
            self.bytes = other.bytes
            self.readerIndex = 0
        } else {
            other.withUnsafeReadableBytes { self.bytes.append(contentsOf: $0) }
        }
    }

    /// Appends the UTF-8 bytes of `string`.
    @inlinable
    public mutating func writeString(_ string: String) {
        self.bytes.append(contentsOf: string.utf8)
    }

    /// Appends one byte.
    @inlinable
    public mutating func writeByte(_ byte: UInt8) {
        self.bytes.append(byte)
    }

    /// Appends `value` in big-endian (network) order.
    @inlinable
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { self.bytes.append(contentsOf: $0) }
    }

    /// Appends the decimal digits of `value`.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        if value < 0 {
            self.bytes.append(UInt8(ascii: "-"))
            self.writeDecimal(UInt(value.magnitude))
        } else {
            self.writeDecimal(UInt(value))
        }
    }

    @inlinable
    mutating func writeDecimal(_ value: UInt) {
        if value < 10 {
            self.bytes.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[23 &- count] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
                rest /= 10
                count &+= 1
            }
            self.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(24 &- count)...]))
        }
    }

    /// Appends `count` bytes written by `body` into uninitialised storage; `body` returns how many it
    /// wrote (at most `count`).
    @inlinable
    public mutating func writeWithUnsafeMutableBytes(
        minimumWritableBytes count: Int,
        _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) rethrows -> Int {
        let old = self.bytes.count
        self.bytes.reserveCapacity(old + count)
        // Grow the array by `count` zeroed bytes, let `body` fill them, then trim to what was written.
        self.bytes.append(contentsOf: repeatElement(0, count: count))
        let written = try self.bytes.withUnsafeMutableBytes { raw in
            try body(UnsafeMutableRawBufferPointer(rebasing: raw[old...]))
        }
        precondition(written >= 0 && written <= count, "wrote more bytes than reserved")
        self.bytes.removeLast(count - written)
        return written
    }

    /// Reads one byte, or nil when empty.
    @inlinable
    public mutating func readByte() -> UInt8? {
        guard self.readerIndex < self.bytes.count else { return nil }
        let byte = self.bytes[self.readerIndex]
        self.moveReaderIndex(forwardBy: 1)
        return byte
    }

    /// Reads `count` bytes into an array, or nil when fewer are readable.
    @inlinable
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count <= self.readableBytes else { return nil }
        let result = Array(self.bytes[self.readerIndex..<(self.readerIndex + count)])
        self.moveReaderIndex(forwardBy: count)
        return result
    }

    /// Reads every unread byte as UTF-8 text (invalid sequences are repaired).
    @inlinable
    public mutating func readString() -> String {
        let string = self.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
        self.clear()
        return string
    }

    public static func == (lhs: ByteBuffer, rhs: ByteBuffer) -> Bool {
        lhs.withUnsafeReadableBytes { l in rhs.withUnsafeReadableBytes { r in l.elementsEqual(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        self.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
    }
}

extension ByteBuffer: CustomStringConvertible {
    /// A short description for debugging: the size only, never the content (it may be customer data).
    public var description: String { "ByteBuffer(readable: \(self.readableBytes), capacity: \(self.capacity))" }
}
