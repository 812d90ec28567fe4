/// Session ids: 20 characters of URL-safe base64 over 15 bytes from the system CSPRNG.
///
/// The reference uses 12 random bytes plus a 32-bit counter, giving the same 20-character shape;
/// here all 120 bits are random, so an id reveals nothing about how many sessions came before it.
/// Socket.IO socket ids use the same format.
public enum EngineIOSessionID {
    /// The length of every generated id.
    public static let length = 20

    /// The URL-safe base64 alphabet (`-` and `_` for `+` and `/`), so ids need no escaping in a query.
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// A new unguessable id.
    ///
    /// The bytes come from `SystemRandomNumberGenerator`, which on Linux is the kernel CSPRNG
    /// (`getrandom(2)`, falling back to `/dev/urandom`) and is safe from any thread. Swift's `Glibc`
    /// module does not export `getrandom` itself, so this is the direct way to reach it without a C
    /// shim; the generator traps if the kernel cannot provide randomness, which no caller could handle
    /// better.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return self.generate(using: &generator)
    }

    /// An id from `generator`'s bytes: for tests, which need repeatable ids. Production code must use
    /// ``generate()``.
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        // 15 bytes = 120 bits = exactly 20 six-bit characters: two 64-bit draws, 8 bits unused.
        let high = generator.next()
        let low = generator.next()
        return String(unsafeUninitializedCapacity: self.length) { destination in
            self.alphabet.withUTF8Buffer { alphabet in
                for index in 0..<10 {
                    destination[index] = alphabet[Int((high >> UInt64(6 &* index)) & 63)]
                    destination[10 &+ index] = alphabet[Int((low >> UInt64(6 &* index)) & 63)]
                }
            }
            return self.length
        }
    }

    /// Whether `string` has the shape of a generated id: 20 characters of the URL-safe alphabet.
    public static func isWellFormed(_ string: String) -> Bool {
        var count = 0
        for byte in string.utf8 {
            let valid =
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            guard valid else { return false }
            count &+= 1
        }
        return count == self.length
    }
}
