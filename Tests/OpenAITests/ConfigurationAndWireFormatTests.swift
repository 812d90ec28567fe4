import Foundation
import IOCore
import JSON
@testable import OpenAI
import Testing

@Suite("Configuration and wire format")
struct ConfigurationAndWireFormatTests {
    @Test func defaultBaseURL_isOpenAI_overTLS_withTheV1Prefix() throws {
        let configuration = try OpenAIConfiguration(apiKey: "sk-x")
        #expect(configuration.endpoint == (try OpenAIEndpoint(baseURL: "https://api.openai.com/v1/")))
        #expect(configuration.endpoint.host == "api.openai.com")
        #expect(configuration.endpoint.port == 443)
        #expect(configuration.endpoint.usesTLS)
        #expect(configuration.endpoint.chatCompletionsPath == "/v1/chat/completions")
        #expect(configuration.model == "gpt-4o-mini")
    }

    @Test func baseURLs_ofCompatibleServers_parse() throws {
        let ollama = try OpenAIEndpoint(baseURL: "http://localhost:11434/v1")
        #expect(ollama.host == "localhost" && ollama.port == 11434 && !ollama.usesTLS && ollama.isLoopback)
        let groq = try OpenAIEndpoint(baseURL: "https://api.groq.com/openai/v1")
        #expect(groq.chatCompletionsPath == "/openai/v1/chat/completions")
        let llama = try OpenAIEndpoint(baseURL: "http://127.0.0.1:8080")
        #expect(llama.chatCompletionsPath == "/chat/completions" && llama.isLoopback)
        let ipv6 = try OpenAIEndpoint(baseURL: "http://[::1]:8000/v1")
        #expect(ipv6.host == "::1" && ipv6.port == 8000 && ipv6.isLoopback)
        #expect(ipv6.description == "http://[::1]:8000/v1")
    }

    @Test(arguments: [
        "ftp://example.com", "api.openai.com/v1", "https://", "https://host:0", "https://host:70000", "https://host:x/v1",
        "https://user:pass@host/v1", "https://host/v1?x=1", "https://host/v1#f", "https://[::1/v1", "https://host:/v1",
    ])
    func malformedBaseURLs_areRejected(url: String) {
        #expect(throws: OpenAIError.invalidConfiguration("")) { _ = try OpenAIEndpoint(baseURL: url) }
    }

    @Test func plainHTTP_isAllowedOnlyForLoopback_unlessEnabled() throws {
        try OpenAIConfiguration(apiKey: nil, baseURL: "http://127.0.0.1:8080/v1").validate()
        try OpenAIConfiguration(apiKey: nil, baseURL: "http://localhost/v1").validate()
        var remote = try OpenAIConfiguration(apiKey: "sk-x", baseURL: "http://example.com/v1")
        #expect(throws: OpenAIError.invalidConfiguration("")) { try remote.validate() }
        #expect(!(try OpenAIEndpoint(baseURL: "http://127.example.com").isLoopback))
        remote.allowsInsecureHTTP = true
        try remote.validate()
    }

    @Test func environment_setsKeyModelAndBaseURL() throws {
        let configuration = try OpenAIConfiguration(environment: [
            "OPENAI_API_KEY": "sk-env", "OPENAI_MODEL": "llama3.1", "OPENAI_BASE_URL": "http://localhost:11434/v1",
        ])
        #expect(configuration.apiKey?.value == "sk-env")
        #expect(configuration.model == "llama3.1")
        #expect(configuration.endpoint.port == 11434)
        let defaults = try OpenAIConfiguration(environment: ["OPENAI_MODEL": ""])
        #expect(defaults.apiKey == nil && defaults.model == "gpt-4o-mini" && defaults.endpoint.host == "api.openai.com")
    }

    @Test func theAPIKey_neverAppearsInDescriptionsOrDumps() throws {
        let secret = "sk-live-DO-NOT-LEAK-123"
        let configuration = try OpenAIConfiguration(apiKey: APIKey(secret))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, String(reflecting: configuration), "\(configuration)", dumped, "\(configuration.apiKey!)"] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect(configuration.description.contains("<redacted>"))
    }

    @Test func requestBody_isTheChatCompletionsShape_withUsageInStreams() throws {
        var request = ChatRequest(messages: [.system("Be brief."), .user("Say \"hi\"\n")], temperature: 0.2, maxTokens: 50)
        request.extraParameters = ["seed": 7, "model": "ignored", "stream": false]
        var buffer = ByteBuffer()
        try request.writeBody(defaultModel: "gpt-4o-mini", stream: true, into: &buffer)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesArray)) as? [String: Any])
        #expect(json["model"] as? String == "gpt-4o-mini")
        #expect(json["stream"] as? Bool == true)
        #expect((json["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(json["temperature"] as? Double == 0.2)
        #expect(json["max_tokens"] as? Int == 50)
        #expect(json["seed"] as? Int == 7)
        let messages = try #require(json["messages"] as? [[String: String]])
        #expect(messages == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Say \"hi\"\n"]])
        #expect(json["response_format"] == nil)
    }

    @Test func requestBody_carriesTheJSONSchema() throws {
        let schema: JSONValue = ["type": "object", "properties": ["tip": ["type": "string"]], "required": ["tip"], "additionalProperties": false]
        let request = ChatRequest(messages: [.user("x")], model: "gpt-4o", responseFormat: JSONSchemaFormat(name: "coaching_tip", schema: schema))
        var buffer = ByteBuffer()
        try request.writeBody(defaultModel: "gpt-4o-mini", stream: false, into: &buffer)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesArray)) as? [String: Any])
        #expect(json["model"] as? String == "gpt-4o")
        #expect(json["stream"] == nil)
        let format = try #require(json["response_format"] as? [String: Any])
        #expect(format["type"] as? String == "json_schema")
        let jsonSchema = try #require(format["json_schema"] as? [String: Any])
        #expect(jsonSchema["name"] as? String == "coaching_tip")
        #expect(jsonSchema["strict"] as? Bool == true)
        #expect((jsonSchema["schema"] as? [String: Any])?["additionalProperties"] as? Bool == false)
    }

    @Test func completion_decodesContentUsageAndCachedTokens() throws {
        let body = ByteBuffer(string: completionJSON("Hello there", prompt: 100, cached: 64, completion: 7))
        let completion = try WireFormat.decodeCompletion(body, metadata: ResponseMetadata(), prices: .gpt4oMini)
        #expect(completion.content == "Hello there")
        #expect(completion.id == "chatcmpl-1")
        #expect(completion.model == "gpt-4o-mini-2024-07-18")
        #expect(completion.finishReason == .stop)
        #expect(completion.usage == Usage(promptTokens: 100, cachedPromptTokens: 64, completionTokens: 7))
        #expect(completion.cost == TokenPrices.gpt4oMini.cost(of: Usage(promptTokens: 100, cachedPromptTokens: 64, completionTokens: 7)))
    }

    @Test func refusal_isATypedError() {
        let body = ByteBuffer(string: #"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#)
        #expect(throws: OpenAIError.refusal("")) { _ = try WireFormat.decodeCompletion(body, metadata: ResponseMetadata(), prices: .gpt4oMini) }
        do {
            _ = try WireFormat.decodeCompletion(body, metadata: ResponseMetadata(), prices: .gpt4oMini)
        } catch {
            #expect(error.refusal == "I can't help with that.")
            #expect(!error.description.contains("help"))
        }
    }

    @Test(arguments: ["", "not json", "[]", #"{"choices":[]}"#, #"{"choices":[{"message":{"content":5}}]}"#, #"{"choices":[{"message":"x"}]}"#])
    func malformedCompletions_areTypedErrors(body: String) {
        #expect(throws: OpenAIError.malformedResponse("")) {
            _ = try WireFormat.decodeCompletion(ByteBuffer(string: body), metadata: ResponseMetadata(), prices: .gpt4oMini)
        }
    }

    @Test func errorBodies_ofOpenAIAndCompatibleServers_decode() {
        let openAI = WireFormat.apiError(in: ByteBuffer(string: #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#))
        #expect(openAI == APIErrorBody(message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key"))
        let llama = WireFormat.apiError(in: ByteBuffer(string: #"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#))
        #expect(llama == APIErrorBody(message: "Loading model", type: "unavailable_error", code: "503"))
        #expect(WireFormat.apiError(in: ByteBuffer(string: #"{"error":"model not found"}"#))?.message == "model not found")
        #expect(WireFormat.apiError(in: ByteBuffer(string: #"{"detail":"Not Found"}"#))?.message == "Not Found")
        #expect(WireFormat.apiError(in: ByteBuffer(string: "<html>502 Bad Gateway</html>")) == nil)
    }

    @Test func errorDescriptions_carryTheProviderMessageAndRequestID_asMetricSafeLabels() {
        var error = OpenAIError.http(429, APIErrorBody(message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded"), requestID: "req_1")
        error.attempts = 3
        #expect(error.shortDescription == "http_429")
        #expect(error.description == "http_429 (status 429): Rate limit reached [type requests] [code rate_limit_exceeded] [request id req_1] after 3 attempts")
        #expect(OpenAIError.http(418).shortDescription == "http_4xx")
        #expect(OpenAIError.http(599).shortDescription == "http_5xx")
        #expect(OpenAIError.timedOut(.firstByte).shortDescription == "timed_out_first_byte")
        #expect(OpenAIError.timedOut(.connect) != .timedOut(.request))
        #expect(OpenAIError.http(500) != .http(503))
    }

    @Test func decodingErrors_nameThePath_butNotTheValues() throws {
        struct Tip: Decodable { var tip: String; var score: Int }
        let completion = ChatCompletion(id: "", model: "", content: #"{"tip":"secret customer words","score":"high"}"#, finishReason: .stop, usage: nil, cost: nil, metadata: ResponseMetadata())
        do {
            _ = try OpenAIClient.decodeStructured(Tip.self, from: completion)
            Issue.record("expected a schema mismatch")
        } catch {
            #expect(error == .schemaMismatch(""))
            #expect(error.detail.contains("score"))
            #expect(!error.description.contains("secret"))
            #expect(!error.description.contains("high"))
        }
    }
}
