import CLinux
import Glibc
import IOCore

/// The result of a non-blocking system call: it did something, or it would have blocked.
public enum IOResult<T: Sendable>: Sendable {
    case processed(T)
    case wouldBlock
}

/// The kernel edge: one wrapper per system call we use. Each retries on `EINTR`, turns `EAGAIN` into
/// ``IOResult/wouldBlock`` where that is a result, throws ``IOError`` otherwise, and traps on errnos that can
/// only mean a bug of ours (`EBADF`, `EFAULT`).
enum Posix {
    @inline(__always)
    private static func check(_ errnoValue: Int32, _ name: StaticString) {
        precondition(errnoValue != EBADF && errnoValue != EFAULT, "\(name) failed with a programming error: errno \(errnoValue)")
    }

    /// Calls `body` until it does not fail with EINTR; maps -1 to a thrown IOError.
    @inline(__always)
    static func syscall(_ name: StaticString, _ body: () -> Int) throws(IOError) -> Int {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let e = errno
            if e == EINTR { continue }
            check(e, name)
            throw IOError(errno: e, syscall: "\(name)")
        }
    }

    /// Like ``syscall(_:_:)`` but EAGAIN/EWOULDBLOCK become `.wouldBlock`.
    @inline(__always)
    static func nonBlocking(_ name: StaticString, _ body: () -> Int) throws(IOError) -> IOResult<Int> {
        while true {
            let rc = body()
            if rc >= 0 { return .processed(rc) }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            check(e, name)
            throw IOError(errno: e, syscall: "\(name)")
        }
    }

    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try nonBlocking("send") { Glibc.send(fd, buffer.baseAddress, buffer.count, CLinux_MSG_NOSIGNAL) }
    }

    static func close(_ fd: Int32) {
        // close(2) must not be retried on EINTR on Linux: the descriptor is gone either way.
        _ = Glibc.close(fd)
    }

    static func socket(family: Int32) throws(IOError) -> Int32 {
        Int32(try syscall("socket") { Int(Glibc.socket(family, CLinux_SOCK_STREAM | CLinux_SOCK_NONBLOCK | CLinux_SOCK_CLOEXEC, 0)) })
    }

    static func setOption<T: BitwiseCopyable>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T) throws(IOError) {
        _ = try syscall("setsockopt") {
            withUnsafeBytes(of: value) { Int(setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count))) }
        }
    }

    static func bind(_ fd: Int32, _ address: SocketAddress) throws(IOError) {
        _ = try syscall("bind") { address.withSockAddr { Int(Glibc.bind(fd, $0, $1)) } }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(IOError) {
        _ = try syscall("listen") { Int(Glibc.listen(fd, backlog)) }
    }

    static func accept(_ fd: Int32) throws(IOError) -> IOResult<(Int32, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(IOError) in
                try nonBlocking("accept4") {
                    Int(CLinux_accept4(fd, address, &length, CLinux_SOCK_NONBLOCK | CLinux_SOCK_CLOEXEC))
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed(let newFD):
            let address = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: Int(length)) }
            }
            return .processed((Int32(newFD), address))
        }
    }

    /// Starts a non-blocking connect; `false` means it is in progress (EINPROGRESS).
    static func connect(_ fd: Int32, _ address: SocketAddress) throws(IOError) -> Bool {
        while true {
            let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return true }
            let e = errno
            if e == EINTR { continue }
            if e == EINPROGRESS { return false }
            check(e, "connect")
            throw IOError(errno: e, syscall: "connect")
        }
    }

    static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { return errno }
        return value
    }

    static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                getsockname(fd, address, &length) == 0 ? SocketAddress(address, length: Int(length)) : nil
            }
        }
    }

    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Nanoseconds on the monotonic clock.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// Process-wide settings every server needs before its first socket.
public enum ProcessSetup {
    /// Ignores SIGPIPE: OpenSSL writes with write(2), and a write to a closed peer would kill the process.
    public static func ignoreSIGPIPE() { CLinux_ignoreSIGPIPE() }

    /// Raises the soft open-file limit to the hard limit; returns the new soft limit.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }

    /// The number of CPUs this process may run on.
    public static var availableCPUCount: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? Int(n) : 1
    }
}
