import Glibc
import Logging

/// The `earpiece` command line: `earpiece serve [flags]`, `earpiece ask [flags] PROMPT`.
enum Earpiece {
    static var usage: String { """
        Usage: earpiece <command> [options]

        Commands:
          serve     Run the server (HTTP, WebSocket, health endpoints).
          ask       Send a prompt to an OpenAI-compatible API and stream the answer.

        Options of `serve` (each also read from the environment variable in brackets):
        \(ServeConfiguration.help)

        Options of `ask PROMPT` (PROMPT "-" reads standard input; the API key comes from OPENAI_API_KEY):
          --model NAME       model [OPENAI_MODEL], default gpt-4o-mini
          --base-url URL     API base URL, ending in /v1 [OPENAI_BASE_URL], default https://api.openai.com/v1
          --ca-file FILE     PEM CA certificates to trust instead of the system store [OPENAI_CA_FILE]
          --max-tokens N     the most tokens to generate
          --system TEXT      a system prompt
          --allow-insecure-http  allow plain http:// to a host that is not loopback
          --stream, --no-stream  ask for a streamed answer (the default) or for one JSON document
          --repeat N         measure the client instead: send the request N times over one keep-alive
                             connection and print, instead of the answers, one line of key=value figures
                             (requests/s, CPU per request, time to the first text and to the end, p50/p99)
          --warmup N         with --repeat: N unmeasured requests first (default 0)
          --from-loop        with --repeat: call the client from its event loop thread, as the server does
          The answer goes to standard output as it arrives; token usage and cost go to standard error.
        """ }

    static func main(arguments: [String]) async -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 64
        }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "serve":
            let configuration: ServeConfiguration
            do {
                configuration = try ServeConfiguration(arguments: rest, environment: Environment.current)
            } catch {
                printError("earpiece serve: \(error.message)\n\n\(usage)")
                return 64
            }
            if configuration.showHelp {
                print(usage)
                return 0
            }
            bootstrapLogging(level: configuration.logLevel)
            return await Serve.run(configuration)
        case "ask":
            let options: Ask.Options
            do {
                options = try Ask.Options(arguments: rest, environment: Environment.current)
            } catch {
                printError("earpiece ask: \(error.message)\n\n\(usage)")
                return 64
            }
            if options.showHelp {
                print(usage)
                return 0
            }
            bootstrapLogging(level: Environment.current["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .error)
            return await Ask.run(options, environment: Environment.current)
        case "-h", "--help", "help":
            print(usage)
            return 0
        default:
            printError("earpiece: unknown command '\(command)'\n\n\(usage)")
            return 64
        }
    }

    static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    var line = message
    line.append("\n")
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The process environment as a dictionary, read without Foundation.
enum Environment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
