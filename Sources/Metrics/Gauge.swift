/// A value that goes up and down: one labelled series of a Prometheus `gauge` family.
///
/// Get one from ``MetricsRegistry/gauge(_:help:labels:)``. Updates take no lock and allocate nothing;
/// any thread may update or read it. When the value already lives elsewhere (a connection table, the
/// set of conversations), register a gauge that reads it at scrape time instead, with
/// ``MetricsRegistry/gauge(_:help:labels:_:)``.
public final class Gauge: Sendable {
    /// The current value.
    private let current: AtomicDouble

    init() {
        self.current = AtomicDouble()
    }

    /// Replaces the value with `value`.
    /// - Parameter value: The new value.
    public func set(_ value: Double) {
        self.current.store(value)
    }

    /// Adds `amount`, one by default.
    /// - Parameter amount: The amount to add.
    public func increment(by amount: Double = 1) {
        self.current.add(amount)
    }

    /// Subtracts `amount`, one by default.
    /// - Parameter amount: The amount to subtract.
    public func decrement(by amount: Double = 1) {
        self.current.add(-amount)
    }

    /// The current value.
    public var value: Double {
        self.current.load()
    }
}
