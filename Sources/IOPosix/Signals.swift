import CLinux
import Glibc

/// Waits for process signals (SIGTERM, SIGINT) without blocking any event loop or the concurrency pool.
///
/// A C handler writes each signal's number to a pipe; a dedicated thread blocks reading it. This works
/// however many threads exist and whichever one the kernel delivers the signal to.
public enum SignalWaiter {
    /// Installs handlers for `signals` and returns a stream of the signals as they arrive.
    public static func signals(_ signals: [Int32]) -> AsyncStream<Int32> {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        for signal in signals { _ = CLinux_routeSignalToPipe(signal, fds[1]) }
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let box = Unmanaged.passRetained(SignalBox(fd: fds[0], continuation: continuation))
        var thread = pthread_t()
        precondition(pthread_create(&thread, nil, signalThreadMain, box.toOpaque()) == 0, "pthread_create failed")
        pthread_detach(thread)
        return stream
    }
}

private final class SignalBox {
    let fd: Int32
    let continuation: AsyncStream<Int32>.Continuation
    init(fd: Int32, continuation: AsyncStream<Int32>.Continuation) {
        self.fd = fd
        self.continuation = continuation
    }
}

private func signalThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let box = Unmanaged<SignalBox>.fromOpaque(argument!).takeRetainedValue()
    CLinux_setThreadName("signals")
    var byte: UInt8 = 0
    while true {
        let n = read(box.fd, &byte, 1)
        if n == 1 {
            box.continuation.yield(Int32(byte))
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            box.continuation.finish()
            return nil
        }
    }
}
