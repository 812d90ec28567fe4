import Foundation
import IOCore
import IOTLS
import TestKit

#if canImport(Glibc)
import Glibc
#endif

/// An independent TLS peer run as a process (`openssl s_client`, a Python script), with its stdin held
/// open and its stdout and stderr read together at the end.
final class ChildProcess {
    let process = Process()
    let input = Pipe()
    let output = Pipe()

    init(_ executable: String, _ arguments: [String]) throws {
        self.process.executableURL = URL(fileURLWithPath: executable)
        self.process.arguments = arguments
        self.process.standardInput = self.input
        self.process.standardOutput = self.output
        self.process.standardError = self.output
        try self.process.run()
    }

    /// `openssl s_client` with `arguments`.
    static func sClient(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess("/usr/bin/openssl", ["s_client"] + arguments)
    }

    func send(_ text: String) {
        self.input.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Waits up to `timeout` for the exit (then kills it) and returns the status and output.
    func finish(timeout: Duration = .seconds(20)) -> (status: Int32, output: String) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while self.process.isRunning && clock.now < deadline { usleep(10_000) }
        if self.process.isRunning { self.process.terminate() }
        try? self.input.fileHandleForWriting.close()
        self.process.waitUntilExit()
        let data = self.output.fileHandleForReading.readDataToEndOfFile()
        return (self.process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Accepts one connection on `listener` and runs the server handshake on it to its end, whatever that is.
func acceptAndHandshake(
    _ listener: TCPListener,
    context: TLSServerContext
) throws -> (fd: Int32, connection: TLSConnection, result: SecureTransportResult) {
    guard let fd = listener.accept(timeoutMilliseconds: 10_000) else {
        throw FixtureError("no client connected")
    }
    let connection = try context.makeConnection(fileDescriptor: fd)
    var result = SecureTransportResult.wantRead
    try pump([
        {
            result = connection.handshake()
            switch result {
            case .wantRead: return .waiting(fileDescriptor: fd, events: Int16(POLLIN))
            case .wantWrite: return .waiting(fileDescriptor: fd, events: Int16(POLLOUT))
            default: return .finished
            }
        }
    ])
    return (fd, connection, result)
}
