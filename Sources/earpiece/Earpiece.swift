import Glibc
import Logging

/// The `earpiece` command line: `earpiece serve [flags]`.
enum Earpiece {
    static let usage = """
        Usage: earpiece <command> [options]

        Commands:
          serve     Run the server (HTTP, WebSocket, health endpoints).

        Options of `serve` (each also read from the environment variable in brackets):
          --host ADDRESS     address to bind [HOST], default 0.0.0.0
          --port N           port to listen on [PORT], default 3000
          --tls-cert FILE    PEM certificate chain; enables HTTPS with --tls-key [TLS_CERT_FILE]
          --tls-key FILE     PEM private key [TLS_KEY_FILE]
          --loops N          event loops, default one per CPU [EVENT_LOOPS]
          --log-level LEVEL  trace|debug|info|notice|warning|error|critical [LOG_LEVEL], default info
        """

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
