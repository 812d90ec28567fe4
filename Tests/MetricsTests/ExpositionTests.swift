import Metrics
import Testing

@Suite("Prometheus text exposition")
struct ExpositionTests {
    @Test("an empty registry exposes nothing")
    func emptyRegistryExposesNothing() {
        #expect(MetricsRegistry().exposition() == "")
    }

    @Test("every kind of series prints exactly as the 0.0.4 text format, families sorted by name")
    func everyKindPrintsTheGoldenText() {
        let registry = MetricsRegistry()
        // Registered out of name order on purpose.
        let llmTips = registry.counter("earpiece_tips_total", help: "Tips sent to reps.", labels: [("source", "llm")])
        let ruleTips = registry.counter(
            "earpiece_tips_total",
            help: "Tips sent to reps.",
            labels: [("source", "rules")]
        )
        let segments = registry.counter("earpiece_segments_total", help: "Transcript segments received.")
        let cost = registry.counter("earpiece_llm_cost_usd_total", help: "Estimated LLM spend in US dollars.")
        let latency = registry.histogram(
            "earpiece_llm_latency_seconds",
            help: "Time from request to last token.",
            buckets: [0.125, 0.5, 1]
        )
        registry.gauge("earpiece_connections", help: "Open client connections.") { 3 }
        let conversations = registry.gauge("earpiece_conversations", help: "Active conversations.")

        llmTips.increment()
        llmTips.increment(by: 2)
        ruleTips.increment()
        segments.increment(by: 7)
        cost.add(0.25)
        cost.add(0.125)
        // Binary fractions keep the sum exact: 0.0625 + 0.125 + 0.25 + 2 = 2.4375.
        latency.observe(0.0625)
        latency.observe(0.125)
        latency.observe(.milliseconds(250))
        latency.observe(2)
        conversations.set(5)
        conversations.decrement()

        let expected = """
            # HELP earpiece_connections Open client connections.
            # TYPE earpiece_connections gauge
            earpiece_connections 3
            # HELP earpiece_conversations Active conversations.
            # TYPE earpiece_conversations gauge
            earpiece_conversations 4
            # HELP earpiece_llm_cost_usd_total Estimated LLM spend in US dollars.
            # TYPE earpiece_llm_cost_usd_total counter
            earpiece_llm_cost_usd_total 0.375
            # HELP earpiece_llm_latency_seconds Time from request to last token.
            # TYPE earpiece_llm_latency_seconds histogram
            earpiece_llm_latency_seconds_bucket{le="0.125"} 2
            earpiece_llm_latency_seconds_bucket{le="0.5"} 3
            earpiece_llm_latency_seconds_bucket{le="1"} 3
            earpiece_llm_latency_seconds_bucket{le="+Inf"} 4
            earpiece_llm_latency_seconds_sum 2.4375
            earpiece_llm_latency_seconds_count 4
            # HELP earpiece_segments_total Transcript segments received.
            # TYPE earpiece_segments_total counter
            earpiece_segments_total 7
            # HELP earpiece_tips_total Tips sent to reps.
            # TYPE earpiece_tips_total counter
            earpiece_tips_total{source="llm"} 3
            earpiece_tips_total{source="rules"} 1

            """
        #expect(registry.exposition() == expected)
    }

    @Test("labelled histogram series put le last, after the labels sorted by name")
    func labelledHistogramPutsLeLast() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram(
            "earpiece_ack_latency_seconds",
            help: "Ack round trip.",
            buckets: [0.5],
            labels: [("namespace", "/"), ("event", "tip")]
        )
        histogram.observe(0.25)
        let expected = """
            # HELP earpiece_ack_latency_seconds Ack round trip.
            # TYPE earpiece_ack_latency_seconds histogram
            earpiece_ack_latency_seconds_bucket{event="tip",namespace="/",le="0.5"} 1
            earpiece_ack_latency_seconds_bucket{event="tip",namespace="/",le="+Inf"} 1
            earpiece_ack_latency_seconds_sum{event="tip",namespace="/"} 0.25
            earpiece_ack_latency_seconds_count{event="tip",namespace="/"} 1

            """
        #expect(registry.exposition() == expected)
    }

    @Test("series of one family print once under one HELP and TYPE, sorted by label values")
    func seriesOfOneFamilyShareOneHeader() {
        let registry = MetricsRegistry()
        for code in ["RATE_LIMITED", "BAD_REQUEST", "INTERNAL"] {
            registry.counter("earpiece_errors_total", help: "Errors sent to clients.", labels: [("code", code)])
                .increment()
        }
        let expected = """
            # HELP earpiece_errors_total Errors sent to clients.
            # TYPE earpiece_errors_total counter
            earpiece_errors_total{code="BAD_REQUEST"} 1
            earpiece_errors_total{code="INTERNAL"} 1
            earpiece_errors_total{code="RATE_LIMITED"} 1

            """
        #expect(registry.exposition() == expected)
    }

    @Test("label values escape backslash, double quote and line feed, and nothing else")
    func labelValuesAreEscaped() {
        let registry = MetricsRegistry()
        registry.counter("escaped_total", help: "h", labels: [("value", "a\\b\"c\nd\te{}=,é😀")]).increment()
        let expected = """
            # HELP escaped_total h
            # TYPE escaped_total counter
            escaped_total{value="a\\\\b\\"c\\nd\te{}=,é😀"} 1

            """
        #expect(registry.exposition() == expected)
    }

    @Test("help text escapes backslash and line feed but keeps double quotes")
    func helpTextIsEscaped() {
        let registry = MetricsRegistry()
        _ = registry.gauge("escaped", help: "Line one\nback\\slash \"quoted\"")
        let expected = """
            # HELP escaped Line one\\nback\\\\slash "quoted"
            # TYPE escaped gauge
            escaped 0

            """
        #expect(registry.exposition() == expected)
    }

    @Test(
        "sample values print as Go and Python parse them",
        arguments: [
            (0, "0"), (-0.0, "0"), (3, "3"), (-3, "-3"), (0.1, "0.1"), (2.5, "2.5"), (1e-5, "1e-05"),
            (123_456_789, "123456789"), (1e20, "1e+20"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
            (Double.nan, "NaN"),
        ] as [(Double, String)]
    )
    func sampleValuesPrintParseably(value: Double, expected: String) {
        let registry = MetricsRegistry()
        registry.gauge("value", help: "h") { value }
        #expect(registry.exposition() == "# HELP value h\n# TYPE value gauge\nvalue \(expected)\n")
    }

    @Test("a closure gauge is read at every scrape, and registering it again replaces the closure")
    func closureGaugeIsReadAtScrape() {
        let registry = MetricsRegistry()
        let connections = Box()
        registry.gauge("earpiece_connections", help: "Open client connections.") { connections.value }
        connections.value = 1
        #expect(registry.exposition().hasSuffix("earpiece_connections 1\n"))
        connections.value = 2
        #expect(registry.exposition().hasSuffix("earpiece_connections 2\n"))
        registry.gauge("earpiece_connections", help: "Open client connections.") { 42 }
        #expect(registry.exposition().hasSuffix("earpiece_connections 42\n"))
    }
}

/// A value a closure gauge reads, changed by the test between scrapes.
final class Box: @unchecked Sendable {
    // @unchecked: a test writes a Box from one thread at a time, and reads it on another thread only
    // after a semaphore wait that orders the reads after the writes.
    var value: Double = 0
}
