public import IOCore

/// Writes ``JSONValue``s as compact JSON text, byte-compatible with JavaScript's `JSON.stringify`.
///
/// Numbers are written as their stored text (see ``JSONNumber``), objects in key order, and strings
/// escaped exactly as `JSON.stringify` escapes them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
/// control characters as `\u00xx` (lowercase hex); everything else, U+2028, U+2029 and all non-ASCII
/// included, as raw UTF-8. (`JSON.stringify` also escapes lone surrogates; a Swift `String` cannot
/// hold one.)
///
/// ``JSONValue/binary(_:)`` leaves are not JSON: the plain ``write(_:into:)`` throws
/// ``JSONError/binaryNotAllowed`` for them, the overload with a `binary` hook lets the caller (the
/// Socket.IO codec) write a placeholder instead.
public enum JSONWriter {
    /// Appends `value` as JSON text to `buffer`.
    /// - Throws: ``JSONError/binaryNotAllowed`` when `value` contains a ``JSONValue/binary(_:)``
    ///   leaf; `buffer` then holds the text written before it.
    public static func write(_ value: JSONValue, into buffer: inout ByteBuffer) throws(JSONError) {
        try JSONOutput.withOutput(appendingTo: &buffer) { (output) throws(JSONError) in
            try output.writeValue(value) { (_, _) throws(JSONError) in
                throw JSONError.binaryNotAllowed
            }
        }
    }

    /// Appends `value` as JSON text to `buffer`, calling `binary` for every ``JSONValue/binary(_:)``
    /// leaf (in document order) to write whatever replaces it, typically a Socket.IO placeholder such
    /// as `{"_placeholder":true,"num":0}`.
    /// - Parameters:
    ///   - value: the value to write.
    ///   - buffer: where the text is appended.
    ///   - binary: given each binary leaf and `buffer` (holding all the text before the leaf); it
    ///     must append one JSON value.
    public static func write(
        _ value: JSONValue,
        into buffer: inout ByteBuffer,
        binary: (ByteBuffer, inout ByteBuffer) -> Void
    ) {
        JSONOutput.withOutput(appendingTo: &buffer) { output in
            output.writeValue(value, binary: binary)
        }
    }

    /// Appends `string` as a quoted, escaped JSON string, for callers composing JSON by hand.
    ///
    /// Plain runs (no `"`, `\` or control character, found eight bytes at a time) are copied whole.
    public static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        JSONOutput.withOutput(appendingTo: &buffer) { output in
            output.writeString(string)
        }
    }

    /// Appends `number`'s text.
    public static func writeNumber(_ number: JSONNumber, into buffer: inout ByteBuffer) {
        buffer.writeString(number.text)
    }
}

/// The writer's output: a small chunk on the stack in front of the caller's buffer.
///
/// JSON text is written in many small pieces (a quote, a comma, a short key); appending each to the
/// `ByteBuffer` would pay its array's uniqueness and capacity checks every time. The pieces go into
/// the chunk instead, which is appended to the buffer whole when full and at the end. Lives only
/// inside ``withOutput(appendingTo:_:)``, which owns the chunk and the buffer.
struct JSONOutput: ~Copyable {
    /// The chunk's bytes; valid inside ``withOutput(appendingTo:_:)`` only.
    let chunk: UnsafeMutablePointer<UInt8>
    /// The chunk's size.
    let capacity: Int
    /// Bytes of the chunk written and not yet flushed.
    var used: Int = 0
    /// The caller's buffer; it receives the chunk on each flush. Moved in and out by `withOutput`.
    var buffer: ByteBuffer

    /// The size of the stack chunk; a typical Socket.IO event fits, so it is appended in one copy.
    static var chunkSize: Int { 1024 }

    /// Runs `body` with an output that appends to `buffer`, and flushes it at the end (also when
    /// `body` throws, so the buffer holds everything written before the error).
    static func withOutput<Failure: Error>(
        appendingTo buffer: inout ByteBuffer,
        _ body: (inout JSONOutput) throws(Failure) -> Void
    ) throws(Failure) {
        let result: Result<Void, Failure> = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: JSONOutput.chunkSize) {
            raw in
            // Move the buffer in (leaving an empty one) so that appending never copies its storage.
            var output = JSONOutput(chunk: raw.baseAddress!, capacity: raw.count, buffer: buffer)
            buffer = ByteBuffer()
            let result: Result<Void, Failure>
            do throws(Failure) {
                try body(&output)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            output.flush()
            buffer = output.takeBuffer()
            return result
        }
        try result.get()
    }

    /// Ends the output and hands back the buffer.
    consuming func takeBuffer() -> ByteBuffer {
        let buffer = self.buffer
        return buffer
    }

    /// Appends the chunk to the buffer and empties it.
    mutating func flush() {
        if self.used > 0 {
            self.buffer.writeBytes(UnsafeRawBufferPointer(start: self.chunk, count: self.used))
            self.used = 0
        }
    }

    @inline(__always)
    mutating func writeByte(_ byte: UInt8) {
        if self.used == self.capacity { self.flush() }
        self.chunk[self.used] = byte
        self.used &+= 1
    }

    /// Appends `count` bytes from `source`; large runs bypass the chunk.
    @inline(__always)
    mutating func writeBytes(_ source: UnsafePointer<UInt8>, count: Int) {
        if count > self.capacity &- self.used {
            self.flush()
            if count >= self.capacity {
                self.buffer.writeBytes(UnsafeRawBufferPointer(start: source, count: count))
                return
            }
        }
        (self.chunk + self.used).update(from: source, count: count)
        self.used &+= count
    }

    /// Appends an ASCII literal such as `true`.
    @inline(__always)
    mutating func writeLiteral(_ literal: StaticString) {
        self.writeBytes(literal.utf8Start, count: literal.utf8CodeUnitCount)
    }

    /// Appends the UTF-8 of `text` unchanged (a number's text).
    @inline(__always)
    mutating func writeRaw(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            if let base = utf8.baseAddress { self.writeBytes(base, count: utf8.count) }
        }
        if done == nil {
            for byte in text.utf8 { self.writeByte(byte) }
        }
    }

    /// Appends `string` quoted and escaped.
    mutating func writeString(_ string: String) {
        self.writeByte(UInt8(ascii: "\""))
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            if let base = utf8.baseAddress { self.writeEscaped(base, count: utf8.count) }
        }
        if done == nil {
            // Not contiguous (never for native strings): escape a contiguous copy.
            let bytes = Array(string.utf8)
            bytes.withUnsafeBufferPointer { utf8 in
                if let base = utf8.baseAddress { self.writeEscaped(base, count: utf8.count) }
            }
        }
        self.writeByte(UInt8(ascii: "\""))
    }

    /// Appends the `count` UTF-8 bytes at `base`, escaped for a JSON string (without the quotes).
    mutating func writeEscaped(_ base: UnsafePointer<UInt8>, count: Int) {
        var runStart = 0
        while runStart < count {
            let special = ByteScanning.firstStringSpecial(base, from: runStart, count: count)
            if special > runStart {
                self.writeBytes(base + runStart, count: special &- runStart)
            }
            guard special < count else { return }
            self.writeEscape(for: base[special])
            runStart = special &+ 1
        }
    }

    /// Appends the escape `JSON.stringify` uses for `byte` (a quote, a backslash or a control character).
    mutating func writeEscape(for byte: UInt8) {
        self.writeByte(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: self.writeByte(UInt8(ascii: "\""))
        case 0x5C: self.writeByte(UInt8(ascii: "\\"))
        case 0x08: self.writeByte(UInt8(ascii: "b"))
        case 0x0C: self.writeByte(UInt8(ascii: "f"))
        case 0x0A: self.writeByte(UInt8(ascii: "n"))
        case 0x0D: self.writeByte(UInt8(ascii: "r"))
        case 0x09: self.writeByte(UInt8(ascii: "t"))
        default:
            // \u00XX with lowercase hex, as JSON.stringify writes it.
            let hex: (UInt8) -> UInt8 = { $0 < 10 ? $0 &+ UInt8(ascii: "0") : $0 &- 10 &+ UInt8(ascii: "a") }
            self.writeLiteral("u00")
            self.writeByte(hex(byte >> 4))
            self.writeByte(hex(byte & 0x0F))
        }
    }

    /// Writes `value`; `binary` either throws (plain JSON) or writes a replacement. Generic over its
    /// error type, so the hook overload needs no `try`.
    mutating func writeValue<Failure: Error>(
        _ value: JSONValue,
        binary: (ByteBuffer, inout ByteBuffer) throws(Failure) -> Void
    ) throws(Failure) {
        switch value {
        case .null:
            self.writeLiteral("null")
        case .bool(let bool):
            if bool { self.writeLiteral("true") } else { self.writeLiteral("false") }
        case .number(let number):
            self.writeRaw(number.text)
        case .string(let string):
            self.writeString(string)
        case .array(let elements):
            self.writeByte(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { self.writeByte(UInt8(ascii: ",")) }
                first = false
                try self.writeValue(element, binary: binary)
            }
            self.writeByte(UInt8(ascii: "]"))
        case .object(let object):
            self.writeByte(UInt8(ascii: "{"))
            var first = true
            for entry in object.storage.entries {
                if !first { self.writeByte(UInt8(ascii: ",")) }
                first = false
                self.writeString(entry.key)
                self.writeByte(UInt8(ascii: ":"))
                try self.writeValue(entry.value, binary: binary)
            }
            self.writeByte(UInt8(ascii: "}"))
        case .binary(let bytes):
            // The hook writes straight into the buffer, after everything written so far.
            self.flush()
            try binary(bytes, &self.buffer)
        }
    }
}

extension JSONValue {
    /// The value as compact JSON text (see ``JSONWriter``).
    /// - Throws: ``JSONError/binaryNotAllowed`` when the value contains a binary leaf.
    public var jsonString: String {
        get throws(JSONError) {
            var buffer = ByteBuffer()
            try JSONWriter.write(self, into: &buffer)
            return buffer.readString()
        }
    }

    /// The value as compact JSON text in a new buffer (see ``JSONWriter``).
    /// - Throws: ``JSONError/binaryNotAllowed`` when the value contains a binary leaf.
    public var jsonBytes: ByteBuffer {
        get throws(JSONError) {
            var buffer = ByteBuffer()
            try JSONWriter.write(self, into: &buffer)
            return buffer
        }
    }
}
