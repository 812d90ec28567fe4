extension JSONNumber {
    /// Formats `value` as JavaScript's `Number.prototype.toString` (and so `JSON.stringify`) does.
    ///
    /// Swift's `description` already produces the shortest digits that round-trip (and, like
    /// ECMAScript, the closest such digits), but its notation differs (`100.0`, `1e-07`, `1e+16`).
    /// So the digits and the decimal exponent are taken from `description` and laid out again by the
    /// ECMAScript rules (ECMA-262 Number::toString): with the k significant digits d and the value
    /// 0.d * 10^n,
    /// - k <= n <= 21: the digits, then n - k zeros;
    /// - 0 < n <= 21: the digits with a point after the n-th;
    /// - -6 < n <= 0: `0.`, -n zeros, the digits;
    /// - otherwise: one digit, the rest after a point if any, then `e`, the sign and |n - 1|.
    static func javaScriptText<T: BinaryFloatingPoint & CustomStringConvertible>(_ value: T) -> String {
        guard value.isFinite else {
            return "null"
        }
        if value == 0 {
            return "0"  // also for -0, as JavaScript prints it
        }
        var swiftText = value.description
        return swiftText.withUTF8 { source in
            // Significant digits; a Double has at most 17, its description at most ~25 characters.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
                var digitCount = 0
                var digitsBeforePoint = 0  // significant digits before the point (or all, without a point)
                var seenPoint = false
                var leadingZerosAfterPoint = 0  // zeros between the point and the first significant digit
                var position = 0
                let negative = source.first == UInt8(ascii: "-")
                if negative { position = 1 }
                while position < source.count {
                    let byte = source[position]
                    if byte == UInt8(ascii: ".") {
                        seenPoint = true
                    } else if byte &- UInt8(ascii: "0") < 10 {
                        if digitCount == 0 && byte == UInt8(ascii: "0") {
                            if seenPoint { leadingZerosAfterPoint += 1 }
                        } else if digitCount < digits.count {
                            digits[digitCount] = byte
                            digitCount += 1
                            if !seenPoint { digitsBeforePoint += 1 }
                        }
                    } else {
                        break
                    }
                    position += 1
                }
                var exponent = 0
                if position < source.count {  // e, then + or -, then digits
                    position += 1
                    var exponentNegative = false
                    if position < source.count && (source[position] == UInt8(ascii: "-") || source[position] == UInt8(ascii: "+")) {
                        exponentNegative = source[position] == UInt8(ascii: "-")
                        position += 1
                    }
                    while position < source.count {
                        exponent = exponent * 10 + Int(source[position] &- UInt8(ascii: "0"))
                        position += 1
                    }
                    if exponentNegative { exponent = -exponent }
                }
                while digitCount > 1 && digits[digitCount - 1] == UInt8(ascii: "0") {
                    digitCount -= 1
                }
                let k = digitCount
                let n = (digitsBeforePoint > 0 ? digitsBeforePoint : -leadingZerosAfterPoint) + exponent
                return JSONNumber.layOut(negative: negative, digits: UnsafeBufferPointer(rebasing: digits[..<k]), n: n)
            }
        }
    }

    /// Writes the digits with decimal exponent `n` (value = 0.digits * 10^n) in ECMAScript notation.
    private static func layOut(negative: Bool, digits: UnsafeBufferPointer<UInt8>, n: Int) -> String {
        let k = digits.count
        // The longest form: "-0.000000" + 17 digits, or 21 digits + sign, or "-d.dddddddddddddddde-324".
        return String(unsafeUninitializedCapacity: 48) { output in
            var length = 0
            func put(_ byte: UInt8) {
                output[length] = byte
                length += 1
            }
            if negative { put(UInt8(ascii: "-")) }
            if k <= n && n <= 21 {
                for digit in digits { put(digit) }
                for _ in 0..<(n - k) { put(UInt8(ascii: "0")) }
            } else if 0 < n && n <= 21 {
                for index in 0..<n { put(digits[index]) }
                put(UInt8(ascii: "."))
                for index in n..<k { put(digits[index]) }
            } else if -6 < n && n <= 0 {
                put(UInt8(ascii: "0"))
                put(UInt8(ascii: "."))
                for _ in 0..<(-n) { put(UInt8(ascii: "0")) }
                for digit in digits { put(digit) }
            } else {
                put(digits[0])
                if k > 1 {
                    put(UInt8(ascii: "."))
                    for index in 1..<k { put(digits[index]) }
                }
                put(UInt8(ascii: "e"))
                let exponent = n - 1
                put(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                var magnitude = exponent.magnitude
                var divisor: UInt = 1
                while divisor * 10 <= magnitude { divisor *= 10 }
                while divisor > 0 {
                    put(UInt8(truncatingIfNeeded: magnitude / divisor) &+ UInt8(ascii: "0"))
                    magnitude %= divisor
                    divisor /= 10
                }
            }
            return length
        }
    }
}
