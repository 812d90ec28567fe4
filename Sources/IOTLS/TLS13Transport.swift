internal import COpenSSL
import IOCore

#if canImport(Glibc)
import Glibc
#endif

/// Bytes a connection must keep between calls (a partial record received or sent, or plaintext a small
/// read could not take), on the heap only while there are any, so an idle connection holds none.
struct TLS13SpillBuffer {
    /// The allocation, nil while empty.
    private var storage: UnsafeMutableRawPointer? = nil
    /// Where the kept bytes start and end in `storage`.
    private var start = 0
    private var end = 0

    /// Whether bytes are kept.
    var isEmpty: Bool { self.start == self.end }

    /// How many bytes are kept.
    var count: Int { self.end - self.start }

    /// The kept bytes; valid until the next mutation.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: self.storage.map { $0 + self.start }, count: self.count)
    }

    /// Keeps a copy of `source`, replacing whatever was kept.
    mutating func replace(with source: UnsafeRawBufferPointer) {
        self.release()
        guard let base = source.baseAddress, !source.isEmpty else { return }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 8)
        storage.copyMemory(from: base, byteCount: source.count)
        self.storage = storage
        self.start = 0
        self.end = source.count
    }

    /// Drops the first `count` kept bytes; frees the allocation once nothing is left.
    mutating func consume(_ count: Int) {
        self.start += count
        if self.start >= self.end { self.release() }
    }

    /// Drops everything and frees the allocation.
    mutating func release() {
        self.storage?.deallocate()
        self.storage = nil
        self.start = 0
        self.end = 0
    }
}

/// A server's TLS 1.3 session after OpenSSL did the handshake: the ``TLS13RecordLayer`` over the
/// non-blocking socket, with the ``SecureTransport`` semantics ``TLSConnection`` promises.
///
/// Reads go straight into the caller's buffer when it holds a whole record (the loop's 64 KiB buffer
/// does) and are decrypted there in place; at most one partial record is kept between reads. Writes
/// seal one record per call into a per-thread scratch buffer and keep only the unsent tail of a record
/// that the socket took in part. Confined to the connection's loop thread.
struct TLS13Transport {
    /// The socket; owned by the event loop, never closed here.
    let fileDescriptor: Int32
    /// The protocol ALPN agreed, kept from the handshake for ``TLSConnection/negotiatedApplicationProtocol``.
    let applicationProtocol: String?
    /// The SNI host name the client sent, kept from the handshake for ``TLSConnection/serverName``.
    let serverName: String?
    /// Keys, sequence numbers and record protection.
    private var recordLayer: TLS13RecordLayer
    /// The start of a record whose rest has not arrived yet.
    private var partialRecord = TLS13SpillBuffer()
    /// Decrypted bytes a read with a small buffer could not take.
    private var pendingPlaintext = TLS13SpillBuffer()
    /// The unsent tail of a record the socket took only in part; it must go out before anything else.
    private var unsentRecord = TLS13SpillBuffer()
    /// How many of the caller's plaintext bytes `unsentRecord` carries (0 for a KeyUpdate).
    private var unsentPlaintextCount = 0
    /// How reading ended (close_notify, EOF, failure), once it did. Reported after pending plaintext.
    private var readEnd: SecureTransportResult? = nil
    /// Whether `readEnd` has been returned by a read.
    private var readEndReported = false
    /// Set once the session failed: every later call returns it, and no alert is sent any more.
    private var failure: ConnectionError? = nil
    /// Set once close_notify was sent (or given up on), so ``shutdown()`` runs once and writes stop.
    private var hasSentCloseNotify = false

    /// A transport over `fileDescriptor` with the given record protection and what the handshake agreed.
    init(fileDescriptor: Int32, recordLayer: TLS13RecordLayer, applicationProtocol: String?, serverName: String?) {
        self.fileDescriptor = fileDescriptor
        self.recordLayer = recordLayer
        self.applicationProtocol = applicationProtocol
        self.serverName = serverName
    }

    /// The negotiated suite.
    var suite: TLS13CipherSuite { self.recordLayer.suite }

    /// Records sealed under the current write key, for tests (a KeyUpdate resets it).
    var writeSequenceNumber: UInt64 { self.recordLayer.writeSequenceNumber }

    /// Frees the spill buffers and zeros the keys; called when the connection is released.
    mutating func release() {
        self.partialRecord.release()
        self.pendingPlaintext.release()
        self.unsentRecord.release()
        self.recordLayer.wipe()
    }

    /// Whether a read would return something without the socket becoming readable: decrypted bytes, or
    /// the end of the stream that was seen behind the last data.
    var hasBufferedPlaintext: Bool {
        !self.pendingPlaintext.isEmpty || (self.readEnd != nil && !self.readEndReported)
    }

    // MARK: Reading

    /// Reads decrypted application data into `buffer`; see ``TLSConnection/read(into:)``.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> SecureTransportResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        if !self.pendingPlaintext.isEmpty {
            let count = min(buffer.count, self.pendingPlaintext.count)
            base.copyMemory(from: self.pendingPlaintext.bytes.baseAddress!, byteCount: count)
            self.pendingPlaintext.consume(count)
            return .done(count)
        }
        if let end = self.readEnd {
            self.readEndReported = true
            return end
        }
        if let failure = self.failure { return .failed(failure) }
        // Records are opened in place, so the workspace must hold a whole record.
        let isDirect = buffer.count >= TLS13Record.maximumRecordLength
        let workspace = isDirect ? buffer : TLS13ThreadResources.current.receiveScratch
        while true {
            let carried = self.partialRecord.count
            if carried > 0 {
                workspace.baseAddress!.copyMemory(from: self.partialRecord.bytes.baseAddress!, byteCount: carried)
            }
            let received: Int
            switch self.receive(into: UnsafeMutableRawBufferPointer(rebasing: workspace[carried...])) {
            case .done(let count): received = count
            case .wantRead: return .wantRead
            case let end:
                // EOF or a broken socket. A partial record left behind is dropped: after the handshake an
                // EOF without close_notify is reported as a close (see TLSConnection), and the framing
                // above TLS detects truncation.
                self.partialRecord.release()
                self.readEnd = end
                self.readEndReported = true
                return end
            }
            self.partialRecord.release()
            let available = carried + received
            let (produced, consumed) = self.openRecords(in: UnsafeMutableRawBufferPointer(rebasing: workspace[0..<available]))
            if self.readEnd == nil && consumed < available {
                self.partialRecord.replace(with: UnsafeRawBufferPointer(rebasing: workspace[consumed..<available]))
            }
            if produced > 0 {
                if isDirect { return .done(produced) }
                let count = min(produced, buffer.count)
                base.copyMemory(from: workspace.baseAddress!, byteCount: count)
                if count < produced {
                    self.pendingPlaintext.replace(with: UnsafeRawBufferPointer(rebasing: workspace[count..<produced]))
                }
                return .done(count)
            }
            if let end = self.readEnd {
                self.readEndReported = true
                return end
            }
            // Only a partial record, a KeyUpdate or empty records arrived: read on until WANT_READ.
        }
    }

    /// Opens every whole record in `workspace`, moving each one's plaintext down to the front, so that
    /// `workspace[0..<produced]` is the data in order. Stops at a partial record, at close_notify and at
    /// an error (which sets `readEnd` and sends an alert).
    /// - Returns: plaintext bytes at the front, and bytes consumed (the rest is a partial record).
    private mutating func openRecords(in workspace: UnsafeMutableRawBufferPointer) -> (produced: Int, consumed: Int) {
        let base = workspace.baseAddress!
        var produced = 0
        var offset = 0
        while workspace.count - offset >= TLS13Record.headerLength {
            do throws(TLS13RecordError) {
                let header = UnsafeRawBufferPointer(start: base + offset, count: TLS13Record.headerLength)
                let length = try TLS13RecordLayer.recordLength(header: header)
                guard workspace.count - offset >= length else { break }
                let record = UnsafeMutableRawBufferPointer(start: base + offset, count: length)
                switch try self.recordLayer.open(record) {
                case .applicationData(let count):
                    // Plaintext never overtakes its own ciphertext, so this move cannot clobber unread records.
                    if count > 0 {
                        (base + produced).copyMemory(from: base + offset + TLS13Record.headerLength, byteCount: count)
                        produced += count
                    }
                case .consumed:
                    break
                case .closeNotify:
                    self.readEnd = .closed
                    return (produced, workspace.count)
                }
                offset += length
            } catch {
                self.fail(error)
                return (produced, workspace.count)
            }
        }
        return (produced, offset)
    }

    /// One `recv` into `buffer`, retried on EINTR: `.done(n ≥ 1)`, `.wantRead`, `.closed` on EOF, or a failure.
    private mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> SecureTransportResult {
        while true {
            let count = recv(self.fileDescriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .done(count) }
            if count == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wantRead
            case ECONNRESET, EPIPE:
                return self.failAndReport(.reset(String(cString: strerror(errno))))
            case let code:
                return self.failAndReport(.io(IOError(errno: code, syscall: "recv")))
            }
        }
    }

    // MARK: Writing

    /// Encrypts and sends up to one record of `buffer`; see ``TLSConnection/write(_:)`` for the contract
    /// after `.wantWrite` (offer the same bytes again).
    mutating func write(_ buffer: UnsafeRawBufferPointer) -> SecureTransportResult {
        if let failure = self.failure { return .failed(failure) }
        if self.hasSentCloseNotify { return .failed(.tlsFailure("write after close_notify")) }
        if !self.unsentRecord.isEmpty {
            switch self.sendUnsentRecord() {
            case .done: break
            case let other: return other
            }
            let owed = self.unsentPlaintextCount
            self.unsentPlaintextCount = 0
            if owed > 0 {
                // The record carried the first `owed` bytes the caller offered before; they must be offered again.
                guard buffer.count >= owed else {
                    return self.failAndReport(.tlsFailure("write retried with fewer bytes than a record in flight"))
                }
                return .done(owed)
            }
        }
        guard buffer.count > 0, let source = buffer.baseAddress else { return .done(0) }
        let scratch = TLS13ThreadResources.current.sendScratch
        var controlLength = 0
        do throws(TLS13RecordError) {
            if self.recordLayer.needsKeyUpdate {
                controlLength = try self.recordLayer.sealKeyUpdate(into: scratch)
            }
            let chunk = min(buffer.count, TLS13Record.maximumPlaintextLength)
            let dataLength = try self.recordLayer.seal(
                contentType: TLS13Record.contentTypeApplicationData,
                plaintext: UnsafeRawBufferPointer(start: source, count: chunk),
                into: UnsafeMutableRawBufferPointer(rebasing: scratch[controlLength...])
            )
            let total = controlLength + dataLength
            let sent: Int
            switch self.send(UnsafeRawBufferPointer(rebasing: scratch[0..<total])) {
            case .done(let count): sent = count
            case .wantWrite: sent = 0
            case let other: return other
            }
            if sent == total { return .done(chunk) }
            if sent <= controlLength {
                // The data record never reached the kernel: take it back. A KeyUpdate that did not go out
                // in full stays queued, since the write keys have already moved on.
                self.recordLayer.unsealLastRecord()
                if sent < controlLength {
                    self.unsentRecord.replace(with: UnsafeRawBufferPointer(rebasing: scratch[sent..<controlLength]))
                    self.unsentPlaintextCount = 0
                }
                return .wantWrite
            }
            self.unsentRecord.replace(with: UnsafeRawBufferPointer(rebasing: scratch[sent..<total]))
            self.unsentPlaintextCount = chunk
            return .wantWrite
        } catch {
            self.fail(error)
            return .failed(self.failure!)
        }
    }

    /// Sends what is left of `unsentRecord`: `.done(0)` once it is all out, else `.wantWrite` or a failure.
    private mutating func sendUnsentRecord() -> SecureTransportResult {
        switch self.send(self.unsentRecord.bytes) {
        case .done(let count):
            self.unsentRecord.consume(count)
            return self.unsentRecord.isEmpty ? .done(0) : .wantWrite
        case let other:
            return other
        }
    }

    /// One non-blocking `send` without SIGPIPE, retried on EINTR: `.done(n ≥ 1)`, `.wantWrite` or a failure.
    private mutating func send(_ bytes: UnsafeRawBufferPointer) -> SecureTransportResult {
        while true {
            let count = Glibc.send(self.fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if count > 0 { return .done(count) }
            if count == 0 { return .wantWrite }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wantWrite
            case ECONNRESET, EPIPE:
                return self.failAndReport(.reset(String(cString: strerror(errno))))
            case let code:
                return self.failAndReport(.io(IOError(errno: code, syscall: "send")))
            }
        }
    }

    // MARK: Closing and failing

    /// Sends close_notify once, best effort; see ``TLSConnection/shutdown()``.
    mutating func shutdown() {
        guard self.failure == nil, !self.hasSentCloseNotify else { return }
        self.hasSentCloseNotify = true
        self.sendAlert(level: TLS13Alert.levelWarning, description: TLS13Alert.closeNotify)
    }

    /// Seals and sends one alert, best effort: only if no record is half sent (an alert inside it would
    /// corrupt the stream) and only what one `send` takes.
    private mutating func sendAlert(level: UInt8, description: UInt8) {
        if !self.unsentRecord.isEmpty {
            guard case .done = self.sendUnsentRecord() else { return }
        }
        let scratch = TLS13ThreadResources.current.sendScratch
        guard let length = try? self.recordLayer.sealAlert(level: level, description: description, into: scratch)
        else { return }
        _ = Glibc.send(self.fileDescriptor, scratch.baseAddress, length, Int32(MSG_NOSIGNAL))
    }

    /// Records a record-layer failure: sends its alert (best effort) and ends reading and writing.
    private mutating func fail(_ error: TLS13RecordError) {
        guard self.failure == nil else { return }
        if let description = error.alertDescription {
            self.sendAlert(level: TLS13Alert.levelFatal, description: description)
        }
        self.failure = .tlsFailure(error.detail)
        self.readEnd = .failed(self.failure!)
        self.readEndReported = false
    }

    /// Records a socket failure and returns it as a result.
    private mutating func failAndReport(_ error: ConnectionError) -> SecureTransportResult {
        if self.failure == nil { self.failure = error }
        return .failed(self.failure!)
    }
}
