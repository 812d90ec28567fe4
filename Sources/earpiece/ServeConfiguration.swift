import Logging

/// What `earpiece serve` was asked to do: flags first, then the environment, then the defaults.
struct ServeConfiguration {
    var host = "0.0.0.0"
    var port = 3000
    var tlsCertificateFile: String?
    var tlsKeyFile: String?
    var eventLoops: Int?
    var logLevel: Logger.Level = .info
    var showHelp = false

    /// A configuration problem, told to the operator as is.
    struct Problem: Error {
        var message: String
    }

    init(arguments: [String], environment: [String: String]) throws(Problem) {
        var flags: [String: String] = [:]
        var index = 0
        let known: Set<String> = ["--host", "--port", "--tls-cert", "--tls-key", "--loops", "--log-level"]
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "-h" || argument == "--help" {
                self.showHelp = true
                return
            }
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard known.contains(name) else { throw Problem(message: "unknown option '\(name)'") }
            if value == nil {
                index += 1
                guard index < arguments.count else { throw Problem(message: "option \(name) needs a value") }
                value = arguments[index]
            }
            flags[name] = value
            index += 1
        }
        func setting(_ flag: String, _ variable: String) -> String? {
            if let value = flags[flag] { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        if let host = setting("--host", "HOST") { self.host = host }
        if let port = setting("--port", "PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw Problem(message: "port must be a number from 0 to 65535, got '\(port)'")
            }
            self.port = number
        }
        self.tlsCertificateFile = setting("--tls-cert", "TLS_CERT_FILE")
        self.tlsKeyFile = setting("--tls-key", "TLS_KEY_FILE")
        if (self.tlsCertificateFile == nil) != (self.tlsKeyFile == nil) {
            throw Problem(message: "TLS needs both a certificate (--tls-cert / TLS_CERT_FILE) and a key (--tls-key / TLS_KEY_FILE)")
        }
        if let loops = setting("--loops", "EVENT_LOOPS") {
            guard let number = Int(loops), (1...256).contains(number) else {
                throw Problem(message: "loops must be a number from 1 to 256, got '\(loops)'")
            }
            self.eventLoops = number
        }
        if let level = setting("--log-level", "LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw Problem(message: "unknown log level '\(level)'")
            }
            self.logLevel = parsed
        }
    }
}
