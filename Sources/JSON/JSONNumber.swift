/// A JSON number that keeps its exact source text.
///
/// The Socket.IO conformance suite echoes payloads and compares the text, so a parsed `1.50`, `1e3`
/// or `-0` must be written back as `1.50`, `1e3` and `-0`, not as a re-formatted double. The text is
/// therefore the number: two numbers are equal when their texts are equal (`1.0` and `1` differ).
/// Numbers built from Swift values are formatted as JavaScript's `JSON.stringify` would format them,
/// so a number built from `Double` 1 equals one parsed from `1`.
///
/// Texts of up to 15 bytes (nearly every number) are stored inline by `String`, without allocating.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number as JSON text, always valid RFC 8259 number grammar, except for numbers made
    /// from a non-finite `Double`, whose text is `null` (what `JSON.stringify` writes for them).
    public let text: String

    /// Wraps text the parser or the formatter already checked.
    @usableFromInline init(uncheckedText text: String) {
        self.text = text
    }

    /// A number with the given source text, or nil if `text` is not a JSON number
    /// (RFC 8259: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, nothing around it).
    public init?(text: String) {
        var copy = text
        let valid = copy.withUTF8 { utf8 in
            JSONNumber.grammarLength(UnsafeRawBufferPointer(utf8), from: 0) == utf8.count
        }
        guard valid else { return nil }
        self.text = copy
    }

    /// The integer, written in decimal.
    public init(_ value: Int) {
        self.text = String(value)
    }

    /// The integer, written in decimal.
    public init<T: BinaryInteger>(_ value: T) {
        self.text = String(value)
    }

    /// The double, formatted as JavaScript's `Number.prototype.toString` does: the shortest digits that
    /// round-trip, no trailing `.0`, plain notation for 1e-6 <= |x| < 1e21 and `1e+21` / `1e-7`
    /// outside. `-0` is written `0`. NaN and the infinities have no JSON form; like `JSON.stringify`,
    /// they become the text `null`.
    public init(_ value: Double) {
        self.text = JSONNumber.javaScriptText(value)
    }

    /// The float, with the shortest digits that round-trip through `Float` (so `0.1` stays `0.1`),
    /// in JavaScript's notation (see ``init(_:)-(Double)``).
    public init(_ value: Float) {
        self.text = JSONNumber.javaScriptText(value)
    }

    /// The text.
    public var description: String { self.text }

    /// The value as `Int` when it is an integer that fits exactly, whatever its spelling (`42`,
    /// `4.2e1`, `42.0`); nil for `4.5`, for `1e30`, and for anything beyond `Int`'s range.
    public var intValue: Int? { self.exactInteger(as: Int.self) }

    /// The value as an integer of type `T` when it is an integer that fits exactly (see ``intValue``).
    public func exactInteger<T: FixedWidthInteger>(as type: T.Type) -> T? {
        guard let (negative, magnitude) = self.integerParts() else { return nil }
        if !negative {
            return T(exactly: magnitude)
        }
        if magnitude == 0 {
            return 0
        }
        guard T.isSigned, let belowMagnitude = T(exactly: magnitude - 1) else { return nil }
        // -(m - 1) - 1 reaches T.min without overflowing on the way.
        return 0 - belowMagnitude - 1
    }

    /// The nearest `Double` (correctly rounded). Numbers beyond `Double`'s range give ±infinity,
    /// tiny ones ±0; a number made from a non-finite double gives NaN.
    public var doubleValue: Double {
        Double(self.text) ?? .nan
    }

    /// The nearest `Float` (correctly rounded from the text, not through `Double`); NaN as for
    /// ``doubleValue``.
    public var floatValue: Float {
        Float(self.text) ?? .nan
    }

    /// Splits the text into sign and magnitude when it denotes an integer below 2^64.
    ///
    /// Works on the decimal digits, never through `Double`, so `9007199254740993` is exact. The exponent
    /// is bounded before any arithmetic, so `1e999999999999999999` costs nothing.
    func integerParts() -> (negative: Bool, magnitude: UInt64)? {
        self.text.utf8.withContiguousStorageIfAvailable { utf8 -> (Bool, UInt64)? in
            JSONNumber.integerParts(UnsafeRawBufferPointer(utf8))
        } ?? nil
    }

    /// See ``integerParts()``; `bytes` is a valid JSON number.
    ///
    /// The mantissa digits M (point removed) with F digits after the point and exponent E denote
    /// M * 10^(E - F). Stripping M to its core C, from the first to the last non-zero digit, with t
    /// trailing zeros, gives C * 10^(E - F + t). C ends in a non-zero digit, so the value is an integer
    /// exactly when that power is not negative, and it fits 64 bits only if C has at most 20 digits.
    static func integerParts(_ bytes: UnsafeRawBufferPointer) -> (negative: Bool, magnitude: UInt64)? {
        let count = bytes.count
        let negative = count > 0 && bytes[0] == UInt8(ascii: "-")
        var position = negative ? 1 : 0
        guard position < count, bytes[position] &- UInt8(ascii: "0") < 10 else {
            return nil  // the `null` of a non-finite double
        }
        var firstNonZero = -1  // byte positions in `bytes`
        var lastNonZero = -1
        var fractionDigits = 0
        var pointPosition = -1
        while position < count {
            let byte = bytes[position]
            if byte == UInt8(ascii: ".") {
                pointPosition = position
            } else if byte &- UInt8(ascii: "0") < 10 {
                if pointPosition >= 0 { fractionDigits += 1 }
                if byte != UInt8(ascii: "0") {
                    if firstNonZero < 0 { firstNonZero = position }
                    lastNonZero = position
                }
            } else {
                break
            }
            position += 1
        }
        let mantissaEnd = position
        // The exponent, saturated: anything beyond ±10 000 is decided without its exact value.
        var exponent = 0
        if position < count {
            position += 1  // e or E
            var exponentNegative = false
            if bytes[position] == UInt8(ascii: "-") {
                exponentNegative = true
                position += 1
            } else if bytes[position] == UInt8(ascii: "+") {
                position += 1
            }
            while position < count {
                exponent = min(exponent * 10 + Int(bytes[position] &- UInt8(ascii: "0")), 10_000)
                position += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        if firstNonZero < 0 {
            return (negative, 0)  // every digit is zero: 0, -0, 0.000e5
        }
        // Digits after the last non-zero one, not counting the point.
        var trailingZeros = mantissaEnd - 1 - lastNonZero
        if pointPosition > lastNonZero { trailingZeros -= 1 }
        let scale = exponent - fractionDigits + trailingZeros
        var coreDigits = lastNonZero - firstNonZero + 1
        if pointPosition > firstNonZero && pointPosition < lastNonZero { coreDigits -= 1 }
        if scale < 0 || coreDigits + scale > 20 {
            return nil  // a fraction remains, or more than 2^64's 20 digits
        }
        var magnitude: UInt64 = 0
        for index in firstNonZero...lastNonZero where index != pointPosition {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
        }
        for _ in 0..<scale {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            magnitude = product
        }
        return (negative, magnitude)
    }

    /// The length of the JSON number at `start` in `bytes`, or -1 when the bytes there break the grammar
    /// (a leading zero followed by a digit, a missing digit after `-`, `.` or the exponent marker).
    /// The number ends at the first byte that cannot continue it; the caller checks what follows.
    @inline(__always)
    static func grammarLength(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let count = bytes.count
        var position = start
        @inline(__always) func isDigit(_ index: Int) -> Bool {
            index < count && bytes[index] &- UInt8(ascii: "0") < 10
        }
        if position < count && bytes[position] == UInt8(ascii: "-") {
            position += 1
        }
        guard isDigit(position) else { return -1 }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if isDigit(position) { return -1 }  // leading zero
        } else {
            while isDigit(position) { position += 1 }
        }
        if position < count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard isDigit(position) else { return -1 }
            while isDigit(position) { position += 1 }
        }
        if position < count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard isDigit(position) else { return -1 }
            while isDigit(position) { position += 1 }
        }
        return position - start
    }
}

extension JSONNumber: ExpressibleByIntegerLiteral {
    /// A number from an integer literal.
    public init(integerLiteral value: Int) {
        self.init(value)
    }
}

extension JSONNumber: ExpressibleByFloatLiteral {
    /// A number from a float literal, formatted as JavaScript formats the double.
    public init(floatLiteral value: Double) {
        self.init(value)
    }
}
