/// Why a JSON document could not be parsed, or a value could not be written.
///
/// A struct around a private code, so that new codes never break callers. ``message`` is a fixed
/// string: it never contains bytes of the document (which may be customer data), so it is safe for
/// logs and as a metric label. ``offset`` says where in the input the parser stopped.
///
/// Two errors are equal when their codes are equal; the offset is detail for logs and tests, so that
/// `error == .invalidNumber` reads naturally.
public struct JSONError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline enum Code: UInt8, Hashable, Sendable {
        case unexpectedEndOfInput, unexpectedCharacter, trailingCharacters
        case invalidLiteral, invalidNumber, invalidEscape, invalidUnicodeEscape
        case controlCharacterInString, invalidUTF8
        case depthLimitExceeded, stringTooLong, numberTooLong, tooManyElements
        case binaryNotAllowed
    }

    @usableFromInline let code: Code

    /// The byte offset in the input at which parsing failed, or nil for errors that are not about
    /// input (``binaryNotAllowed``, and the static members used for comparison).
    public let offset: Int?

    @usableFromInline init(_ code: Code, offset: Int? = nil) {
        self.code = code
        self.offset = offset
    }

    /// A fixed description of the error; never contains document data.
    public var message: String {
        switch self.code {
        case .unexpectedEndOfInput: "unexpected end of input"
        case .unexpectedCharacter: "unexpected character"
        case .trailingCharacters: "characters after the JSON value"
        case .invalidLiteral: "invalid literal (expected true, false or null)"
        case .invalidNumber: "invalid number"
        case .invalidEscape: "invalid escape sequence in string"
        case .invalidUnicodeEscape: "invalid \\u escape in string"
        case .controlCharacterInString: "unescaped control character in string"
        case .invalidUTF8: "invalid UTF-8"
        case .depthLimitExceeded: "nesting deeper than the limit"
        case .stringTooLong: "string longer than the limit"
        case .numberTooLong: "number longer than the limit"
        case .tooManyElements: "container with more elements than the limit"
        case .binaryNotAllowed: "binary value where only JSON can be written"
        }
    }

    /// A short stable identifier of the error kind, for metric labels.
    public var shortDescription: String {
        switch self.code {
        case .unexpectedEndOfInput: "unexpectedEndOfInput"
        case .unexpectedCharacter: "unexpectedCharacter"
        case .trailingCharacters: "trailingCharacters"
        case .invalidLiteral: "invalidLiteral"
        case .invalidNumber: "invalidNumber"
        case .invalidEscape: "invalidEscape"
        case .invalidUnicodeEscape: "invalidUnicodeEscape"
        case .controlCharacterInString: "controlCharacterInString"
        case .invalidUTF8: "invalidUTF8"
        case .depthLimitExceeded: "depthLimitExceeded"
        case .stringTooLong: "stringTooLong"
        case .numberTooLong: "numberTooLong"
        case .tooManyElements: "tooManyElements"
        case .binaryNotAllowed: "binaryNotAllowed"
        }
    }

    /// The message and the offset; never contains document data.
    public var description: String {
        if let offset = self.offset {
            return "JSONError(\(self.message) at byte \(offset))"
        }
        return "JSONError(\(self.message))"
    }

    /// Whether the codes are equal; offsets are not compared.
    public static func == (lhs: JSONError, rhs: JSONError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes the code only, consistent with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }

    /// The input ended inside a value (or was empty).
    public static let unexpectedEndOfInput = JSONError(.unexpectedEndOfInput)
    /// A byte that cannot start or continue a value here (e.g. a trailing comma, a comment, a quote missing).
    public static let unexpectedCharacter = JSONError(.unexpectedCharacter)
    /// Something other than whitespace follows the one top-level value.
    public static let trailingCharacters = JSONError(.trailingCharacters)
    /// A word that starts like `true`, `false` or `null` but is not one of them (e.g. `nul`, `NaN`).
    public static let invalidLiteral = JSONError(.invalidLiteral)
    /// A number that breaks the RFC 8259 grammar (leading zero, lone `-`, `1.`, `.5`, `1e`, `+1`, ...).
    public static let invalidNumber = JSONError(.invalidNumber)
    /// A backslash followed by a character that is not a JSON escape.
    public static let invalidEscape = JSONError(.invalidEscape)
    /// A `\u` not followed by four hexadecimal digits.
    public static let invalidUnicodeEscape = JSONError(.invalidUnicodeEscape)
    /// A byte below 0x20 inside a string; JSON requires it escaped.
    public static let controlCharacterInString = JSONError(.controlCharacterInString)
    /// A string (or the input) holds bytes that are not well-formed UTF-8.
    public static let invalidUTF8 = JSONError(.invalidUTF8)
    /// Arrays and objects nest deeper than ``JSONLimits/maxDepth``.
    public static let depthLimitExceeded = JSONError(.depthLimitExceeded)
    /// A string (or key) is longer than ``JSONLimits/maxStringLength`` bytes.
    public static let stringTooLong = JSONError(.stringTooLong)
    /// A number is longer than ``JSONLimits/maxNumberLength`` bytes.
    public static let numberTooLong = JSONError(.numberTooLong)
    /// An array or object has more than ``JSONLimits/maxElementsPerContainer`` elements.
    public static let tooManyElements = JSONError(.tooManyElements)
    /// ``JSONWriter`` met a ``JSONValue/binary(_:)`` leaf and was given no hook to replace it.
    public static let binaryNotAllowed = JSONError(.binaryNotAllowed)
}

/// Hard limits the parser enforces, so that a hostile document costs bounded time and memory.
///
/// The total input size is not here: the caller decides how many bytes it hands to the parser
/// (Socket.IO's `maxHttpBufferSize`, an HTTP body limit).
public struct JSONLimits: Sendable, Hashable {
    /// The deepest nesting of arrays and objects accepted; a document nested exactly this deep parses.
    /// A top-level scalar has depth 0, `[]` has depth 1. Clamped to 0...``depthCeiling``.
    public var maxDepth: Int {
        didSet { self.maxDepth = min(max(self.maxDepth, 0), JSONLimits.depthCeiling) }
    }
    /// The longest string or object key accepted, in bytes of the source text between the quotes.
    public var maxStringLength: Int
    /// The most elements one array, or members one object, may hold.
    public var maxElementsPerContainer: Int
    /// The longest number accepted, in bytes of source text (`-1.5e10` is 7).
    public var maxNumberLength: Int

    /// The highest ``maxDepth`` allowed. The parser, the writer, equality and the Codable bridge
    /// recurse once per level; this bound keeps them well inside a secondary thread's stack.
    public static let depthCeiling = 1_000

    /// Limits for untrusted input.
    /// - Parameters:
    ///   - maxDepth: nesting limit, 64 by default (clamped to 0...``depthCeiling``).
    ///   - maxStringLength: 8 MiB by default.
    ///   - maxElementsPerContainer: 100 000 by default.
    ///   - maxNumberLength: 1 024 by default; the longest useful number (every digit of the smallest
    ///     subnormal double) is about 770 bytes.
    public init(
        maxDepth: Int = 64,
        maxStringLength: Int = 8 << 20,
        maxElementsPerContainer: Int = 100_000,
        maxNumberLength: Int = 1_024
    ) {
        self.maxDepth = min(max(maxDepth, 0), JSONLimits.depthCeiling)
        self.maxStringLength = maxStringLength
        self.maxElementsPerContainer = maxElementsPerContainer
        self.maxNumberLength = maxNumberLength
    }
}
