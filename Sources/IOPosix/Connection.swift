import CLinux
import Glibc
public import IOCore

/// One TCP connection (optionally TLS) on one event loop: non-blocking reads into the loop's shared
/// buffer, a write queue with back-pressure, and an orderly close.
///
/// Loop-confined: every method must be called on `loop`'s thread. Writes are queued and sent once per
/// loop tick, so many small writes in one tick become one system call.
public final class Connection: Selectable {
    enum State: UInt8 {
        case connecting, handshaking, open, closing, closed
    }

    /// The loop that owns this connection for its whole life.
    public unowned let loop: EventLoop
    /// The peer's address.
    public let remoteAddress: SocketAddress?
    /// The protocol logic; replace it to switch protocols (for example HTTP → WebSocket).
    public var handler: (any ConnectionHandler)?
    /// Set by the code that made the connection (a server's id), so it can find its own connections.
    public let ownerID: UInt32

    let fd: Int32
    var token: UInt64 = 0
    var state: State
    private var interest: Interest = .read
    private let options: ConnectionOptions
    private var tls: (any SecureTransport)?
    private var output = ByteBuffer()
    private var flushScheduled = false
    /// Set while the loop holds this connection in its list of output storage to release (see `flushNow`).
    var outputReleaseScheduled = false
    private var readingPausedByHandler = false
    private var readingPausedByOutput = false
    private var readEOF = false
    private var timer: ScheduledTimer?
    private var closeError: ConnectionError?

    /// Whether queued output is below the high watermark; a producer that can wait should stop writing
    /// while this is false and resume on `connectionWritabilityDidChange`.
    public private(set) var isWritable = true

    init(
        loop: EventLoop, fd: Int32, remoteAddress: SocketAddress?, state: State, tls: (any SecureTransport)?,
        options: ConnectionOptions, ownerID: UInt32, handler: (any ConnectionHandler)?
    ) {
        self.loop = loop
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.state = state
        self.tls = tls
        self.options = options
        self.ownerID = ownerID
        self.handler = handler
    }

    /// Whether the connection is usable for writing.
    public var isOpen: Bool { self.state == .open || self.state == .handshaking || self.state == .connecting }

    /// Whether this connection is encrypted.
    public var isSecure: Bool { self.tls != nil }

    /// The ALPN protocol agreed on a TLS connection.
    public var negotiatedApplicationProtocol: String? { self.tls?.negotiatedApplicationProtocol }

    /// The local address of the socket.
    public var localAddress: SocketAddress? { Posix.localAddress(self.fd) }

    /// Bytes queued for sending.
    public var queuedOutputBytes: Int { self.output.readableBytes }

    /// Memory this connection holds in buffers (for tests and metrics).
    public var bufferedCapacity: Int { self.output.capacity }

    // MARK: Registration

    func register(initialInterest: Interest) throws(IOError) {
        self.interest = initialInterest
        self.token = try self.loop.register(self, fd: self.fd, interest: initialInterest)
        self.loop.connectionOpened()
    }

    func startHandshakeTimer() {
        self.timer = self.loop.scheduleTimer(after: self.options.handshakeTimeout) { [unowned self] in
            self.timer = nil
            let what = self.state == .connecting ? "connect" : "TLS handshake"
            self.abort(.timedOut(what))
        }
    }

    private func setInterest(_ newInterest: Interest) {
        guard newInterest != self.interest, self.state != .closed else { return }
        self.interest = newInterest
        do {
            try self.loop.selector.modify(fd: self.fd, interest: newInterest, token: self.token)
        } catch {
            self.abort(.io(error))
        }
    }

    private func updateReadInterest() {
        var wanted = self.interest
        let reading = !self.readingPausedByHandler && !self.readingPausedByOutput && !self.readEOF
            && (self.state == .open || self.state == .handshaking)
        if reading { wanted.insert(.read) } else { wanted.remove(.read) }
        self.setInterest(wanted)
    }

    // MARK: Events

    func handleEvent(_ bits: UInt32) {
        switch self.state {
        case .connecting:
            self.finishConnect()
        case .handshaking:
            self.driveHandshake()
        case .open, .closing:
            if bits & CLinux_EPOLLOUT != 0 {
                self.flushNow()
            }
            let broken = bits & (CLinux_EPOLLHUP | CLinux_EPOLLERR) != 0
            if self.state == .open && self.interest.contains(.read) {
                // Reading also surfaces the error or EOF behind a hang-up.
                if bits & (CLinux_EPOLLIN | CLinux_EPOLLRDHUP) != 0 || broken { self.readAvailable() }
            } else if broken && self.state != .closed {
                // Not reading (paused, EOF seen, or closing): epoll reports HUP/ERR regardless of interest,
                // so a broken socket must be dropped here or it would wake the loop forever.
                let error = Posix.socketError(self.fd)
                self.abort(error == 0 ? .reset("peer hung up") : .io(IOError(errno: error, syscall: "socket")))
            }
        case .closed:
            break
        }
    }

    private func finishConnect() {
        let error = Posix.socketError(self.fd)
        guard error == 0 else {
            self.abort(.connectFailed(IOError(errno: error, syscall: "connect").description))
            return
        }
        if self.tls != nil {
            self.state = .handshaking
            self.setInterest(.read)
            self.driveHandshake()
        } else {
            self.becomeOpen()
        }
    }

    private func driveHandshake() {
        guard let tls = self.tls else { return }
        switch tls.handshake() {
        case .done:
            self.becomeOpen()
        case .wantRead:
            self.setInterest(.read)
        case .wantWrite:
            self.setInterest(.write)
        case .closed:
            self.abort(.tlsFailure("peer closed during handshake"))
        case .failed(let error):
            self.abort(error)
        }
    }

    private func becomeOpen() {
        self.timer?.cancel()
        self.timer = nil
        self.state = .open
        var wanted: Interest = .read
        if !self.output.isEmpty { wanted.insert(.write) }
        self.setInterest(wanted)
        self.handler?.connectionDidOpen(self)
        // With TLS, application data may already sit decrypted inside the transport.
        if self.state == .open, self.tls != nil { self.readAvailable() }
    }

    /// Reads until the socket is drained, a bounded number of times so one busy peer cannot starve others.
    private func readAvailable() {
        let buffer = self.loop.readBuffer
        var rounds = 0
        while self.state == .open && !self.readingPausedByHandler && !self.readingPausedByOutput && !self.readEOF {
            rounds += 1
            let count: Int
            if let tls = self.tls {
                switch tls.read(into: buffer) {
                case .done(let n): count = n
                case .wantRead: return
                case .wantWrite:
                    self.setInterest(self.interest.union(.write))
                    return
                case .closed: count = 0
                case .failed(let error):
                    self.abort(error)
                    return
                }
            } else {
                do {
                    switch try Posix.read(self.fd, buffer) {
                    case .processed(let n): count = n
                    case .wouldBlock: return
                    }
                } catch {
                    self.abort(error.errno == ECONNRESET ? .reset() : .io(error))
                    return
                }
            }
            if count == 0 {
                self.readEOF = true
                self.updateReadInterest()
                if let handler = self.handler { handler.connectionDidReadEOF(self) } else { self.close() }
                return
            }
            self.handler?.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if self.tls == nil && count < buffer.count { return }  // drained; epoll says when there is more
            if rounds == 16 {
                // Fairness: come back after the other connections had their turn.
                if self.tls?.hasBufferedPlaintext ?? true {
                    self.loop.executeLocal { [self] in self.readAvailable() }
                }
                return
            }
        }
    }

    // MARK: Reading control

    /// Stops delivering reads until ``resumeReading()``; the kernel buffers, then the peer is slowed by TCP.
    public func pauseReading() {
        self.readingPausedByHandler = true
        self.updateReadInterest()
    }

    /// Resumes delivering reads.
    public func resumeReading() {
        guard self.readingPausedByHandler else { return }
        self.readingPausedByHandler = false
        self.updateReadInterest()
        if self.tls?.hasBufferedPlaintext == true {
            self.loop.executeLocal { [self] in self.readAvailable() }
        }
    }

    // MARK: Writing

    /// Queues a copy of `bytes` for sending.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard self.isOpen else { return }
        self.output.writeBytes(bytes)
        self.didQueueOutput()
    }

    /// Queues `buffer` for sending.
    public func write(_ buffer: ByteBuffer) {
        guard self.isOpen else { return }
        self.output.writeBuffer(buffer)
        self.didQueueOutput()
    }

    /// Lets an encoder append directly to the output queue, without an intermediate buffer.
    public func writeWith(_ body: (inout ByteBuffer) -> Void) {
        guard self.isOpen else { return }
        body(&self.output)
        self.didQueueOutput()
    }

    private func didQueueOutput() {
        let queued = self.output.readableBytes
        if queued > self.options.maximumQueuedOutput {
            self.abort(.outputOverflow)
            return
        }
        if queued > self.options.highWatermark && self.isWritable {
            self.isWritable = false
            self.readingPausedByOutput = true
            self.updateReadInterest()
        }
        if !self.flushScheduled && self.state != .connecting && self.state != .handshaking {
            self.flushScheduled = true
            self.loop.scheduleFlush(self)
        }
    }

    /// Sends as much queued output as the socket takes now. Normally called by the loop once per tick.
    func flushNow() {
        self.flushScheduled = false
        guard self.state == .open || self.state == .closing else { return }
        while !self.output.isEmpty {
            let result: SecureTransportResult
            if let tls = self.tls {
                result = self.output.withUnsafeReadableBytes { tls.write($0) }
            } else {
                do {
                    switch try self.output.withUnsafeReadableBytes({ bytes throws(IOError) in try Posix.send(self.fd, bytes) }) {
                    case .processed(let n): result = .done(n)
                    case .wouldBlock: result = .wantWrite
                    }
                } catch {
                    result = .failed(error.errno == ECONNRESET || error.errno == EPIPE ? .reset() : .io(error))
                }
            }
            switch result {
            case .done(let n) where n == self.output.readableBytes:
                // All sent. A busy connection refills its output on the next tick, so the storage stays
                // (regrowing it from nothing cost several reallocations per tick at 100 connections x
                // 10 messages in flight); the loop releases large storage once the connection has been
                // quiet for a while, so idle connections stay small.
                self.output.removeAllKeepingCapacity()
                if self.output.capacity > ByteBuffer.retainedCapacity && !self.outputReleaseScheduled {
                    self.outputReleaseScheduled = true
                    self.loop.scheduleOutputRelease(self)
                }
            case .done(let n):
                self.output.moveReaderIndex(forwardBy: n)
            case .wantWrite, .wantRead:
                self.output.compactIfNeeded()
                self.setInterest(self.interest.union(.write))
                self.updateWritability()
                return
            case .closed:
                self.abort(.reset("peer closed"))
                return
            case .failed(let error):
                self.abort(error)
                return
            }
        }
        var wanted = self.interest
        wanted.remove(.write)
        self.setInterest(wanted)
        self.updateWritability()
        if self.state == .closing {
            self.finishClose(graceful: true)
        }
    }

    /// Called by the loop a while after `flushNow` kept large output storage: releases it unless output is
    /// queued again (then the next complete flush schedules another release).
    func releaseIdleOutput() {
        self.outputReleaseScheduled = false
        if self.output.isEmpty { self.output.clear() }
    }

    private func updateWritability() {
        guard !self.isWritable, self.output.readableBytes <= self.options.lowWatermark, self.state == .open else { return }
        self.isWritable = true
        self.readingPausedByOutput = false
        self.updateReadInterest()
        self.handler?.connectionWritabilityDidChange(self)
    }

    // MARK: Closing

    /// Closes gracefully: stops reading, sends what is queued (up to the linger deadline), then closes.
    public func close() {
        switch self.state {
        case .closing, .closed:
            return
        case .connecting, .handshaking:
            self.abort(nil)
            return
        case .open:
            break
        }
        self.state = .closing
        self.updateReadInterest()
        if self.output.isEmpty {
            self.finishClose(graceful: true)
        } else {
            self.timer?.cancel()
            self.timer = self.loop.scheduleTimer(after: self.options.closeLinger) { [unowned self] in
                self.timer = nil
                self.abort(.timedOut("close linger"))
            }
            if !self.flushScheduled {
                self.flushScheduled = true
                self.loop.scheduleFlush(self)
            }
        }
    }

    /// Closes at once, dropping queued output; `error` is reported to the handler.
    public func abort(_ error: ConnectionError?) {
        guard self.state != .closed else { return }
        self.closeError = error
        self.finishClose(graceful: false)
    }

    private func finishClose(graceful: Bool) {
        guard self.state != .closed else { return }
        self.state = .closed
        self.timer?.cancel()
        self.timer = nil
        if graceful { self.tls?.shutdown() }
        self.loop.deregister(fd: self.fd, token: self.token)
        Posix.close(self.fd)
        self.output = ByteBuffer()
        self.loop.connectionClosed()
        // Delivered after the current callback returns, so a handler never sees its own close re-entrantly.
        self.loop.executeLocal { [self] in
            let handler = self.handler
            self.handler = nil
            handler?.connectionDidClose(self, error: self.closeError)
        }
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
