import Foundation
import Metrics
import Testing

/// Checks the exposition with an independent parser: the one in Python's `prometheus_client`
/// (listed in Tests/Interop/requirements.txt). Skipped when python3 or the package is missing.
@Suite(
    "Exposition read by prometheus_client",
    .enabled(
        if: PythonPrometheusParser.isAvailable,
        "needs python3 with prometheus_client (pip install prometheus-client)"
    )
)
struct PrometheusClientTests {
    @Test("every kind of series parses to the families, types, labels and values that were recorded")
    func everyKindParses() throws {
        let registry = MetricsRegistry()
        registry.counter("earpiece_tips_total", help: "Tips sent.", labels: [("source", "llm")]).increment(by: 3)
        registry.counter("earpiece_tips_total", help: "Tips sent.", labels: [("source", "rules")]).increment()
        registry.counter("earpiece_llm_tokens_total", help: "Tokens.", labels: [("kind", "prompt")]).increment(by: 1200)
        registry.counter("earpiece_llm_cost_usd_total", help: "Spend.").add(0.0123)
        registry.gauge("earpiece_active_conversations", help: "Conversations.") { 2 }
        registry.gauge("earpiece_connections", help: "Connections.").set(-1.5)
        let latency = registry.histogram(
            "earpiece_llm_latency_seconds",
            help: "LLM latency.",
            buckets: [0.5, 1],
            labels: [("model", "small")]
        )
        latency.observe(0.25)
        latency.observe(.seconds(3))

        let samples = try PythonPrometheusParser.parse(registry.exposition())
        let byName = Dictionary(grouping: samples) { $0.name }
        #expect(samples.count == 11)

        let tips = try #require(byName["earpiece_tips_total"])
        #expect(tips.map(\.family) == ["earpiece_tips", "earpiece_tips"])
        #expect(tips.allSatisfy { $0.type == "counter" && $0.help == "Tips sent." })
        #expect(tips.map(\.labels) == [["source": "llm"], ["source": "rules"]])
        #expect(tips.map(\.value) == [3, 1])
        #expect(byName["earpiece_llm_tokens_total"]?.first?.value == 1200)
        #expect(byName["earpiece_llm_cost_usd_total"]?.first?.value == 0.0123)
        #expect(byName["earpiece_active_conversations"]?.first?.type == "gauge")
        #expect(byName["earpiece_active_conversations"]?.first?.value == 2)
        #expect(byName["earpiece_connections"]?.first?.value == -1.5)

        let buckets = try #require(byName["earpiece_llm_latency_seconds_bucket"])
        #expect(buckets.allSatisfy { $0.type == "histogram" && $0.family == "earpiece_llm_latency_seconds" })
        #expect(buckets.map { $0.labels["le"] } == ["0.5", "1", "+Inf"])
        #expect(buckets.allSatisfy { $0.labels["model"] == "small" })
        #expect(buckets.map(\.value) == [1, 1, 2])
        #expect(byName["earpiece_llm_latency_seconds_sum"]?.first?.value == 3.25)
        #expect(byName["earpiece_llm_latency_seconds_count"]?.first?.value == 2)
    }

    /// Five rounds by default; set METRICS_FUZZ_ROUNDS for a longer run.
    static let fuzzRounds = Int(ProcessInfo.processInfo.environment["METRICS_FUZZ_ROUNDS"] ?? "") ?? 5

    @Test("random label values, help texts and sample values survive the round trip", arguments: 0..<fuzzRounds)
    func randomTextsRoundTrip(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let registry = MetricsRegistry()
        var expected: [String: (help: String, labels: [String: String], value: Double)] = [:]
        for index in 0..<400 {
            let name = "fuzz_\(index)"
            // The format cannot carry whitespace at either end of a help text (parsers trim the line),
            // so the random part sits between brackets.
            let help = "[" + random.nextText() + "]"
            let labels = ["first": random.nextText(), "second": random.nextText()]
            let value = random.nextSampleValue()
            registry.gauge(name, help: help, labels: labels.map { ($0.key, $0.value) }) { value }
            expected[name] = (help, labels, value)
        }

        let samples = try PythonPrometheusParser.parse(registry.exposition())
        #expect(samples.count == expected.count)
        for sample in samples {
            let want = try #require(expected[sample.name], "unexpected sample \(sample.name)")
            #expect(sample.help == want.help)
            #expect(sample.labels == want.labels)
            #expect(sample.value == want.value || (sample.value.isNaN && want.value.isNaN))
        }
    }
}

/// Runs Python's `prometheus_client` text parser on an exposition.
enum PythonPrometheusParser {
    /// One parsed sample with its family's name, type and help.
    struct Sample: Equatable {
        var family: String
        var type: String
        var help: String
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Whether python3 can import `prometheus_client`; checked once.
    static let isAvailable: Bool = (try? Self.runPython(script: "import prometheus_client", input: "")) != nil

    /// Prints the samples as JSON, values as Python `repr` so that inf and nan survive.
    private static let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        with open(sys.argv[1], encoding="utf-8", newline="") as f:  # newline="": keep a carriage return as data
            text = f.read()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out.append({"family": family.name, "type": family.type, "help": family.documentation,
                            "name": sample.name, "labels": sample.labels, "value": repr(sample.value)})
        json.dump(out, sys.stdout)
        """

    /// The samples of `exposition`, in the order the parser gives them.
    static func parse(_ exposition: String) throws -> [Sample] {
        let output = try Self.runPython(script: Self.script, input: exposition)
        let json = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] ?? []
        return json.map { object in
            Sample(
                family: object["family"] as? String ?? "",
                type: object["type"] as? String ?? "",
                help: object["help"] as? String ?? "",
                name: object["name"] as? String ?? "",
                labels: object["labels"] as? [String: String] ?? [:],
                value: Double(object["value"] as? String ?? "") ?? -.greatestFiniteMagnitude
            )
        }
    }

    struct PythonFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `script` with a file holding `input` as its first argument; returns its standard output.
    /// Gives up after 60 seconds.
    private static func runPython(script: String, input: String) throws -> Data {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("metrics-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("exposition.txt")
        let outputFile = directory.appendingPathComponent("out.json")
        let errorFile = directory.appendingPathComponent("err.txt")
        try Data(input.utf8).write(to: inputFile)
        try Data().write(to: outputFile)
        try Data().write(to: errorFile)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, inputFile.path]
        let outputHandle = try FileHandle(forWritingTo: outputFile)
        defer { try? outputHandle.close() }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        defer { try? errorHandle.close() }
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw PythonFailed(description: "python3 did not finish in 60 s")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        guard process.terminationStatus == 0 else {
            let errors = String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self)
            throw PythonFailed(
                description: "python3 exited with status \(process.terminationStatus): \(errors.suffix(2000))"
            )
        }
        return try Data(contentsOf: outputFile)
    }
}

/// A small seeded generator, so a failing random case can be replayed.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// Characters that stress the format: its escapes and separators, other control and white-space
    /// characters, and multi-byte scalars.
    static let specialScalars: [Unicode.Scalar] = [
        "\\", "\"", "\n", "\r", "\t", "{", "}", "=", ",", "#", " ",
        "\u{0}", "\u{7F}", "é", "😀", "\u{2028}", "\u{85}",
    ]

    /// A text of up to 24 scalars, about half of them special.
    mutating func nextText() -> String {
        let length = Int(self.next() % 25)
        var text = ""
        for _ in 0..<length {
            if self.next() & 1 == 0 {
                text.unicodeScalars.append(Self.specialScalars[Int(self.next() % UInt64(Self.specialScalars.count))])
            } else {
                text.unicodeScalars.append(Unicode.Scalar(UInt8(0x20 + self.next() % 0x5F)))
            }
        }
        return text
    }

    /// A sample value: a special value, a small integer, or any finite bit pattern.
    mutating func nextSampleValue() -> Double {
        switch self.next() % 4 {
        case 0: return [0, -0.0, .infinity, -.infinity, .nan, 1e15, -1e15, 0.1][Int(self.next() % 8)]
        case 1: return Double(Int64(bitPattern: self.next()) % 1_000_000)
        default:
            let value = Double(bitPattern: self.next())
            return value.isFinite ? value : 1
        }
    }
}
