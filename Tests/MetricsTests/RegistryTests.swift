import Metrics
import Testing

@Suite("Metrics registry")
struct RegistryTests {
    @Test("registering the same name and labels again returns the same instance, whatever the label order")
    func sameNameAndLabelsReturnSameInstance() {
        let registry = MetricsRegistry()
        let first = registry.counter("requests_total", help: "h", labels: [("a", "1"), ("b", "2")])
        let second = registry.counter("requests_total", help: "h", labels: [("b", "2"), ("a", "1")])
        let other = registry.counter("requests_total", help: "h", labels: [("a", "1"), ("b", "3")])
        #expect(first === second)
        #expect(first !== other)

        let gauge = registry.gauge("level", help: "h")
        #expect(gauge === registry.gauge("level", help: "h"))

        let histogram = registry.histogram("latency_seconds", help: "h", buckets: [1, 2])
        #expect(histogram === registry.histogram("latency_seconds", help: "h", buckets: [1, 2, .infinity]))
        #expect(histogram.buckets == [1, 2])
    }

    @Test("a counter counting whole things prints an integer, one with fractions prints their sum")
    func counterPrintsWholeAndFractionalSums() {
        let registry = MetricsRegistry()
        let tokens = registry.counter("tokens_total", help: "h")
        tokens.increment(by: 1_000_000_007)
        #expect(registry.exposition().hasSuffix("tokens_total 1000000007\n"))
        tokens.add(0.5)
        #expect(tokens.value == 1_000_000_007.5)
        #expect(registry.exposition().hasSuffix("tokens_total 1000000007.5\n"))
    }

    @Test("a counter ignores negative, infinite and NaN amounts, which could come from a peer")
    func counterIgnoresInvalidAmounts() {
        let counter = MetricsRegistry().counter("tokens_total", help: "h")
        counter.increment(by: 3)
        counter.increment(by: -5)
        counter.increment(by: 0)
        counter.add(-1)
        counter.add(.nan)
        counter.add(.infinity)
        #expect(counter.value == 3)
    }

    @Test("histogram buckets are cumulative, inclusive of their bound, with +Inf equal to the count")
    func histogramBucketsAreCumulative() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram("tip_latency_seconds", help: "h", buckets: [0.01, 0.1, 1, 10])
        // Two at or below 0.01 (one exactly on the bound), one in (0.01, 0.1], none in (0.1, 1],
        // three in (1, 10], two above 10, and a negative value that falls in the first bucket.
        for value in [0.001, 0.01, 0.05, 1.5, 10, 9.999, 11, 1e9, -1] {
            histogram.observe(value)
        }
        histogram.observe(.nan)
        #expect(histogram.count == 9)
        let expected = """
            # HELP tip_latency_seconds h
            # TYPE tip_latency_seconds histogram
            tip_latency_seconds_bucket{le="0.01"} 3
            tip_latency_seconds_bucket{le="0.1"} 4
            tip_latency_seconds_bucket{le="1"} 4
            tip_latency_seconds_bucket{le="10"} 7
            tip_latency_seconds_bucket{le="+Inf"} 9
            tip_latency_seconds_sum \(histogram.sum)
            tip_latency_seconds_count 9

            """
        #expect(registry.exposition() == expected)
        #expect(abs(histogram.sum - (0.001 + 0.01 + 0.05 + 1.5 + 10 + 9.999 + 11 + 1e9 - 1)) < 1e-3)
    }

    @Test("a histogram observes durations in seconds")
    func histogramObservesDurationsInSeconds() {
        let histogram = MetricsRegistry().histogram("ack_latency_seconds", help: "h", buckets: [0.001, 1])
        histogram.observe(Duration.microseconds(500))
        histogram.observe(Duration.seconds(1) + .nanoseconds(1))
        histogram.observe(Duration.milliseconds(1500))
        #expect(histogram.count == 3)
        #expect(abs(histogram.sum - 2.500500001) < 1e-12)
    }

    @Test("a histogram without finite buckets has only the +Inf bucket")
    func histogramWithoutFiniteBuckets() {
        let registry = MetricsRegistry()
        registry.histogram("only_inf", help: "h", buckets: [.infinity]).observe(4)
        let expected = """
            # HELP only_inf h
            # TYPE only_inf histogram
            only_inf_bucket{le="+Inf"} 1
            only_inf_sum 4
            only_inf_count 1

            """
        #expect(registry.exposition() == expected)
    }

    @Test("many buckets are searched correctly on every boundary and between them")
    func manyBucketsAreSearchedCorrectly() {
        let bounds = Histogram.exponentialBuckets(start: 0.001, factor: 2, count: 20)
        #expect(bounds.prefix(3) == [0.001, 0.002, 0.004])
        let registry = MetricsRegistry()
        for (index, bound) in bounds.enumerated() {
            let histogram = registry.histogram("h", help: "h", buckets: bounds, labels: [("i", "\(index)")])
            histogram.observe(bound)
            histogram.observe(bound * 1.5)
        }
        // Each series' first non-zero cumulative bucket is its own bound, holding one observation,
        // and the next holds both (or +Inf does, for the last bound).
        let text = registry.exposition()
        for (index, bound) in bounds.enumerated() {
            var rendered = "\(bound)"
            if rendered.hasSuffix(".0") { rendered.removeLast(2) }
            #expect(text.contains("h_bucket{i=\"\(index)\",le=\"\(rendered)\"} 1\n"))
            if index > 0 {
                var previous = "\(bounds[index - 1])"
                if previous.hasSuffix(".0") { previous.removeLast(2) }
                #expect(text.contains("h_bucket{i=\"\(index)\",le=\"\(previous)\"} 0\n"))
            }
            #expect(text.contains("h_bucket{i=\"\(index)\",le=\"+Inf\"} 2\n"))
        }
    }

    @Test("settable gauges go up and down")
    func settableGaugesGoUpAndDown() {
        let gauge = MetricsRegistry().gauge("connections", help: "h")
        gauge.increment()
        gauge.increment(by: 2.5)
        gauge.decrement(by: 0.5)
        #expect(gauge.value == 3)
        gauge.set(-7)
        #expect(gauge.value == -7)
    }
}

/// Registrations that break the registry's rules are programmer errors: the process must stop at once.
@Suite("Metrics registry misuse")
struct RegistryMisuseTests {
    @Test("a name registered as two types stops the process")
    func conflictingTypeStops() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.counter("thing", help: "h")
            _ = registry.gauge("thing", help: "h")
        }
    }

    @Test("a name registered with two help texts stops the process")
    func conflictingHelpStops() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.counter("thing_total", help: "one", labels: [("a", "1")])
            _ = registry.counter("thing_total", help: "two", labels: [("a", "2")])
        }
    }

    @Test("a histogram registered with two bucket layouts stops the process")
    func conflictingBucketsStop() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.histogram("latency_seconds", help: "h", buckets: [1, 2], labels: [("a", "1")])
            _ = registry.histogram("latency_seconds", help: "h", buckets: [1, 3], labels: [("a", "2")])
        }
    }

    @Test("bucket bounds that do not increase stop the process")
    func unsortedBucketsStop() async {
        await #expect(processExitsWith: .failure) {
            _ = MetricsRegistry().histogram("latency_seconds", help: "h", buckets: [1, 1])
        }
    }

    @Test("a settable gauge and a closure gauge with the same labels stop the process")
    func settableAndClosureGaugeConflictStops() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            registry.gauge("level", help: "h") { 1 }
            _ = registry.gauge("level", help: "h")
        }
    }

    @Test("a family whose samples collide with another family's stops the process")
    func collidingSampleNamesStop() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.histogram("latency", help: "h", buckets: [1])
            _ = registry.counter("latency_count", help: "h")
        }
    }

    @Test("a label given twice stops the process")
    func duplicateLabelStops() async {
        await #expect(processExitsWith: .failure) {
            _ = MetricsRegistry().counter("thing_total", help: "h", labels: [("a", "1"), ("a", "2")])
        }
    }

    @Test("le as a histogram label stops the process")
    func leLabelOnHistogramStops() async {
        await #expect(processExitsWith: .failure) {
            _ = MetricsRegistry().histogram("latency_seconds", help: "h", buckets: [1], labels: [("le", "1")])
        }
    }

    @Test(
        "invalid metric names stop the process",
        arguments: ["", "1abc", "a-b", "a b", "é", "a.b", "a{b"]
    )
    func invalidMetricNameStops(name: String) async {
        await #expect(processExitsWith: .failure) { [name] in
            _ = MetricsRegistry().counter(name, help: "h")
        }
    }

    @Test(
        "invalid or reserved label names stop the process",
        arguments: ["", "1a", "a:b", "a-b", "__name__", "__reserved"]
    )
    func invalidLabelNameStops(label: String) async {
        await #expect(processExitsWith: .failure) { [label] in
            _ = MetricsRegistry().counter("thing_total", help: "h", labels: [(label, "v")])
        }
    }

    @Test("valid names with colons, underscores and digits are accepted")
    func validNamesAreAccepted() {
        let registry = MetricsRegistry()
        _ = registry.counter("job:rate_5m", help: "h", labels: [("_a1", "v"), ("B_2", "w")])
        _ = registry.counter(":leading_colon", help: "h")
        _ = registry.counter("_", help: "h", labels: [("_", "")])
        #expect(registry.exposition().contains("job:rate_5m{B_2=\"w\",_a1=\"v\"} 0\n"))
    }
}
