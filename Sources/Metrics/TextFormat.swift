/// The lexical rules of the Prometheus text exposition format, version 0.0.4.
///
/// See <https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>.
enum TextFormat {
    /// Appends `value` as a label value (without the quotes): backslash, double quote and line feed are
    /// the only characters the format escapes, as `\\`, `\"` and `\n`.
    static func appendLabelValue(_ value: String, to output: inout String) {
        Self.appendEscaped(value, escapingQuote: true, to: &output)
    }

    /// Appends `help` as the text of a `# HELP` line: backslash and line feed are escaped as `\\` and
    /// `\n`. A double quote stays as it is, because a HELP line is not quoted.
    static func appendHelp(_ help: String, to output: inout String) {
        Self.appendEscaped(help, escapingQuote: false, to: &output)
    }

    private static func appendEscaped(_ text: String, escapingQuote: Bool, to output: inout String) {
        // Most texts need no escaping; append them whole rather than one scalar at a time.
        let needsEscaping = text.utf8.contains { byte in
            byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || (escapingQuote && byte == UInt8(ascii: "\""))
        }
        guard needsEscaping else {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\"" where escapingQuote: output += "\\\""
            default: output.unicodeScalars.append(scalar)
            }
        }
    }

    /// Appends `value` as a sample value or an `le` bound, in a spelling Go's `strconv.ParseFloat` and
    /// Python's `float` both read: `+Inf`, `-Inf`, `NaN`, integral values without a fraction (`5`,
    /// as the Go client writes them), others as Swift's shortest round-tripping form (`0.25`, `1e-05`).
    static func appendValue(_ value: Double, to output: inout String) {
        if value.isNaN {
            output += "NaN"
        } else if value.isInfinite {
            output += value > 0 ? "+Inf" : "-Inf"
        } else if value == value.rounded(.towardZero) && value.magnitude < 1e15 {
            // Below 2^53 every integral Double is exactly an Int64; 1e15 keeps well inside that.
            output += String(Int64(value))
        } else {
            output += value.description
        }
    }

    /// Appends a whole number of observations or increments.
    static func appendValue(_ value: UInt64, to output: inout String) {
        output += String(value)
    }
}
