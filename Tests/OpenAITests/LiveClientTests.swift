import Foundation
import HTTPCore
import IOCore
import IOPosix
import JSON
import Logging
@testable import OpenAI
import TestKit
import Testing

/// A structured answer for `completeStructured`.
struct CoachingTip: Decodable, Equatable {
    var tip: String
    var urgency: Int
}

let coachingTipSchema = JSONSchemaFormat(
    name: "coaching_tip",
    schema: [
        "type": "object", "properties": ["tip": ["type": "string"], "urgency": ["type": "integer"]],
        "required": ["tip", "urgency"], "additionalProperties": false,
    ]
)

/// Reads a stream to its end, returning its events.
func drain(_ stream: ChatStream) async throws(OpenAIError) -> [ChatStreamEvent] {
    var events: [ChatStreamEvent] = []
    for try await event in stream { events.append(event) }
    return events
}

func deltas(_ events: [ChatStreamEvent]) -> String {
    events.reduce(into: "") { text, event in if case .delta(let piece) = event { text += piece } }
}

@Suite("OpenAI client against a local TLS server", .serialized)
struct LiveClientTests {
    @Test func normalAnswer_returnsContentUsageCostAndMetadata_afterOneAttempt() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in
            .completion("Ask about their budget.", prompt: 120, cached: 100, completion: 6, headers: [
                ("x-ratelimit-remaining-requests", "499"), ("x-ratelimit-reset-tokens", "6m0s"),
            ])
        }
        try await withClient(server: server) { client, server in
            let completion = try await client.complete(ChatRequest(messages: [.system("Coach."), .user("Hello")]))
            #expect(completion.content == "Ask about their budget.")
            #expect(completion.usage == Usage(promptTokens: 120, cachedPromptTokens: 100, completionTokens: 6))
            #expect(completion.cost == Cost(picodollars: 20 * 150_000 + 100 * 75_000 + 6 * 600_000))
            #expect(completion.metadata.requestID == "req_fake")
            #expect(completion.metadata.attempts == 1)
            #expect(completion.metadata.rateLimits.remainingRequests == 499)
            #expect(completion.metadata.rateLimits.resetTokens == .seconds(360))
            let request = try #require(server.requests.first)
            #expect(request.head.method == .post)
            #expect(request.head.target == "/v1/chat/completions")
            #expect(request.head.headers["Authorization"] == "Bearer sk-test-secret")
            #expect(request.head.headers["Content-Type"] == "application/json")
            #expect(request.json["model"] as? String == "gpt-4o-mini")
            #expect(request.json["stream"] == nil)
            #expect(server.requestCount == 1)
        }
    }

    @Test func chunkedNonStreamedAnswer_isReassembled() async throws {
        let body = Array(completionJSON("Chunked ✓ answer").utf8)
        let server = try FakeOpenAIServer.tls { _, _ in
            .chunked(contentType: "application/json", body: body, chunkCuts: [1, 50, 51, 200], wireCuts: [3, 60, 61])
        }
        try await withClient(server: server) { client, _ in
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.content == "Chunked ✓ answer")
            #expect(completion.metadata.attempts == 1)
        }
    }

    @Test func streamedAnswer_splitAtAwkwardBoundaries_arrivesAsDeltas_withUsageLast() async throws {
        let pieces = ["Hél", "lo, ", "wörld 👋", " — ok", "日本"]
        let body = streamBody(pieces, prompt: 30, cached: 10, completion: 5)
        let bodyText = String(decoding: body, as: UTF8.self)
        // Cut HTTP chunks inside "data:", inside a UTF-8 sequence, and between "\n" and "\n".
        let dataOffset = bodyText.utf8.count - String(bodyText[bodyText.range(of: "data: {", options: .backwards)!.lowerBound...]).utf8.count
        let emojiOffset = Array(bodyText.utf8).firstIndex(of: 0xF0)!  // first byte of 👋
        let doubleNewline = Array(bodyText.utf8).indices.first { body[$0] == 10 && body[$0 + 1] == 10 }!
        let chunkCuts = [dataOffset + 2, emojiOffset + 1, emojiOffset + 3, doubleNewline + 1, 7, 100]
        // And the wire pieces: inside chunk-size lines and CRLFs.
        let wireCuts = Array(stride(from: 1, to: body.count + 40, by: 37))
        let server = try FakeOpenAIServer.tls { _, _ in
            .chunked(contentType: "text/event-stream; charset=utf-8", body: body, chunkCuts: chunkCuts, wireCuts: wireCuts, gap: .milliseconds(1))
        }
        try await withClient(server: server) { client, server in
            let events = try await drain(client.stream(ChatRequest(messages: [.user("Say hello")])))
            #expect(deltas(events) == pieces.joined())
            guard case .metadata(let metadata) = events.first else {
                Issue.record("the first event is not the metadata")
                return
            }
            #expect(metadata.requestID == "req_stream")
            #expect(metadata.attempts == 1)
            let usage = Usage(promptTokens: 30, cachedPromptTokens: 10, completionTokens: 5)
            #expect(events.suffix(2) == [.usage(usage, TokenPrices.gpt4oMini.cost(of: usage)), .done(finishReason: .stop)])
            let request = try #require(server.requests.first)
            #expect(request.json["stream"] as? Bool == true)
            #expect((request.json["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
            #expect(request.head.headers["Accept"] == "text/event-stream")
        }
    }

    @Test func streamedAnswer_withCRLFLineEnds_isParsedToo() async throws {
        let body = streamBody(["a", "b"], lineEnd: "\r\n")
        let server = try FakeOpenAIServer.tls { _, _ in
            .chunked(contentType: "text/event-stream", body: body, chunkCuts: Array(stride(from: 1, to: body.count, by: 5)))
        }
        try await withClient(server: server) { client, _ in
            let events = try await drain(client.stream(ChatRequest(messages: [.user("x")])))
            #expect(deltas(events) == "ab")
        }
    }

    @Test func firstDelta_arrivesBeforeTheRestOfTheAnswerIsGenerated() async throws {
        let body = streamBody(["First", " second"])
        let text = String(decoding: body, as: UTF8.self)
        let secondDelta = text.utf8.count - String(text[text.range(of: "\" second\"")!.lowerBound...]).utf8.count
        // The first delta's chunk goes out, then the model "thinks" 300 ms before the rest (which
        // starts in the middle of the second event).
        let framedFirst = Array(String(secondDelta, radix: 16).utf8) + [13, 10] + Array(body[..<secondDelta]) + [13, 10]
        let slowServer = try FakeOpenAIServer.tls { _, _ in
            .chunked(contentType: "text/event-stream", body: body, chunkCuts: [secondDelta], wireCuts: [framedFirst.count], gap: .milliseconds(300))
        }
        try await withClient(server: slowServer) { client, _ in
            let start = ContinuousClock.now
            var firstDeltaAt: Duration?
            var text = ""
            for try await event in client.stream(ChatRequest(messages: [.user("x")])) {
                if case .delta(let piece) = event {
                    if firstDeltaAt == nil { firstDeltaAt = ContinuousClock.now - start }
                    text += piece
                }
            }
            #expect(text == "First second")
            let first = try #require(firstDeltaAt)
            let end = ContinuousClock.now - start
            #expect(end - first >= .milliseconds(250), "the first delta waited for the rest: \(first) of \(end)")
        }
    }

    @Test func malformedJSON_isATypedError_andNotRetried() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .response(body: #"{"id":"x","choices":[{"message":{"content":"trunc"#) }
        try await withClient(server: server) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .malformedResponse(""))
            #expect(error?.attempts == 1)
            #expect(server.requestCount == 1)
        }
    }

    @Test func structuredOutput_decodesIntoTheType_andSendsTheSchema() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion(#"{"tip":"Mention the discount","urgency":2}"#) }
        try await withClient(server: server) { client, server in
            let (tip, completion) = try await client.completeStructured(ChatRequest(messages: [.user("x")]), as: CoachingTip.self, schema: coachingTipSchema)
            #expect(tip == CoachingTip(tip: "Mention the discount", urgency: 2))
            #expect(completion.usage != nil)
            let format = try #require(server.requests.first?.json["response_format"] as? [String: Any])
            #expect(format["type"] as? String == "json_schema")
            #expect((format["json_schema"] as? [String: Any])?["strict"] as? Bool == true)
        }
    }

    @Test func structuredOutput_thatDoesNotMatchTheType_isASchemaMismatch() async throws {
        let answers = [#"{"tip":"x"}"#, #"{"tip":"x","urgency":"high"}"#, "not json at all", #"["tip"]"#]
        let server = try FakeOpenAIServer.tls { index, _ in .completion(answers[index % answers.count]) }
        try await withClient(server: server) { client, server in
            for _ in answers {
                let error = await expectOpenAIError { () async throws(OpenAIError) in
                    try await client.completeStructured(ChatRequest(messages: [.user("x")]), as: CoachingTip.self, schema: coachingTipSchema)
                }
                #expect(error == .schemaMismatch(""))
                #expect(error?.requestID == "req_fake")
            }
            #expect(server.requestCount == answers.count)
            #expect(!client.isCircuitOpen)
        }
    }

    @Test func structuredOutput_cutShortByTheTokenLimit_isASchemaMismatch() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .response(body: completionJSON(#"{"tip":"Men"#, finishReason: "length")) }
        try await withClient(server: server) { client, _ in
            let error = await expectOpenAIError { () async throws(OpenAIError) in
                try await client.completeStructured(ChatRequest(messages: [.user("x")]), as: CoachingTip.self, schema: coachingTipSchema)
            }
            #expect(error == .schemaMismatch(""))
            #expect(error?.detail.contains("length") == true)
        }
    }

    @Test func refusal_isATypedError_forCompletionsAndStreams() async throws {
        let refusalJSON = #"{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#
        let refusalStream = Array((#"data: {"choices":[{"index":0,"delta":{"refusal":"I can't "},"finish_reason":null}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"refusal":"help."},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n").utf8)
        let server = try FakeOpenAIServer.tls { index, _ in
            index < 2 ? .response(body: refusalJSON) : .chunked(contentType: "text/event-stream", body: refusalStream, chunkCuts: [20])
        }
        try await withClient(server: server) { client, server in
            let plain = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(plain == .refusal(""))
            #expect(plain?.refusal == "I can't help with that.")
            let structured = await expectOpenAIError { () async throws(OpenAIError) in
                try await client.completeStructured(ChatRequest(messages: [.user("x")]), as: CoachingTip.self, schema: coachingTipSchema)
            }
            #expect(structured == .refusal(""))
            let streamed = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(ChatRequest(messages: [.user("x")]))) }
            #expect(streamed == .refusal(""))
            #expect(streamed?.refusal == "I can't help.")
            #expect(server.requestCount == 3)
        }
    }

    @Test func rateLimited429WithRetryAfter_isRetriedAfterTheHint_thenSucceeds() async throws {
        let server = try FakeOpenAIServer.tls { index, _ in
            index == 0
                ? .apiError(status: 429, message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded", headers: [("Retry-After", "0.3")])
                : .completion("after the wait")
        }
        try await withClient(server: server) { client, server in
            let start = ContinuousClock.now
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.content == "after the wait")
            #expect(completion.metadata.attempts == 2)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(server.requestCount == 2)
            // The 429's body was read, so its connection was reused for the retry.
            #expect(server.connectionsOpened == 1)
        }
    }

    @Test func retryAfterMilliseconds_isHonoured() async throws {
        let server = try FakeOpenAIServer.tls { index, _ in
            index == 0 ? .apiError(status: 429, message: "slow down", type: "tokens", code: nil, headers: [("retry-after-ms", "150")]) : .completion("ok")
        }
        try await withClient(server: server) { client, _ in
            let start = ContinuousClock.now
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.metadata.attempts == 2)
            #expect(ContinuousClock.now - start >= .milliseconds(150))
        }
    }

    @Test func serverError500_isRetried_thenSucceeds() async throws {
        let server = try FakeOpenAIServer.tls { index, _ in
            index == 0 ? .apiError(status: 500, message: "The server had an error", type: "server_error", code: nil) : .completion("fine now")
        }
        try await withClient(server: server) { client, server in
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.content == "fine now")
            #expect(completion.metadata.attempts == 2)
            #expect(server.requestCount == 2)
        }
    }

    @Test func persistentServerErrors_failAfterTheAttemptCap_withTheAPIError() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .apiError(status: 503, message: "Overloaded", type: "server_error", code: "overloaded") }
        try await withClient(server: server) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .http(503))
            #expect(error?.attempts == 3)
            #expect(error?.apiError == APIErrorBody(message: "Overloaded", type: "server_error", code: "overloaded"))
            #expect(error?.requestID == "req_err_503")
            #expect(server.requestCount == 3)
        }
    }

    @Test(arguments: [400, 401, 403, 404])
    func clientErrors_areNotRetried(status: Int) async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .apiError(status: status, message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key") }
        try await withClient(server: server) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .http(status))
            #expect(error?.attempts == 1)
            #expect(error?.apiError?.code == "invalid_api_key")
            #expect(server.requestCount == 1)
        }
    }

    @Test func hangingServer_hitsTheFirstByteDeadline_onEveryAttempt() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .hang }
        try await withClient(server: server, configure: { configuration in
            configuration.timeouts.firstByte = .milliseconds(200)
            configuration.retry.maximumAttempts = 2
        }) { client, server in
            let start = ContinuousClock.now
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            let elapsed = ContinuousClock.now - start
            #expect(error == .timedOut(.firstByte))
            #expect(error?.attempts == 2)
            #expect(server.requestCount == 2)
            #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(10))  // loose upper bound: CI machines are loaded
        }
    }

    @Test func wholeRequestDeadline_endsAStreamThatTrickles() async throws {
        let body = streamBody(["never", "finished"])
        let server = try FakeOpenAIServer.tls { _, _ in
            // The head and a first chunk, then silence: the connection stays open.
            .chunked(contentType: "text/event-stream", body: Array(body.prefix(200)), chunkCuts: [], omitTerminator: true)
        }
        try await withClient(server: server, configure: { $0.timeouts.request = .milliseconds(400) }) { client, server in
            let start = ContinuousClock.now
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(ChatRequest(messages: [.user("x")]))) }
            let elapsed = ContinuousClock.now - start
            #expect(error == .timedOut(.request))
            #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(10))  // loose upper bound: CI machines are loaded
            // The connection was closed, not pooled.
            #expect(await eventually { server.connectionsClosed == 1 })
            #expect(client.pool.idleConnectionCount == 0)
        }
    }

    @Test func connectionResetMidStream_endsTheStreamWithAConnectionError_withoutRetry() async throws {
        let body = streamBody(["partial", " answer", " never", " ends"])
        let server = try FakeOpenAIServer.tls { _, _ in
            .chunked(contentType: "text/event-stream", body: Array(body.prefix(body.count / 2)), chunkCuts: [100], wireCuts: [50], then: .abort, omitTerminator: true)
        }
        try await withClient(server: server) { client, server in
            var received = ""
            do {
                for try await event in client.stream(ChatRequest(messages: [.user("x")])) {
                    if case .delta(let piece) = event { received += piece }
                }
                Issue.record("the stream ended without an error")
            } catch let error as OpenAIError {
                #expect(error == .connection(""))
                #expect(error.attempts == 1)
            }
            #expect(received.hasPrefix("partial"))
            #expect(server.requestCount == 1)
        }
    }

    @Test func untrustedCertificate_isRefused_withoutRetry() async throws {
        let fixtures = try CertificateFixtures.shared.get()
        let server = try FakeOpenAIServer.tls(fixtures.untrustedLeaf) { _, _ in .completion("must not be read") }
        try await withClient(server: server) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .tlsFailure(""))
            #expect(error?.attempts == 1)
            #expect(server.requestCount == 0)
        }
    }

    @Test func certificateForAnotherName_isRefused() async throws {
        let fixtures = try CertificateFixtures.shared.get()
        let server = try FakeOpenAIServer.tls(fixtures.wrongNameLeaf) { _, _ in .completion("must not be read") }
        try await withClient(server: server) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .tlsFailure(""))
            #expect(server.requestCount == 0)
        }
    }

    @Test func systemTrustStore_refusesTheTestCA() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion("must not be read") }
        try await withClient(server: server, configure: { $0.certificateAuthorityFile = nil }) { client, server in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(error == .tlsFailure(""))
            #expect(server.requestCount == 0)
        }
    }

    @Test func sequentialRequests_reuseOneKeepAliveConnection() async throws {
        let server = try FakeOpenAIServer.tls { index, _ in
            index % 2 == 0 ? .completion("json \(index)") : .chunked(contentType: "text/event-stream", body: streamBody(["s\(index)"]), chunkCuts: [40])
        }
        try await withClient(server: server) { client, server in
            for index in 0..<6 {
                if index % 2 == 0 {
                    let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
                    #expect(completion.content == "json \(index)")
                    #expect(completion.metadata.reusedConnection == (index > 0))
                } else {
                    let events = try await drain(client.stream(ChatRequest(messages: [.user("x")])))
                    #expect(deltas(events) == "s\(index)")
                }
            }
            #expect(server.requestCount == 6)
            #expect(server.connectionsOpened == 1)
            #expect(server.requests.allSatisfy { $0.connectionIndex == 0 })
        }
    }

    @Test func connectionClose_fromTheServer_preventsReuse() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion("bye", headers: [("Connection", "close")]) }
        try await withClient(server: server) { client, server in
            for _ in 0..<3 { _ = try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(server.connectionsOpened == 3)
        }
    }

    @Test func abandonedStream_closesItsConnection_andIsNotReused() async throws {
        let body = streamBody(["one", "two", "three"])
        let text = String(decoding: body, as: UTF8.self)
        // The first chunk ends inside the "two" event; the rest comes 500 ms later, long after the caller left.
        let cut = text.utf8.count - String(text[text.range(of: "\"two\"")!.lowerBound...]).utf8.count
        let framedFirst = String(cut, radix: 16).utf8.count + 2 + cut + 2
        let server = try FakeOpenAIServer.tls { index, _ in
            index == 0
                ? .chunked(contentType: "text/event-stream", body: body, chunkCuts: [cut], wireCuts: [framedFirst], gap: .milliseconds(500))
                : .completion("fresh")
        }
        try await withClient(server: server) { client, server in
            for try await event in client.stream(ChatRequest(messages: [.user("x")])) {
                if case .delta = event { break }  // the caller stops listening after the first words
            }
            #expect(await eventually { server.connectionsClosed == 1 })
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.metadata.reusedConnection == false)
            #expect(server.connectionsOpened == 2)
        }
    }

    @Test func droppedStream_thatWasNeverIterated_cancelsItsRequest() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .hang }
        try await withClient(server: server) { client, server in
            do {
                let stream = client.stream(ChatRequest(messages: [.user("x")]))
                #expect(await eventually { server.requestCount == 1 })
                _ = stream
            }
            #expect(await eventually { server.connectionsClosed == 1 })
        }
    }

    @Test func idleConnectionsOlderThanTheIdleTimeout_areNotReused() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion("x") }
        try await withClient(server: server, configure: { $0.pool.idleTimeout = .milliseconds(100) }) { client, server in
            _ = try await client.complete(ChatRequest(messages: [.user("x")]))
            try await Task.sleep(for: .milliseconds(200))
            _ = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(server.connectionsOpened == 2)
            #expect(await eventually { server.connectionsClosed == 1 })
        }
    }

    @Test func idlePool_isBounded() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion("x") }
        try await withClient(server: server, configure: { $0.pool.maximumIdleConnections = 2 }) { client, server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 { group.addTask { _ = try await client.complete(ChatRequest(messages: [.user("x")])) } }
                try await group.waitForAll()
            }
            #expect(client.pool.idleConnectionCount <= 2)
            #expect(await eventually { server.connectionsOpened - server.connectionsClosed <= 2 })
        }
    }

    @Test func circuitBreaker_opensAfterConsecutiveFailures_failsFastWithoutTheNetwork_andHalfOpensAfterTheCoolDown() async throws {
        let healthy = Locked(false)
        let server = try FakeOpenAIServer.tls { _, _ in
            healthy.withLock { $0 } ? .completion("recovered") : .apiError(status: 503, message: "down", type: "server_error", code: nil)
        }
        try await withClient(server: server, configure: { configuration in
            configuration.retry = .none
            configuration.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 3, coolDown: .milliseconds(300))
        }) { client, server in
            for _ in 0..<3 {
                let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
                #expect(error == .http(503))
            }
            #expect(client.isCircuitOpen)
            let fast = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(fast == .circuitOpen)
            #expect(fast?.attempts == 0)
            let streamed = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(ChatRequest(messages: [.user("x")]))) }
            #expect(streamed == .circuitOpen)
            #expect(server.requestCount == 3)
            // After the cool-down one probe goes through; it succeeds and closes the breaker.
            healthy.withLock { $0 = true }
            try await Task.sleep(for: .milliseconds(350))
            #expect(!client.isCircuitOpen)
            let recovered = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(recovered.content == "recovered")
            #expect(client.circuitBreaker.state == .closed(failures: 0))
            #expect(server.requestCount == 4)
        }
    }

    @Test func cancellingTheCaller_closesTheConnection_promptly() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .hang }
        try await withClient(server: server) { client, server in
            let task = Task { () async throws(OpenAIError) -> ChatCompletion in try await client.complete(ChatRequest(messages: [.user("x")])) }
            #expect(await eventually { server.requestCount == 1 })
            let start = ContinuousClock.now
            task.cancel()
            let result = await task.result
            // Far below the 120 s request deadline that would end it otherwise; loose, as CI machines are loaded.
            #expect(ContinuousClock.now - start < .seconds(5))
            guard case .failure(let error) = result else {
                Issue.record("a cancelled call returned a result")
                return
            }
            #expect(error as? OpenAIError == .cancelled)
            #expect(await eventually { server.connectionsClosed == 1 })
            #expect(!client.isCircuitOpen)
        }
    }

    @Test func refusedConnection_isRetried_thenReportedAsAConnectionError() async throws {
        // A port nobody listens on: start a server, note its port, stop it.
        let gone = try FakeOpenAIServer.tls { _, _ in .hang }
        await gone.shutdown()
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let client = try OpenAIClient(configuration: try testConfiguration(port: gone.port), group: group)
        let error = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(ChatRequest(messages: [.user("x")])) }
        #expect(error == .connection(""))
        #expect(error?.attempts == 3)
    }

    @Test func plainHTTPToLoopback_works() async throws {
        let server = try FakeOpenAIServer(tls: nil) { _, _ in .completion("plain") }
        try await withClient(server: server, tls: false) { client, _ in
            let completion = try await client.complete(ChatRequest(messages: [.user("x")]))
            #expect(completion.content == "plain")
        }
    }

    @Test func plainHTTPToARemoteHost_isRefusedByTheClient() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let configuration = try OpenAIConfiguration(apiKey: "sk-x", baseURL: "http://api.example.com/v1")
        #expect(throws: OpenAIError.invalidConfiguration("")) { _ = try OpenAIClient(configuration: configuration, group: group) }
    }

    @Test func serverThatIgnoresStreamTrue_stillYieldsTheAnswer() async throws {
        let server = try FakeOpenAIServer.tls { _, _ in .completion("whole answer at once") }
        try await withClient(server: server) { client, _ in
            let events = try await drain(client.stream(ChatRequest(messages: [.user("x")])))
            #expect(deltas(events) == "whole answer at once")
            #expect(events.last == .done(finishReason: .stop))
        }
    }

    @Test func streamEndingWithoutDone_isAMalformedResponse() async throws {
        let text = #"data: {"choices":[{"index":0,"delta":{"content":"cut"},"finish_reason":null}]}"# + "\n\n"
        let server = try FakeOpenAIServer.tls { _, _ in .chunked(contentType: "text/event-stream", body: Array(text.utf8), chunkCuts: []) }
        try await withClient(server: server) { client, _ in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(ChatRequest(messages: [.user("x")]))) }
            #expect(error == .malformedResponse(""))
        }
    }

    @Test func errorEventInsideAStream_isATypedError_carryingTheProviderMessage() async throws {
        let text = #"data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"# + "\n\n"
        let server = try FakeOpenAIServer.tls { _, _ in .chunked(contentType: "text/event-stream", body: Array(text.utf8), chunkCuts: []) }
        try await withClient(server: server) { client, _ in
            let error = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(ChatRequest(messages: [.user("x")]))) }
            #expect(error == .malformedResponse(""))
            #expect(error?.apiError?.type == "server_error")
        }
    }

    @Test func logs_carryRequestIDsAndProviderMessages_butNeverPromptsAnswersOrTheKey() async throws {
        let prompt = "CUSTOMER-SECRET-PROMPT"
        let answer = "MODEL-SECRET-ANSWER"
        let replies: [FakeReply] = [
            .apiError(status: 500, message: "Provider hiccup", type: "server_error", code: nil),
            .completion(answer),
            .response(body: completionJSON(answer, finishReason: "length")),
            .response(body: #"{"choices":[{"index":0,"message":{"content":null,"refusal":"\#(answer)"}}]}"#),
            .chunked(contentType: "text/event-stream", body: Array(streamBody([answer]).prefix(150)), chunkCuts: [], then: .abort, omitTerminator: true),
            .apiError(status: 401, message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key"),
        ]
        let server = try FakeOpenAIServer.tls { index, _ in replies[min(index, replies.count - 1)] }
        let lines = Locked<[String]>([])
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        try await withClient(server: server, logger: logger) { client, _ in
            let request = ChatRequest(messages: [.user(prompt)])
            _ = try await client.complete(request)
            _ = await expectOpenAIError { () async throws(OpenAIError) in try await client.completeStructured(request, as: CoachingTip.self, schema: coachingTipSchema) }
            _ = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(request) }
            _ = await expectOpenAIError { () async throws(OpenAIError) in try await drain(client.stream(request)) }
            _ = await expectOpenAIError { () async throws(OpenAIError) in try await client.complete(request) }
        }
        let logged = lines.withLock { $0 }
        #expect(logged.count >= 5)
        #expect(logged.contains { $0.contains("openai.request_id=req_err_500") && $0.contains("Provider hiccup") })
        #expect(logged.contains { $0.contains("openai.api_error.code=invalid_api_key") })
        for line in logged {
            #expect(!line.contains(prompt) && !line.contains(answer) && !line.contains("sk-test-secret"), "\(line)")
        }
    }
}
