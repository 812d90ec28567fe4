import Foundation
import IOPosix
import Logging
@testable import OpenAI
import TestKit
import Testing

/// A failure raised by the test helpers.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` but fails the test if it takes longer than `limit` (every live test is bounded).
func withTimeLimit<T: Sendable>(
    _ limit: Duration = .seconds(15), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestFailure("test body exceeded its time limit of \(limit)")
        }
        return value
    }
}

/// A configuration for `server`: the test CA, tiny retry delays, short deadlines.
func testConfiguration(port: Int, tls: Bool = true, host: String = "127.0.0.1") throws -> OpenAIConfiguration {
    var configuration = try OpenAIConfiguration(apiKey: "sk-test-secret", baseURL: "\(tls ? "https" : "http")://\(host):\(port)/v1")
    configuration.certificateAuthorityFile = try CertificateFixtures.shared.get().ca.certificate
    configuration.retry = RetryPolicy(
        maximumAttempts: 3, initialBackoff: .milliseconds(5), maximumBackoff: .milliseconds(20), maximumTotalTime: .seconds(5),
        maximumRetryAfter: .seconds(2)
    )
    configuration.timeouts = OpenAITimeouts(connect: .seconds(3), firstByte: .seconds(3), request: .seconds(8))
    configuration.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 50, coolDown: .milliseconds(200))
    return configuration
}

/// Starts `server`'s script, makes a client with `configure` applied, runs `body`, and tears both down.
func withClient(
    server: FakeOpenAIServer,
    tls: Bool = true,
    limit: Duration = .seconds(15),
    logger: Logger = Logger(label: "earpiece.openai.test"),
    configure: @escaping @Sendable (inout OpenAIConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (OpenAIClient, FakeOpenAIServer) async throws -> Void
) async throws {
    let group = try EventLoopGroup(loopCount: 1)
    do {
        var configuration = try testConfiguration(port: server.port, tls: tls)
        configure(&configuration)
        let client = try OpenAIClient(configuration: configuration, group: group, logger: logger)
        try await withTimeLimit(limit) { try await body(client, server) }
        client.shutdown()
    } catch {
        await server.shutdown()
        group.shutdown()
        throw error
    }
    await server.shutdown()
    group.shutdown()
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(3), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Expects `body` to throw an ``OpenAIError`` and returns it.
func expectOpenAIError<T>(
    _ body: () async throws(OpenAIError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) async -> OpenAIError? {
    do {
        _ = try await body()
        Issue.record("expected an OpenAIError, got a result", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A random source that always returns the same value (0 gives the shortest jitter, max the longest).
struct ConstantGenerator: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { self.value }
}

/// Keeps every log line (message and metadata) so tests can check what was logged.
struct CapturingLogHandler: LogHandler {
    let lines: Locked<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
        self.lines.withLock { $0.append("\(event.level) \(event.message) \(metadata)") }
    }
}
