/// The naming rules of the Prometheus data model.
///
/// Names are chosen by our own code, never by a peer, so a bad one is a programmer error: the registry
/// checks them with `precondition` at registration, once, and never on the increment path.
enum MetricName {
    /// Whether `name` is a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidMetricName(_ name: String) -> Bool {
        Self.matches(name, allowColon: true)
    }

    /// Whether `name` is a label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    ///
    /// Unlike metric names, label names may not contain a colon (the data model reserves colons for
    /// recording rules, which only name metrics).
    static func isValidLabelName(_ name: String) -> Bool {
        Self.matches(name, allowColon: false)
    }

    /// Whether `name` is a label name that a client may not set: `__`-prefixed names belong to
    /// Prometheus itself.
    static func isReservedLabelName(_ name: String) -> Bool {
        name.utf8.starts(with: "__".utf8)
    }

    private static func matches(_ name: String, allowColon: Bool) -> Bool {
        var isFirst = true
        for byte in name.utf8 {
            let isLetter =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isAllowed =
                isLetter || byte == UInt8(ascii: "_") || (allowColon && byte == UInt8(ascii: ":"))
                || (!isFirst && isDigit)
            guard isAllowed else { return false }
            isFirst = false
        }
        return !isFirst
    }
}
