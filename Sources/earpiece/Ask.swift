import Glibc
import IOPosix
import Logging
import OpenAI

/// `earpiece ask "PROMPT"`: sends one prompt to the configured OpenAI-compatible endpoint, streams the
/// answer to standard output as it arrives, then prints token usage and cost on standard error.
/// With `--repeat N` (N > 1) it measures the client instead: see ``AskRepeat``.
enum Ask {
    /// What `earpiece ask` was asked to do: flags first, then the environment, then the defaults.
    struct Options {
        var prompt = ""
        var systemPrompt: String?
        var model: String?
        var baseURL: String?
        var certificateAuthorityFile: String?
        var maxTokens: Int?
        var allowsInsecureHTTP = false
        /// Whether to ask for a streamed answer (`--stream`, the default) or one JSON document (`--no-stream`).
        var streams = true
        /// `--repeat N`: above 1, the request is sent N times and measured (``AskRepeat``) instead of answered.
        var repeatCount = 1
        /// `--warmup N`: requests sent before the measured ones and left out of the figures (only with `--repeat`).
        var warmupCount = 0
        /// `--from-loop`: with `--repeat`, call the client from its event loop's thread, as the server does.
        var callsFromLoop = false
        var showHelp = false

        /// A problem with the command line, told to the user as is.
        struct Problem: Error {
            var message: String
        }

        init(arguments: [String], environment: [String: String]) throws(Problem) {
            let valued: Set<String> = [
                "--model", "--base-url", "--ca-file", "--max-tokens", "--system", "--repeat", "--warmup",
            ]
            var flags: [String: String] = [:]
            var words: [String] = []
            var index = 0
            var onlyWords = false
            while index < arguments.count {
                let argument = arguments[index]
                index += 1
                if onlyWords || !argument.hasPrefix("--") || argument == "-" {
                    if argument == "-h" && !onlyWords {
                        self.showHelp = true
                        return
                    }
                    words.append(argument)
                    continue
                }
                if argument == "--" {
                    onlyWords = true
                    continue
                }
                if argument == "--help" {
                    self.showHelp = true
                    return
                }
                if argument == "--allow-insecure-http" {
                    self.allowsInsecureHTTP = true
                    continue
                }
                if argument == "--from-loop" {
                    self.callsFromLoop = true
                    continue
                }
                if argument == "--stream" || argument == "--no-stream" {
                    self.streams = argument == "--stream"
                    continue
                }
                var name = argument
                var value: String?
                if let equals = argument.firstIndex(of: "=") {
                    name = String(argument[..<equals])
                    value = String(argument[argument.index(after: equals)...])
                }
                guard valued.contains(name) else { throw Problem(message: "unknown option '\(name)'") }
                if value == nil {
                    guard index < arguments.count else { throw Problem(message: "option \(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                flags[name] = value
            }
            func setting(_ flag: String, _ variable: String?) -> String? {
                if let value = flags[flag] { return value }
                if let variable, let value = environment[variable], !value.isEmpty { return value }
                return nil
            }
            self.model = setting("--model", "OPENAI_MODEL")
            self.baseURL = setting("--base-url", "OPENAI_BASE_URL")
            self.certificateAuthorityFile = setting("--ca-file", "OPENAI_CA_FILE")
            self.systemPrompt = setting("--system", nil)
            if let text = setting("--max-tokens", nil) {
                guard let number = Int(text), (1...1_000_000).contains(number) else {
                    throw Problem(message: "max-tokens must be a number from 1 to 1000000, got '\(text)'")
                }
                self.maxTokens = number
            }
            if let text = setting("--repeat", nil) {
                guard let number = Int(text), (1...1_000_000).contains(number) else {
                    throw Problem(message: "repeat must be a number from 1 to 1000000, got '\(text)'")
                }
                self.repeatCount = number
            }
            if let text = setting("--warmup", nil) {
                guard let number = Int(text), (0...1_000_000).contains(number) else {
                    throw Problem(message: "warmup must be a number from 0 to 1000000, got '\(text)'")
                }
                guard self.repeatCount > 1 else { throw Problem(message: "--warmup needs --repeat of 2 or more") }
                self.warmupCount = number
            }
            if self.callsFromLoop && self.repeatCount < 2 {
                throw Problem(message: "--from-loop needs --repeat of 2 or more")
            }
            if words == ["-"] {
                self.prompt = Self.readStandardInput()
            } else {
                self.prompt = words.joined(separator: " ")
            }
            guard !self.prompt.isEmpty else { throw Problem(message: "no prompt given") }
        }

        /// Everything on standard input, for `earpiece ask -` (bounded to 1 MiB).
        private static func readStandardInput() -> String {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while bytes.count < 1 << 20 {
                let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            // A trailing newline (from `echo` or an editor) is not part of the question.
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Runs the command; returns the exit status.
    static func run(_ options: Options, environment: [String: String]) async -> Int32 {
        ProcessSetup.ignoreSIGPIPE()
        var configuration: OpenAIConfiguration
        do {
            configuration = try OpenAIConfiguration(environment: environment)
            if let baseURL = options.baseURL { configuration.endpoint = try OpenAIEndpoint(baseURL: baseURL) }
        } catch {
            printError("earpiece ask: \(error.detail)")
            return 64
        }
        guard configuration.apiKey != nil else {
            printError("earpiece ask: no API key: set OPENAI_API_KEY (any non-empty value for servers that need none)")
            return 64
        }
        if let model = options.model { configuration.model = model }
        configuration.certificateAuthorityFile = options.certificateAuthorityFile
        configuration.allowsInsecureHTTP = options.allowsInsecureHTTP
        // One question from a person at a terminal: fail within a reasonable time rather than hang.
        configuration.timeouts = OpenAITimeouts(connect: .seconds(10), firstByte: .seconds(60), request: .seconds(300))

        let group: EventLoopGroup
        let client: OpenAIClient
        do {
            group = try EventLoopGroup(loopCount: 1)
        } catch {
            printError("earpiece ask: cannot start an event loop: \(error)")
            return 1
        }
        defer { group.shutdown() }
        do {
            client = try OpenAIClient(configuration: configuration, group: group, logger: Logger(label: "earpiece.ask"))
        } catch {
            let hint = configuration.endpoint.usesTLS ? "" : " (pass --allow-insecure-http to allow it)"
            printError("earpiece ask: \(error.detail)\(hint)")
            return 64
        }
        defer { client.shutdown() }

        var messages: [ChatMessage] = []
        if let system = options.systemPrompt { messages.append(.system(system)) }
        messages.append(.user(options.prompt))
        let request = ChatRequest(messages: messages, maxTokens: options.maxTokens)
        if options.repeatCount > 1 {
            return await AskRepeat.run(
                client: client, group: group, request: request, streams: options.streams, count: options.repeatCount,
                warmupCount: options.warmupCount, fromLoop: options.callsFromLoop, configuration: configuration
            )
        }
        guard options.streams else {
            return await Self.answerWhole(client: client, request: request, configuration: configuration)
        }

        var usage: Usage?
        var cost: Cost?
        var metadata: ResponseMetadata?
        var finishReason: FinishReason?
        var endsWithNewline = true
        do {
            for try await event in client.stream(request) {
                switch event {
                case .metadata(let value):
                    metadata = value
                case .delta(let text):
                    writeOut(text)
                    endsWithNewline = text.hasSuffix("\n")
                case .usage(let value, let price):
                    usage = value
                    cost = price
                case .done(let reason):
                    finishReason = reason
                }
            }
        } catch {
            if !endsWithNewline { writeOut("\n") }
            printError("earpiece ask: \(Self.explain(error, configuration: configuration))")
            return 1
        }
        if !endsWithNewline { writeOut("\n") }
        Self.printSummary(
            usage: usage, cost: cost, metadata: metadata, finishReason: finishReason, configuration: configuration
        )
        return 0
    }

    /// `--no-stream`: waits for the whole answer, then prints it.
    private static func answerWhole(
        client: OpenAIClient, request: ChatRequest, configuration: OpenAIConfiguration
    ) async -> Int32 {
        let completion: ChatCompletion
        do {
            completion = try await client.complete(request)
        } catch {
            printError("earpiece ask: \(Self.explain(error, configuration: configuration))")
            return 1
        }
        writeOut(completion.content)
        if !completion.content.isEmpty && !completion.content.hasSuffix("\n") { writeOut("\n") }
        Self.printSummary(
            usage: completion.usage, cost: completion.cost, metadata: completion.metadata,
            finishReason: completion.finishReason, configuration: configuration
        )
        return 0
    }

    /// The line on standard error after the answer: model, tokens and cost, and anything unusual.
    private static func printSummary(
        usage: Usage?, cost: Cost?, metadata: ResponseMetadata?, finishReason: FinishReason?,
        configuration: OpenAIConfiguration
    ) {
        var summary = "model \(configuration.model)"
        if let usage, let cost {
            summary += "; tokens: \(usage.promptTokens) prompt (\(usage.cachedPromptTokens) cached), "
                + "\(usage.completionTokens) completion; cost \(cost)"
        } else {
            summary += "; the server reported no token usage"
        }
        if let reason = finishReason, reason != .stop { summary += "; finish reason \(reason)" }
        if let requestID = metadata?.requestID { summary += "; request id \(requestID)" }
        if let attempts = metadata?.attempts, attempts > 1 { summary += "; \(attempts) attempts" }
        printError(summary)
    }

    /// The error with a hint for the usual mistakes.
    static func explain(_ error: OpenAIError, configuration: OpenAIConfiguration) -> String {
        var text = error.description
        if error == .http(401) { text += " (check OPENAI_API_KEY)" }
        if error == .http(404) { text += " (check the model name and OPENAI_BASE_URL, which should end in /v1)" }
        if error == .tlsFailure("") { text += " (for a private CA pass --ca-file)" }
        if error == .connection("") { text += " (is \(configuration.endpoint) reachable?)" }
        return text
    }
}

/// Writes `text` to standard output at once (unbuffered, so streamed words show as they arrive).
func writeOut(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
