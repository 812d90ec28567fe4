#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// An IPv4 or IPv6 socket address.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    /// Parses a numeric IPv4 or IPv6 literal (no name resolution), with a port.
    public init(ipAddress: String, port: Int) throws(SocketAddressError) {
        guard (0...65535).contains(port) else { throw SocketAddressError(message: "port \(port) out of range") }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, ipAddress, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port)).bigEndian
            self = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        var literal = ipAddress
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port)).bigEndian
            self = .v6(v6)
            return
        }
        throw SocketAddressError(message: "not an IP address literal")
    }

    /// Reads an address the kernel filled in (from `accept`, `getsockname`, `getaddrinfo`).
    public init?(_ storage: UnsafePointer<sockaddr>, length: Int) {
        switch Int32(storage.pointee.sa_family) {
        case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
            self = .v4(UnsafeRawPointer(storage).loadUnaligned(as: sockaddr_in.self))
        case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
            self = .v6(UnsafeRawPointer(storage).loadUnaligned(as: sockaddr_in6.self))
        default:
            return nil
        }
    }

    /// `AF_INET` or `AF_INET6`.
    public var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// The port in host byte order.
    public var port: Int {
        get {
            switch self {
            case .v4(let a): Int(UInt16(bigEndian: a.sin_port))
            case .v6(let a): Int(UInt16(bigEndian: a.sin6_port))
            }
        }
        set {
            switch self {
            case .v4(var a):
                a.sin_port = in_port_t(UInt16(newValue)).bigEndian
                self = .v4(a)
            case .v6(var a):
                a.sin6_port = in_port_t(UInt16(newValue)).bigEndian
                self = .v6(a)
            }
        }
    }

    /// The IP address as text, without the port.
    public var ipAddress: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch self {
        case .v4(var a):
            _ = inet_ntop(AF_INET, &a.sin_addr, &buffer, socklen_t(buffer.count))
        case .v6(var a):
            _ = inet_ntop(AF_INET6, &a.sin6_addr, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the address is on the loopback network (127.0.0.0/8 or ::1).
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): (UInt32(bigEndian: a.sin_addr.s_addr) >> 24) == 127
        case .v6(var a):
            withUnsafeBytes(of: &a.sin6_addr) { raw in raw.prefix(15).allSatisfy { $0 == 0 } && raw[15] == 1 }
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        switch self {
        case .v4(var a):
            return try withUnsafePointer(to: &a) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var a):
            return try withUnsafePointer(to: &a) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    public var description: String {
        switch self {
        case .v4: "\(self.ipAddress):\(self.port)"
        case .v6: "[\(self.ipAddress)]:\(self.port)"
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.family == rhs.family && lhs.port == rhs.port && lhs.ipAddress == rhs.ipAddress
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.family)
        hasher.combine(self.port)
        hasher.combine(self.ipAddress)
    }
}

/// A socket address could not be parsed.
public struct SocketAddressError: Error, Hashable, Sendable {
    /// What was wrong.
    public var message: String
}
