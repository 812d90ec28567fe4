/// The program's metrics, and their rendering for `GET /metrics` in the Prometheus text format 0.0.4.
///
/// Register every series once, at start-up, and keep the returned ``Counter``, ``Gauge`` or
/// ``Histogram``: registration takes a lock, while updating a series takes none. Registering the same
/// name and labels again returns the same instance, so two components may share a series.
///
/// Names and labels are chosen by our code, so misuse is a programmer error caught by `precondition`:
/// an invalid metric or label name, one name registered as two types, with two help texts or with
/// two bucket layouts, or two families whose sample names collide (a histogram `x` and a counter
/// `x_count`). Label values may be any string; they are escaped on output.
///
/// ```swift
/// let registry = MetricsRegistry()
/// let llmTips = registry.counter("earpiece_tips_total", help: "Tips sent.", labels: [("source", "llm")])
/// registry.gauge("earpiece_connections", help: "Open connections.") { Double(server.connectionCount) }
/// llmTips.increment()
/// let body = registry.exposition()
/// ```
public final class MetricsRegistry: Sendable {
    /// The `Content-Type` of ``exposition()``, for the HTTP response.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every family; registration and scrapes lock it, updates of a series never do.
    private let state: Locked<State>

    /// An empty registry.
    public init() {
        self.state = Locked(State())
    }

    /// The counter series `name` with `labels`, registered on first use.
    /// - Parameters:
    ///   - name: The family name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention it ends in `_total`.
    ///   - help: What the counter counts, printed on the `# HELP` line; the same for every series of `name`.
    ///   - labels: Label names and values; their order does not matter.
    /// - Returns: The series, the same instance for the same name and labels.
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        let series = self.register(name, help: help, kind: .counter, bounds: [], labels: labels) {
            .counter(Counter())
        }
        guard case .counter(let counter) = series else { preconditionFailure("unreachable: kind was checked") }
        return counter
    }

    /// The settable gauge series `name` with `labels`, registered on first use.
    /// - Parameters:
    ///   - name: The family name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    ///   - help: What the gauge measures, printed on the `# HELP` line; the same for every series of `name`.
    ///   - labels: Label names and values; their order does not matter.
    /// - Returns: The series, the same instance for the same name and labels.
    public func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        let series = self.register(name, help: help, kind: .gauge, bounds: [], labels: labels) {
            .gauge(Gauge())
        }
        guard case .gauge(let gauge) = series else {
            preconditionFailure("metric \(name) with these labels is already a gauge read by a closure")
        }
        return gauge
    }

    /// Registers the gauge series `name` with `labels`, whose value `read` computes at each scrape.
    ///
    /// Use it for values that already live elsewhere, such as the number of open connections. `read`
    /// runs on the scraping thread, outside the registry's lock, so it must be cheap and thread-safe.
    /// Registering the same name and labels again replaces `read`, so a restarted component can
    /// register anew.
    /// - Parameters:
    ///   - name: The family name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    ///   - help: What the gauge measures, printed on the `# HELP` line; the same for every series of `name`.
    ///   - labels: Label names and values; their order does not matter.
    ///   - read: Returns the current value.
    public func gauge(
        _ name: String,
        help: String,
        labels: [(String, String)] = [],
        _ read: @escaping @Sendable () -> Double
    ) {
        let series = self.register(name, help: help, kind: .gauge, bounds: [], labels: labels, replacing: true) {
            .reading(read)
        }
        guard case .reading = series else {
            preconditionFailure("metric \(name) with these labels is already a settable gauge")
        }
    }

    /// The histogram series `name` with `labels`, registered on first use.
    /// - Parameters:
    ///   - name: The family name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention it ends in the unit (`_seconds`).
    ///   - help: What the histogram measures, printed on the `# HELP` line; the same for every series of `name`.
    ///   - buckets: The finite bucket upper bounds, strictly increasing; a trailing `+Inf` may be given
    ///     and is always implied. The same for every series of `name`.
    ///   - labels: Label names and values, except `le`; their order does not matter.
    /// - Returns: The series, the same instance for the same name and labels.
    public func histogram(
        _ name: String,
        help: String,
        buckets: [Double] = Histogram.defaultBuckets,
        labels: [(String, String)] = []
    ) -> Histogram {
        var bounds = buckets
        if bounds.last == .infinity { bounds.removeLast() }
        for (index, bound) in bounds.enumerated() {
            precondition(bound.isFinite, "bucket bounds of \(name) must be finite, except a last +Inf")
            precondition(index == 0 || bounds[index - 1] < bound, "bucket bounds of \(name) must increase strictly")
        }
        let series = self.register(name, help: help, kind: .histogram, bounds: bounds, labels: labels) {
            .histogram(Histogram(bounds: bounds))
        }
        guard case .histogram(let histogram) = series else { preconditionFailure("unreachable: kind was checked") }
        return histogram
    }

    /// Every family in the Prometheus text format 0.0.4, the body of a `GET /metrics` response.
    ///
    /// Families are sorted by name, each with one `# HELP` and one `# TYPE` line; series within a
    /// family are sorted by their labels, which are sorted by name. Closure-backed gauges are read
    /// now, on the calling thread, outside the registry's lock.
    public func exposition() -> String {
        // Copy the families out under the lock (copy-on-write: no series is copied), then render
        // without it, so a slow gauge closure never blocks registration.
        let families = self.state.withLock { state in
            state.sortedNames.map { state.families[$0]! }
        }
        var output = ""
        output.reserveCapacity(families.count * 256)
        for family in families {
            family.append(to: &output)
        }
        return output
    }

    /// Finds or creates the series `name` with `labels`, checking the names and that the family's
    /// kind, help and buckets agree with earlier registrations.
    private func register(
        _ name: String,
        help: String,
        kind: Family.Kind,
        bounds: [Double],
        labels: [(String, String)],
        replacing: Bool = false,
        make: () -> Family.Series
    ) -> Family.Series {
        precondition(MetricName.isValidMetricName(name), "invalid metric name \(name)")
        let key = Family.renderLabels(labels, of: name, kind: kind)
        return self.state.withLock { state in
            if state.families[name] == nil {
                let claimed = kind.sampleNames(of: name)
                for sampleName in claimed {
                    if let owner = state.sampleNameOwners[sampleName] {
                        preconditionFailure("metric \(name) would print samples named \(sampleName), as \(owner) does")
                    }
                }
                for sampleName in claimed {
                    state.sampleNameOwners[sampleName] = name
                }
                state.families[name] = Family(name: name, help: help, kind: kind, bounds: bounds)
                let position = state.sortedNames.firstIndex { $0 > name } ?? state.sortedNames.endIndex
                state.sortedNames.insert(name, at: position)
            }
            return state.families[name]!.series(
                for: key,
                help: help,
                kind: kind,
                bounds: bounds,
                replacing: replacing,
                make: make
            )
        }
    }
}

extension MetricsRegistry {
    /// What the registry's lock protects.
    struct State: ~Copyable {
        /// The families by name.
        var families: [String: Family] = [:]
        /// The keys of `families` in increasing order, the order of the exposition.
        var sortedNames: [String] = []
        /// Which family prints each sample name, to catch families whose samples would collide.
        var sampleNameOwners: [String: String] = [:]
    }

    /// The series that share one metric name: one `# HELP` and `# TYPE` block of the exposition.
    struct Family: Sendable {
        /// The Prometheus metric type.
        enum Kind: String, Sendable {
            case counter
            case gauge
            case histogram

            /// The sample names a family of this kind prints.
            func sampleNames(of name: String) -> [String] {
                switch self {
                case .counter, .gauge: [name]
                case .histogram: [name, name + "_bucket", name + "_sum", name + "_count"]
                }
            }
        }

        /// One labelled series.
        enum Series: Sendable {
            case counter(Counter)
            case gauge(Gauge)
            case reading(@Sendable () -> Double)
            case histogram(Histogram)
        }

        let name: String
        let help: String
        let kind: Kind
        /// The finite bucket bounds of a histogram family; empty otherwise.
        let bounds: [Double]
        /// `bounds` as `le` label values, rendered once.
        let renderedBounds: [String]
        /// The series by their rendered label pairs (`a="x",b="y"`, empty without labels).
        var series: [String: Series] = [:]
        /// The keys of `series` in increasing order.
        var sortedKeys: [String] = []

        init(name: String, help: String, kind: Kind, bounds: [Double]) {
            self.name = name
            self.help = help
            self.kind = kind
            self.bounds = bounds
            self.renderedBounds = bounds.map { bound in
                var text = ""
                TextFormat.appendValue(bound, to: &text)
                return text
            }
        }

        /// Finds or creates the series for `key`, after checking that the registration agrees with the family.
        mutating func series(
            for key: String,
            help: String,
            kind: Kind,
            bounds: [Double],
            replacing: Bool,
            make: () -> Series
        ) -> Series {
            precondition(self.kind == kind, "metric \(self.name) is a \(self.kind.rawValue), not a \(kind.rawValue)")
            precondition(self.help == help, "metric \(self.name) is registered with two different help texts")
            precondition(self.bounds == bounds, "metric \(self.name) is registered with two different bucket layouts")
            if let existing = self.series[key] {
                // Only a closure gauge is replaced, and only by another closure gauge.
                guard replacing, case .reading = existing else { return existing }
            } else {
                let position = self.sortedKeys.firstIndex { $0 > key } ?? self.sortedKeys.endIndex
                self.sortedKeys.insert(key, at: position)
            }
            let created = make()
            self.series[key] = created
            return created
        }

        /// `labels` sorted by name and rendered as `a="x",b="y"`, after checking their names.
        static func renderLabels(_ labels: [(String, String)], of name: String, kind: Kind) -> String {
            let sorted = labels.sorted { $0.0 < $1.0 }
            var rendered = ""
            for (index, (labelName, value)) in sorted.enumerated() {
                precondition(MetricName.isValidLabelName(labelName), "invalid label name \(labelName) on \(name)")
                precondition(
                    !MetricName.isReservedLabelName(labelName),
                    "label name \(labelName) on \(name) is reserved"
                )
                precondition(kind != .histogram || labelName != "le", "label name le on histogram \(name) is reserved")
                precondition(
                    index == 0 || sorted[index - 1].0 != labelName,
                    "label \(labelName) given twice on \(name)"
                )
                if index > 0 { rendered += "," }
                rendered += labelName
                rendered += "=\""
                TextFormat.appendLabelValue(value, to: &rendered)
                rendered += "\""
            }
            return rendered
        }

        /// Appends the family's `# HELP` and `# TYPE` lines and every series' samples.
        func append(to output: inout String) {
            output += "# HELP "
            output += self.name
            output += " "
            TextFormat.appendHelp(self.help, to: &output)
            output += "\n# TYPE "
            output += self.name
            output += " "
            output += self.kind.rawValue
            output += "\n"
            for key in self.sortedKeys {
                let series = self.series[key]!
                if case .histogram(let histogram) = series {
                    histogram.appendSamples(
                        name: self.name,
                        labels: key,
                        renderedBounds: self.renderedBounds,
                        to: &output
                    )
                    continue
                }
                output += self.name
                if !key.isEmpty {
                    output += "{"
                    output += key
                    output += "}"
                }
                output += " "
                switch series {
                case .counter(let counter): counter.appendValue(to: &output)
                case .gauge(let gauge): TextFormat.appendValue(gauge.value, to: &output)
                case .reading(let read): TextFormat.appendValue(read(), to: &output)
                case .histogram: preconditionFailure("unreachable: handled above")
                }
                output += "\n"
            }
        }
    }
}
