import IOCore
public import JSON

/// One message of a chat.
public struct ChatMessage: Sendable, Hashable {
    /// Who speaks.
    public struct Role: RawRepresentable, Sendable, Hashable {
        /// The wire name.
        public var rawValue: String
        /// A role by wire name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Instructions from the application.
        public static let system = Role(rawValue: "system")
        /// Instructions from the application (the newer name OpenAI uses for reasoning models).
        public static let developer = Role(rawValue: "developer")
        /// The end user.
        public static let user = Role(rawValue: "user")
        /// The model.
        public static let assistant = Role(rawValue: "assistant")
    }

    /// Who speaks.
    public var role: Role
    /// What is said.
    public var content: String

    /// A message.
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}

/// A JSON schema the answer must follow (OpenAI "structured outputs").
public struct JSONSchemaFormat: Sendable, Hashable {
    /// The schema's name: letters, digits, `_` and `-`, up to 64 characters.
    public var name: String
    /// The JSON schema. With `strict`, OpenAI requires every object to list all its properties as
    /// `required` and to set `"additionalProperties": false`.
    public var schema: JSONValue
    /// Whether the provider must follow the schema exactly.
    public var strict: Bool

    /// A schema.
    public init(name: String, schema: JSONValue, strict: Bool = true) {
        self.name = name
        self.schema = schema
        self.strict = strict
    }
}

/// A request for one chat completion.
public struct ChatRequest: Sendable, Hashable {
    /// The conversation so far.
    public var messages: [ChatMessage]
    /// The model; nil uses the configuration's.
    public var model: String?
    /// Sampling temperature (0...2); nil leaves the provider's default.
    public var temperature: Double?
    /// The most tokens to generate (`max_tokens`, which every compatible server understands).
    public var maxTokens: Int?
    /// The answer's format: a JSON schema (set by ``OpenAIClient/completeStructured(_:as:schema:)``).
    public var responseFormat: JSONSchemaFormat?
    /// Extra top-level members for the request body (`seed`, `stop`, `top_p`, provider extensions);
    /// members the client sets itself (`model`, `messages`, `stream`, ...) are not overridden.
    public var extraParameters: JSONObject

    /// A request.
    public init(
        messages: [ChatMessage], model: String? = nil, temperature: Double? = nil, maxTokens: Int? = nil,
        responseFormat: JSONSchemaFormat? = nil, extraParameters: JSONObject = JSONObject()
    ) {
        self.messages = messages
        self.model = model
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.responseFormat = responseFormat
        self.extraParameters = extraParameters
    }

    /// The members the client writes itself; extra parameters with these names are skipped.
    static let reservedKeys: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "max_tokens", "response_format",
    ]

    /// Writes the JSON body of `POST /chat/completions`.
    /// - Parameters:
    ///   - defaultModel: the model when the request names none.
    ///   - stream: whether to ask for an event stream (with the usage chunk at the end).
    /// - Throws: ``OpenAIError/invalidConfiguration(_:)`` for a non-finite temperature or binary data in
    ///   the schema or extra parameters.
    func writeBody(defaultModel: String, stream: Bool, into buffer: inout ByteBuffer) throws(OpenAIError) {
        buffer.writeString(#"{"model":"#)
        JSONWriter.writeString(self.model ?? defaultModel, into: &buffer)
        buffer.writeString(#","messages":["#)
        for (index, message) in self.messages.enumerated() {
            if index > 0 { buffer.writeByte(UInt8(ascii: ",")) }
            buffer.writeString(#"{"role":"#)
            JSONWriter.writeString(message.role.rawValue, into: &buffer)
            buffer.writeString(#","content":"#)
            JSONWriter.writeString(message.content, into: &buffer)
            buffer.writeByte(UInt8(ascii: "}"))
        }
        buffer.writeByte(UInt8(ascii: "]"))
        if stream {
            buffer.writeString(#","stream":true,"stream_options":{"include_usage":true}"#)
        }
        if let temperature = self.temperature {
            guard temperature.isFinite else { throw .invalidConfiguration("temperature must be finite") }
            buffer.writeString(#","temperature":"#)
            JSONWriter.writeNumber(JSONNumber(temperature), into: &buffer)
        }
        if let maxTokens = self.maxTokens {
            buffer.writeString(#","max_tokens":"#)
            buffer.writeDecimal(maxTokens)
        }
        do {
            if let format = self.responseFormat {
                buffer.writeString(#","response_format":{"type":"json_schema","json_schema":{"name":"#)
                JSONWriter.writeString(format.name, into: &buffer)
                buffer.writeString(format.strict ? #","strict":true,"schema":"# : #","strict":false,"schema":"#)
                try JSONWriter.write(format.schema, into: &buffer)
                buffer.writeString("}}")
            }
            for (key, value) in self.extraParameters where !Self.reservedKeys.contains(key) {
                buffer.writeByte(UInt8(ascii: ","))
                JSONWriter.writeString(key, into: &buffer)
                buffer.writeByte(UInt8(ascii: ":"))
                try JSONWriter.write(value, into: &buffer)
            }
        } catch {
            throw .invalidConfiguration("the schema or extra parameters hold binary data, which JSON cannot carry")
        }
        buffer.writeByte(UInt8(ascii: "}"))
    }
}
