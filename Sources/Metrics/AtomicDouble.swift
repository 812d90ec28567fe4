import Synchronization

/// A `Double` that several threads may update without a lock.
///
/// The standard library has no atomic floating-point type, so the value lives as its IEEE 754 bit
/// pattern in an `Atomic<UInt64>`. `add` is a compare-and-exchange loop: it retries only when another
/// thread changed the value between the load and the exchange, which under the contention of a few
/// event loops means about one retry in a million updates.
///
/// Any thread may read and write it; every access is relaxed, because a metric value orders nothing
/// else and a scrape only needs some recent value.
struct AtomicDouble: ~Copyable {
    /// The bit pattern of the current value; `0` is `+0.0`.
    private let bits: Atomic<UInt64>

    /// A value of `initial`.
    init(_ initial: Double = 0) {
        self.bits = Atomic(initial.bitPattern)
    }

    /// The current value.
    func load() -> Double {
        Double(bitPattern: self.bits.load(ordering: .relaxed))
    }

    /// Replaces the value with `value`.
    func store(_ value: Double) {
        self.bits.store(value.bitPattern, ordering: .relaxed)
    }

    /// Adds `amount` to the value.
    func add(_ amount: Double) {
        var expected = self.bits.load(ordering: .relaxed)
        while true {
            let desired = (Double(bitPattern: expected) + amount).bitPattern
            let (exchanged, original) = self.bits.weakCompareExchange(
                expected: expected,
                desired: desired,
                ordering: .relaxed
            )
            if exchanged { return }
            expected = original
        }
    }
}
