/// An HTTP request method: one of the common ones, or any other token (RFC 9110 §9).
///
/// Methods are case-sensitive: `get` is not `GET`.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The method token as sent on the wire.
    public var rawValue: String

    /// A method with the given token. The writers replace bytes that are not token characters.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The method token.
    public var description: String { self.rawValue }

    // Computed rather than stored statics: a string literal costs nothing to build, and a stored
    // static would add a lazy-initialisation check to every parsed request.

    /// `GET`.
    public static var get: HTTPMethod { HTTPMethod(rawValue: "GET") }
    /// `HEAD`: the response has no body, whatever its headers say.
    public static var head: HTTPMethod { HTTPMethod(rawValue: "HEAD") }
    /// `POST`.
    public static var post: HTTPMethod { HTTPMethod(rawValue: "POST") }
    /// `PUT`.
    public static var put: HTTPMethod { HTTPMethod(rawValue: "PUT") }
    /// `DELETE`.
    public static var delete: HTTPMethod { HTTPMethod(rawValue: "DELETE") }
    /// `OPTIONS`.
    public static var options: HTTPMethod { HTTPMethod(rawValue: "OPTIONS") }
    /// `PATCH`.
    public static var patch: HTTPMethod { HTTPMethod(rawValue: "PATCH") }
    /// `CONNECT`: a 2xx response has no body and turns the connection into a tunnel.
    public static var connect: HTTPMethod { HTTPMethod(rawValue: "CONNECT") }
    /// `TRACE`.
    public static var trace: HTTPMethod { HTTPMethod(rawValue: "TRACE") }

    /// The method for the token at `pointer`, reusing a literal for the common ones so that parsing
    /// them allocates nothing. The bytes must already be validated as a token.
    static func parse(_ pointer: UnsafePointer<UInt8>, count: Int) -> HTTPMethod {
        switch count {
        case 3:
            if HTTPBytes.equals(pointer, count, "GET") { return .get }
            if HTTPBytes.equals(pointer, count, "PUT") { return .put }
        case 4:
            if HTTPBytes.equals(pointer, count, "POST") { return .post }
            if HTTPBytes.equals(pointer, count, "HEAD") { return .head }
        case 5:
            if HTTPBytes.equals(pointer, count, "PATCH") { return .patch }
            if HTTPBytes.equals(pointer, count, "TRACE") { return .trace }
        case 6:
            if HTTPBytes.equals(pointer, count, "DELETE") { return .delete }
        case 7:
            if HTTPBytes.equals(pointer, count, "OPTIONS") { return .options }
            if HTTPBytes.equals(pointer, count, "CONNECT") { return .connect }
        default:
            break
        }
        return HTTPMethod(rawValue: String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
    }
}
