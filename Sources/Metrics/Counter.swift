import Synchronization

/// A value that only goes up: one labelled series of a Prometheus `counter` family.
///
/// Get one from ``MetricsRegistry/counter(_:help:labels:)`` once, at start-up, and keep it: updating it
/// takes no lock and allocates nothing, so it can sit on the per-message path of every event loop.
/// Any thread may update or read it.
///
/// Whole increments (``increment(by:)``) and fractional ones (``add(_:)``) are kept apart: the whole
/// part is a plain atomic add, which is exact and cheaper than the compare-and-exchange loop a
/// floating-point sum needs. A counter that only ever counts whole things is printed as an integer.
public final class Counter: Sendable {
    /// The sum of ``increment(by:)`` amounts.
    private let whole: Atomic<UInt64>
    /// The sum of ``add(_:)`` amounts.
    private let fraction: AtomicDouble

    init() {
        self.whole = Atomic(0)
        self.fraction = AtomicDouble()
    }

    /// Adds `amount`, one by default.
    ///
    /// A negative amount is ignored: a counter never goes down, and amounts such as token counts can
    /// come from a peer's reply, which must not be able to crash the server.
    /// - Parameter amount: The number of things that happened.
    public func increment(by amount: Int = 1) {
        guard amount > 0 else { return }
        self.whole.wrappingAdd(UInt64(amount), ordering: .relaxed)
    }

    /// Adds a fractional `amount`, such as a cost in dollars.
    ///
    /// Amounts that are negative, infinite or NaN are ignored, for the reason given in
    /// ``increment(by:)``: one bad amount would otherwise poison the counter for good.
    /// - Parameter amount: The quantity to add.
    public func add(_ amount: Double) {
        guard amount.isFinite, amount > 0 else { return }
        self.fraction.add(amount)
    }

    /// The current total of every increment and addition.
    public var value: Double {
        Double(self.whole.load(ordering: .relaxed)) + self.fraction.load()
    }

    /// Appends the current value in the text format.
    func appendValue(to output: inout String) {
        let whole = self.whole.load(ordering: .relaxed)
        let fraction = self.fraction.load()
        if fraction == 0 {
            TextFormat.appendValue(whole, to: &output)
        } else {
            TextFormat.appendValue(Double(whole) + fraction, to: &output)
        }
    }
}
