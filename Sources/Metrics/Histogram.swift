import Synchronization

/// A distribution of observed values, such as latencies in seconds, counted into fixed buckets: one
/// labelled series of a Prometheus `histogram` family.
///
/// Get one from ``MetricsRegistry/histogram(_:help:buckets:labels:)`` once and keep it. An observation
/// takes no lock and allocates nothing: a binary search over the bucket bounds, one atomic add on the
/// bucket it falls in, and a compare-and-exchange loop on the sum. Any thread may observe or read.
///
/// Each bucket counts only the observations that fall into it; the cumulative `le` counts and the
/// total count are summed at scrape time. So the `+Inf` bucket always equals `_count`, even while other
/// threads observe during a scrape. The sum is a separate atomic and may be one observation ahead or
/// behind the counts at such a moment; Prometheus queries tolerate that.
public final class Histogram: @unchecked Sendable {
    // @unchecked: `bounds` and `counts` are raw pointers, which Swift cannot check. They are allocated
    // in `init` and freed in `deinit`; `bounds` is never written in between, and `counts` is only
    // accessed through `Atomic`, so sharing them between threads is safe.

    /// The upper bounds of the finite buckets, strictly increasing; read-only after `init`.
    private let bounds: UnsafeMutablePointer<Double>
    /// The number of finite buckets.
    private let boundCount: Int
    /// `boundCount + 1` counts: the observations at most `bounds[i]` and above `bounds[i - 1]`, then
    /// those above the last bound (the part of the `+Inf` bucket that no finite bucket holds).
    private let counts: UnsafeMutablePointer<Atomic<UInt64>>
    /// The sum of every observation.
    private let total: AtomicDouble

    /// The Prometheus client libraries' default buckets, from 5 ms to 10 s.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// `count` bucket bounds starting at `start`, each `factor` times the one before.
    ///
    /// For example `exponentialBuckets(start: 0.001, factor: 2, count: 4)` is `[0.001, 0.002, 0.004, 0.008]`.
    /// - Parameters:
    ///   - start: The first bound; above zero.
    ///   - factor: The ratio of consecutive bounds; above one.
    ///   - count: The number of bounds; at least one.
    public static func exponentialBuckets(start: Double, factor: Double, count: Int) -> [Double] {
        precondition(
            start > 0 && factor > 1 && count >= 1,
            "exponential buckets need start > 0, factor > 1, count >= 1"
        )
        var bounds: [Double] = []
        bounds.reserveCapacity(count)
        var bound = start
        for _ in 0..<count {
            bounds.append(bound)
            bound *= factor
        }
        return bounds
    }

    /// A histogram with the given finite upper bounds; the registry checks them first.
    init(bounds: [Double]) {
        self.boundCount = bounds.count
        self.bounds = UnsafeMutablePointer.allocate(capacity: max(bounds.count, 1))
        self.bounds.initialize(from: bounds, count: bounds.count)
        self.counts = UnsafeMutablePointer.allocate(capacity: bounds.count + 1)
        for index in 0...bounds.count {
            (self.counts + index).initialize(to: Atomic(0))
        }
        self.total = AtomicDouble()
    }

    deinit {
        self.counts.deinitialize(count: self.boundCount + 1)
        self.counts.deallocate()
        self.bounds.deinitialize(count: self.boundCount)
        self.bounds.deallocate()
    }

    /// Records one observation of `value`.
    ///
    /// NaN is ignored: it belongs in no bucket and would turn the sum into NaN for good.
    /// - Parameter value: The observed value, in the histogram's unit (seconds for latencies).
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        // The first bucket whose bound is at least `value` (a bucket counts observations <= its bound);
        // `boundCount` when there is none.
        var low = 0
        var high = self.boundCount
        while low < high {
            let middle = (low &+ high) >> 1
            if self.bounds[middle] < value {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        self.counts[low].wrappingAdd(1, ordering: .relaxed)
        self.total.add(value)
    }

    /// Records one observation of `duration`, in seconds.
    /// - Parameter duration: The observed duration.
    public func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.observe(Double(seconds) + Double(attoseconds) * 1e-18)
    }

    /// The finite bucket bounds, in increasing order; the `+Inf` bucket is implied.
    public var buckets: [Double] {
        Array(UnsafeBufferPointer(start: self.bounds, count: self.boundCount))
    }

    /// The number of observations so far.
    public var count: UInt64 {
        var count: UInt64 = 0
        for index in 0...self.boundCount {
            count &+= self.counts[index].load(ordering: .relaxed)
        }
        return count
    }

    /// The sum of the observations so far.
    public var sum: Double {
        self.total.load()
    }

    /// Appends the `_bucket`, `_sum` and `_count` samples.
    /// - Parameters:
    ///   - name: The family name.
    ///   - labels: The series' rendered label pairs without braces (`a="x",b="y"`), or empty.
    ///   - renderedBounds: The `le` value of each finite bucket, rendered once at registration.
    func appendSamples(name: String, labels: String, renderedBounds: [String], to output: inout String) {
        let separator = labels.isEmpty ? "" : ","
        var cumulative: UInt64 = 0
        for index in 0...self.boundCount {
            cumulative &+= self.counts[index].load(ordering: .relaxed)
            output += name
            output += "_bucket{"
            output += labels
            output += separator
            output += "le=\""
            output += index < self.boundCount ? renderedBounds[index] : "+Inf"
            output += "\"} "
            TextFormat.appendValue(cumulative, to: &output)
            output += "\n"
        }
        let braced = labels.isEmpty ? "" : "{" + labels + "}"
        output += name
        output += "_sum"
        output += braced
        output += " "
        TextFormat.appendValue(self.total.load(), to: &output)
        output += "\n"
        output += name
        output += "_count"
        output += braced
        output += " "
        TextFormat.appendValue(cumulative, to: &output)
        output += "\n"
    }
}
