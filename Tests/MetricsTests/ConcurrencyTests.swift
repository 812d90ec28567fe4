import Foundation
import Metrics
import Testing

@Suite("Metrics under concurrent updates")
struct ConcurrencyTests {
    static let threadCount = 4
    static let iterations = 100_000

    @Test("increments, additions and observations from several threads sum exactly while scrapes run")
    func concurrentUpdatesSumExactly() throws {
        let registry = MetricsRegistry()
        let segments = registry.counter("earpiece_segments_total", help: "h")
        let cost = registry.counter("earpiece_llm_cost_usd_total", help: "h")
        let connections = registry.gauge("earpiece_connections", help: "h")
        let latency = registry.histogram("earpiece_tip_latency_seconds", help: "h", buckets: [0.25, 0.5, 1])

        // Each thread observes 0.125, 0.375, 0.75 and 1.5 in turn: binary fractions, so every partial
        // sum is exact and the totals can be compared with ==.
        let values = [0.125, 0.375, 0.75, 1.5]
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<Self.threadCount {
            Thread {
                for iteration in 0..<Self.iterations {
                    segments.increment()
                    cost.add(0.5)
                    connections.increment()
                    latency.observe(values[iteration & 3])
                    connections.decrement()
                }
                finished.signal()
            }.start()
        }

        // Scrape while the threads run: the +Inf bucket and the count come from the same reads, so
        // they agree in every scrape, and the counter never goes down.
        let scrapesDone = DispatchSemaphore(value: 0)
        let scrapeFailures = Box()
        Thread {
            var lastSegments = -1.0
            for _ in 0..<200 {
                let text = registry.exposition()
                let infinity = Self.sampleValue(in: text, line: "earpiece_tip_latency_seconds_bucket{le=\"+Inf\"} ")
                let count = Self.sampleValue(in: text, line: "earpiece_tip_latency_seconds_count ")
                let segmentCount = Self.sampleValue(in: text, line: "earpiece_segments_total ") ?? -2
                if infinity == nil || infinity != count || segmentCount < lastSegments {
                    scrapeFailures.value += 1
                }
                lastSegments = segmentCount
            }
            scrapesDone.signal()
        }.start()

        for _ in 0..<Self.threadCount {
            try #require(finished.wait(timeout: .now() + 60) == .success, "an updating thread did not finish in 60 s")
        }
        try #require(scrapesDone.wait(timeout: .now() + 60) == .success, "the scraping thread did not finish in 60 s")

        let total = Self.threadCount * Self.iterations
        #expect(scrapeFailures.value == 0)
        #expect(segments.value == Double(total))
        #expect(cost.value == Double(total) * 0.5)
        #expect(connections.value == 0)
        #expect(latency.count == UInt64(total))
        #expect(latency.sum == Double(total / 4) * (0.125 + 0.375 + 0.75 + 1.5))
        let quarter = total / 4
        let text = registry.exposition()
        #expect(text.contains("earpiece_tip_latency_seconds_bucket{le=\"0.25\"} \(quarter)\n"))
        #expect(text.contains("earpiece_tip_latency_seconds_bucket{le=\"0.5\"} \(2 * quarter)\n"))
        #expect(text.contains("earpiece_tip_latency_seconds_bucket{le=\"1\"} \(3 * quarter)\n"))
        #expect(text.contains("earpiece_tip_latency_seconds_bucket{le=\"+Inf\"} \(total)\n"))
        #expect(text.contains("earpiece_segments_total \(total)\n"))
    }

    @Test("registering the same series from several threads at once yields one instance")
    func concurrentRegistrationYieldsOneInstance() throws {
        let registry = MetricsRegistry()
        let finished = DispatchSemaphore(value: 0)
        let found = InstanceList()
        for thread in 0..<Self.threadCount {
            Thread {
                for index in 0..<1_000 {
                    let counter = registry.counter("shared_total", help: "h", labels: [("i", "\(index % 10)")])
                    counter.increment()
                    if index == 0 { found.append(counter, at: thread) }
                }
                finished.signal()
            }.start()
        }
        for _ in 0..<Self.threadCount {
            try #require(finished.wait(timeout: .now() + 60) == .success, "a registering thread did not finish in 60 s")
        }
        let instances = found.all
        #expect(instances.count == Self.threadCount)
        #expect(instances.allSatisfy { $0 === instances[0] })
        #expect(instances[0].value == Double(Self.threadCount * 100))
    }

    /// The value of the first line of `text` starting with `line`.
    static func sampleValue(in text: String, line prefix: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count))
        }
        return nil
    }
}

/// Counters collected from several threads.
final class InstanceList: @unchecked Sendable {
    // @unchecked: `counters` is only touched with `lock` held. NSLock rather than Mutex keeps
    // ThreadSanitizer runs free of the false reports it gives for Mutex on this toolchain.
    private let lock = NSLock()
    private var counters: [Int: Counter] = [:]

    func append(_ counter: Counter, at thread: Int) {
        self.lock.withLock { self.counters[thread] = counter }
    }

    var all: [Counter] {
        self.lock.withLock { Array(self.counters.values) }
    }
}
