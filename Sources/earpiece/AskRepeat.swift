import Glibc
import IOPosix
import OpenAI

/// `earpiece ask --repeat N`: the client's own cost per request. The same request is sent N times, one
/// after the other, over the client's keep-alive pool; instead of the answers, one line of `key=value`
/// figures goes to standard output (Benchmarks/openai-bench.sh reads it, and so does its Python peer's
/// equivalent, Benchmarks/peers/openai_sdk_client.py):
///
///     requests=N seconds=S requests_per_sec=R cpu_seconds=C cpu_us_per_request=U
///     ttfd_p50_us=… ttfd_p99_us=… total_p50_us=… total_p99_us=… errors=E
///
/// `ttfd` is the time from handing the request to the client to the first answer text in the caller's
/// hands (for `--no-stream` that is the whole answer, so it equals `total`). CPU time is the whole process's
/// (`getrusage(RUSAGE_SELF)`: the calling task and the event loop thread alike) over the measured requests.
/// The exit status is 0 when no request failed.
enum AskRepeat {
    /// Runs `warmupCount` unmeasured requests, then `count` measured ones, and prints the figures.
    ///
    /// - Parameter fromLoop: false: the requests are made from this command's own task, on Swift's global
    ///   pool, as any program would call the client; the connection's I/O runs on `group`'s loop, so each
    ///   request also pays thread hand-overs between the two. True: from a task that prefers the loop as its
    ///   executor, as the server's conversations call the client (from their connection's loop).
    static func run(
        client: OpenAIClient, group: EventLoopGroup, request: ChatRequest, streams: Bool, count: Int, warmupCount: Int,
        fromLoop: Bool, configuration: OpenAIConfiguration
    ) async -> Int32 {
        let outcome = await withTaskExecutorPreference(fromLoop ? group.loops[0] : nil) {
            await Self.measure(client: client, request: request, streams: streams, count: count, warmup: warmupCount)
        }
        if let failure = outcome.firstFailure {
            printError("earpiece ask: \(outcome.failures) of \(count + warmupCount) requests failed; the first: "
                + Ask.explain(failure, configuration: configuration))
        }
        guard let figures = outcome.figures else { return 1 }
        writeOut(figures.line + "\n")
        return figures.errors == 0 ? 0 : 1
    }

    /// What a run found: the figures (nil when a warm-up request failed, so nothing was measured) and the
    /// first failure.
    struct Outcome: Sendable {
        var figures: Figures?
        var failures = 0
        var firstFailure: OpenAIError?
    }

    /// Sends the requests and times them.
    private static func measure(
        client: OpenAIClient, request: ChatRequest, streams: Bool, count: Int, warmup warmupCount: Int
    ) async -> Outcome {
        var outcome = Outcome()
        for _ in 0..<warmupCount {
            do {
                _ = try await Self.send(request, client: client, streams: streams)
            } catch {
                // A warm-up that fails means the endpoint is not there: measuring failures would mean nothing.
                outcome.failures += 1
                outcome.firstFailure = outcome.firstFailure ?? error
                return outcome
            }
        }
        var timings = Timings(capacity: count)
        let cpuBefore = Self.processCPUNanoseconds()
        let start = Self.monotonicNanoseconds()
        for _ in 0..<count {
            do {
                let timing = try await Self.send(request, client: client, streams: streams)
                timings.record(timing)
            } catch {
                outcome.failures += 1
                outcome.firstFailure = outcome.firstFailure ?? error
            }
        }
        let elapsed = Self.monotonicNanoseconds() - start
        let cpu = Self.processCPUNanoseconds() - cpuBefore
        outcome.figures = Figures(
            requests: count, errors: outcome.failures, elapsed: elapsed, cpu: cpu, timings: timings
        )
        return outcome
    }

    /// How long one request took: to the first answer text, and to its end (nanoseconds).
    struct Timing: Sendable {
        var firstDelta: UInt64
        var total: UInt64
    }

    /// One request, read to its end.
    private static func send(
        _ request: ChatRequest, client: OpenAIClient, streams: Bool
    ) async throws(OpenAIError) -> Timing {
        let start = Self.monotonicNanoseconds()
        guard streams else {
            _ = try await client.complete(request)
            let total = Self.monotonicNanoseconds() - start
            return Timing(firstDelta: total, total: total)
        }
        var firstDelta: UInt64?
        for try await event in client.stream(request) {
            if firstDelta == nil, case .delta = event { firstDelta = Self.monotonicNanoseconds() - start }
        }
        let total = Self.monotonicNanoseconds() - start
        // An answer without text (possible with max_tokens 0 on some servers) had its "first text" at the end.
        return Timing(firstDelta: firstDelta ?? total, total: total)
    }

    /// The successful requests' timings, kept whole so that percentiles are exact (16 bytes per request,
    /// 16 MB for the largest `--repeat`, reserved up front so that recording one does not allocate).
    struct Timings: Sendable {
        /// Nanoseconds to the first answer text, one per successful request.
        var firstDelta: [UInt64] = []
        /// Nanoseconds to the end of the answer, one per successful request.
        var total: [UInt64] = []

        init(capacity: Int) {
            self.firstDelta.reserveCapacity(capacity)
            self.total.reserveCapacity(capacity)
        }

        mutating func record(_ timing: Timing) {
            self.firstDelta.append(timing.firstDelta)
            self.total.append(timing.total)
        }
    }

    /// The figures of a run, as the one `key=value` line prints them.
    struct Figures: Sendable {
        /// The measured requests, failed ones included.
        var requests: Int
        /// The measured requests that failed.
        var errors: Int
        /// Wall-clock and CPU time of the measured requests, in nanoseconds.
        var elapsed: UInt64
        var cpu: UInt64
        var timings: Timings

        /// `requests=… seconds=… requests_per_sec=… cpu_seconds=… cpu_us_per_request=… ttfd_p50_us=…
        /// ttfd_p99_us=… total_p50_us=… total_p99_us=… errors=…`. Rates and CPU per request count every
        /// measured request, failed ones included (a failure also costs time); latencies only the successful.
        var line: String {
            let seconds = Double(self.elapsed) / 1e9
            let requestsPerSecond = seconds > 0 ? Double(self.requests) / seconds : 0
            let cpuMicrosecondsPerRequest = self.requests > 0 ? Double(self.cpu) / 1e3 / Double(self.requests) : 0
            let firstDelta = self.timings.firstDelta.sorted()
            let total = self.timings.total.sorted()
            func microseconds(_ sorted: [UInt64], _ fraction: Double) -> String {
                AskRepeat.fixedPoint(Double(Self.percentile(sorted, fraction)) / 1e3, decimals: 1)
            }
            return "requests=\(self.requests) seconds=\(AskRepeat.fixedPoint(seconds, decimals: 4)) "
                + "requests_per_sec=\(AskRepeat.fixedPoint(requestsPerSecond, decimals: 1)) "
                + "cpu_seconds=\(AskRepeat.fixedPoint(Double(self.cpu) / 1e9, decimals: 4)) "
                + "cpu_us_per_request=\(AskRepeat.fixedPoint(cpuMicrosecondsPerRequest, decimals: 1)) "
                + "ttfd_p50_us=\(microseconds(firstDelta, 0.5)) ttfd_p99_us=\(microseconds(firstDelta, 0.99)) "
                + "total_p50_us=\(microseconds(total, 0.5)) total_p99_us=\(microseconds(total, 0.99)) "
                + "errors=\(self.errors)"
        }

        /// The nearest-rank percentile of `sorted` (ascending): the smallest value with at least `fraction` of
        /// the values at or below it; 0 for no values.
        static func percentile(_ sorted: [UInt64], _ fraction: Double) -> UInt64 {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((fraction * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds: what Python's `time.perf_counter_ns` reads, so both clients time alike.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// User plus system CPU time of the whole process (every thread), in nanoseconds.
    static func processCPUNanoseconds() -> UInt64 {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func nanoseconds(_ time: timeval) -> UInt64 {
            UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1_000
        }
        return nanoseconds(usage.ru_utime) + nanoseconds(usage.ru_stime)
    }

    /// `value` with exactly `decimals` digits after the point (rounded half away from zero), without the
    /// exponent notation `Double.description` switches to for small and large numbers.
    static func fixedPoint(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return value.description }
        let units = UInt64(scaled)
        let power = UInt64(scale)
        var text = value < 0 && units > 0 ? "-" : ""
        text += String(units / power)
        if decimals > 0 {
            let fraction = String(units % power)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }
}
