import CLinux
import Glibc
public import IOCore
import Logging

/// One epoll event loop on its own thread.
///
/// Every socket, timer and protocol state machine registered here belongs to this loop's thread for its
/// whole life, so the hot path takes no lock. Other threads talk to the loop only through ``execute(_:)``,
/// which queues a task and wakes the loop through its eventfd. The loop is also a `SerialExecutor`, so an
/// actor can run on it and be entered from loop code without a thread hop.
public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: the fields below are either immutable, guarded by `queueLock`, or confined to
    // the loop thread (checked with `assertInEventLoop()` at every entry point that touches them).

    /// A short name for logs and the thread name, e.g. `loop-0`.
    public let name: String
    /// The loop's index in its group.
    public let index: Int

    let selector: Selector
    let logger: Logger

    // --- Cross-thread state, guarded by `queueLock`. ---
    private let queueLock = Lock()
    private var remoteTasks: [() -> Void] = []
    private var wakeupPending = false
    private var stopRequested = false

    // --- Loop-thread state. ---
    private var thread: pthread_t? = nil
    private var localTasks: [() -> Void] = []
    var timers = TimerHeap()
    private var registrations: [Registration] = []
    private var freeSlots: [Int] = []
    /// Connections with output queued during this tick; flushed once at the end of the tick.
    var pendingFlush: [Connection] = []
    /// Connections whose emptied output kept large storage, released by `releaseIdleOutputs` (loop only).
    private var pendingOutputRelease: [Connection] = []
    /// Fires `releaseIdleOutputs` while `pendingOutputRelease` is not empty.
    private var outputReleaseTimer: ScheduledTimer?
    /// How long emptied large output storage is kept for a connection that may write again.
    static let outputReleaseDelay: Duration = .seconds(1)
    /// Scratch space every connection on this loop reads into, so an idle connection owns no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Number of live connections on this loop.
    public private(set) var connectionCount = 0

    private struct Registration {
        var object: (any Selectable)?
        var generation: UInt32
    }

    /// Creates a loop; call ``start()`` to run it on its own thread, or ``run()`` on the current one.
    public init(name: String, index: Int = 0, readBufferSize: Int = 64 * 1024) throws(IOError) {
        self.name = name
        self.index = index
        self.selector = try Selector()
        self.readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        var logger = Logger(label: "earpiece.io")
        logger[metadataKey: "io.loop"] = .string(name)
        self.logger = logger
    }

    deinit {
        self.readBuffer.deallocate()
    }

    // MARK: Threads

    /// Whether the caller runs on this loop's thread.
    @inline(__always)
    public var inEventLoop: Bool {
        guard let thread = self.thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Traps if the caller is not on this loop's thread: loop-confined state must never be touched elsewhere.
    @inline(__always)
    public func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(self.inEventLoop, "not on event loop \(self.name)", file: file, line: line)
    }

    /// Starts the loop on a new thread, optionally pinned to a CPU.
    public func start(pinnedToCPU cpu: Int? = nil) {
        let box = Unmanaged.passRetained(StartBox(loop: self, cpu: cpu))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, eventLoopThreadMain, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        self.startedThread = thread
        // Wait until the thread has recorded itself, so `inEventLoop` is right as soon as we return.
        while !self.queueLock.withLock({ self.running }) { sched_yield() }
    }

    /// The thread `start()` created, joined by `join()`.
    private var startedThread: pthread_t? = nil
    private var running = false

    final class StartBox {
        let loop: EventLoop
        let cpu: Int?
        init(loop: EventLoop, cpu: Int?) {
            self.loop = loop
            self.cpu = cpu
        }
    }

    /// Runs the loop on the calling thread until ``stop()``.
    public func run() {
        self.thread = pthread_self()
        self.queueLock.withLock { self.running = true }
        while true {
            let timeout = self.nextTimeout()
            let count = self.selector.wait(timeoutMilliseconds: timeout)
            for i in 0..<count {
                let (token, bits) = self.selector.event(at: i)
                if token == Selector.wakeupToken {
                    self.selector.drainWakeups()
                    continue
                }
                let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
                let generation = UInt32(truncatingIfNeeded: token >> 32)
                // A stale event for a slot reused within this batch is recognised by its generation.
                guard slot < self.registrations.count, self.registrations[slot].generation == generation,
                    let object = self.registrations[slot].object
                else { continue }
                object.handleEvent(bits)
            }
            self.runExpiredTimers()
            if self.runTasks() { break }
            self.flushPending()
        }
        self.flushPending()
        self.queueLock.withLock { self.running = false }
    }

    /// Asks the loop to stop after its current tick. Any thread. Registered sockets are not closed.
    public func stop() {
        self.queueLock.withLock { self.stopRequested = true }
        self.selector.wakeup()
    }

    /// Waits for the thread started by ``start()`` to end.
    public func join() {
        if let thread = self.startedThread {
            pthread_join(thread, nil)
            self.startedThread = nil
        }
    }

    // MARK: Tasks

    /// Runs `task` on the loop thread soon. Safe from any thread; from the loop itself it runs after the
    /// current event batch.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        if self.inEventLoop {
            self.localTasks.append(task)
            return
        }
        self.enqueueRemote(task)
    }

    /// Queues loop-confined work from the loop thread itself; it runs after the current event batch.
    public func executeLocal(_ task: @escaping () -> Void) {
        self.assertInEventLoop()
        self.localTasks.append(task)
    }

    private func enqueueRemote(_ task: @escaping () -> Void) {
        let mustWake = self.queueLock.withLock {
            self.remoteTasks.append(task)
            defer { self.wakeupPending = true }
            return !self.wakeupPending
        }
        if mustWake { self.selector.wakeup() }
    }

    /// Runs queued tasks; returns true when the loop was asked to stop.
    private func runTasks() -> Bool {
        // Bounded: tasks queued by these tasks run on the next tick, so timers and I/O are not starved.
        if !self.localTasks.isEmpty {
            let tasks = self.localTasks
            self.localTasks.removeAll(keepingCapacity: true)
            for task in tasks { task() }
        }
        let (tasks, stop) = self.queueLock.withLock {
            let tasks = self.remoteTasks
            self.remoteTasks = []
            self.wakeupPending = false
            return (tasks, self.stopRequested)
        }
        for task in tasks { task() }
        return stop
    }

    // MARK: Timers

    /// Runs `body` on the loop after `delay`. Loop thread only; the returned timer can be cancelled.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ body: @escaping () -> Void) -> ScheduledTimer {
        self.assertInEventLoop()
        let timer = ScheduledTimer(loop: self, deadline: Self.deadline(after: delay), callback: body)
        self.timers.insert(timer)
        return timer
    }

    /// Moves an existing timer to a new deadline (cheaper than cancel + schedule). Loop thread only.
    public func reschedule(_ timer: ScheduledTimer, after delay: Duration, _ body: @escaping () -> Void) {
        self.assertInEventLoop()
        self.timers.remove(timer)
        timer.deadline = Self.deadline(after: delay)
        timer.callback = body
        self.timers.insert(timer)
    }

    /// The number of timers waiting to fire.
    public var scheduledTimerCount: Int { self.timers.count }

    static func deadline(after delay: Duration) -> UInt64 {
        let (seconds, attoseconds) = delay.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds / 1_000_000_000)
        return Posix.monotonicNanoseconds() &+ UInt64(nanoseconds)
    }

    private func runExpiredTimers() {
        guard !self.timers.isEmpty else { return }
        let now = Posix.monotonicNanoseconds()
        // Only timers already due at `now` fire, so a timer that re-arms itself for 0 s cannot spin forever.
        while let timer = self.timers.popExpired(now: now) {
            let callback = timer.callback
            timer.callback = nil
            callback?()
        }
    }

    private func nextTimeout() -> Int32 {
        if !self.localTasks.isEmpty { return 0 }
        guard let deadline = self.timers.earliestDeadline else { return -1 }
        let now = Posix.monotonicNanoseconds()
        if deadline <= now { return 0 }
        // Round up so we never wake before the deadline and spin.
        let milliseconds = (deadline - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, UInt64(Int32.max)))
    }

    // MARK: Registrations

    func register(_ object: any Selectable, fd: Int32, interest: Interest) throws(IOError) -> UInt64 {
        self.assertInEventLoop()
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.registrations[slot].object = object
        } else {
            slot = self.registrations.count
            self.registrations.append(Registration(object: object, generation: 0))
        }
        let token = UInt64(slot) | (UInt64(self.registrations[slot].generation) << 32)
        do {
            try self.selector.add(fd: fd, interest: interest, token: token)
        } catch {
            self.release(token: token)
            throw error
        }
        return token
    }

    func deregister(fd: Int32, token: UInt64) {
        self.selector.remove(fd: fd)
        self.release(token: token)
    }

    private func release(token: UInt64) {
        let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
        self.registrations[slot].object = nil
        self.registrations[slot].generation &+= 1
        self.freeSlots.append(slot)
    }

    /// Every object registered on this loop of the given type. Loop thread only.
    func registered<T>(_ type: T.Type) -> [T] {
        self.registrations.compactMap { $0.object as? T }
    }

    func connectionOpened() { self.connectionCount += 1 }
    func connectionClosed() { self.connectionCount -= 1 }

    // MARK: Output

    func scheduleFlush(_ connection: Connection) {
        self.pendingFlush.append(connection)
    }

    /// Releases `connection`'s emptied output storage after ``outputReleaseDelay`` (one timer for all).
    func scheduleOutputRelease(_ connection: Connection) {
        self.pendingOutputRelease.append(connection)
        guard self.outputReleaseTimer == nil else { return }
        self.outputReleaseTimer = self.scheduleTimer(after: Self.outputReleaseDelay) { [unowned self] in
            self.releaseIdleOutputs()
        }
    }

    private func releaseIdleOutputs() {
        self.outputReleaseTimer = nil
        // Taken whole: keeping the array's capacity would copy it anyway while `connections` shares it,
        // and this runs at most once per `outputReleaseDelay`.
        let connections = self.pendingOutputRelease
        self.pendingOutputRelease = []
        for connection in connections { connection.releaseIdleOutput() }
    }

    private func flushPending() {
        // A flush may close a connection, which never schedules another flush, so one pass suffices.
        var index = 0
        while index < self.pendingFlush.count {
            self.pendingFlush[index].flushNow()
            index += 1
        }
        self.pendingFlush.removeAll(keepingCapacity: true)
    }
}

/// The loop is a serial executor (actors whose executor it is run on its thread) and a task executor
/// (`withTaskExecutorPreference(loop)` runs nonisolated async code on its thread), so async work for a
/// connection can stay on that connection's loop instead of hopping to the global pool and back.
extension EventLoop: SerialExecutor, TaskExecutor {
    /// Runs a job on the loop thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        let unownedJob = UnownedJob(job)
        let serial = self.asUnownedSerialExecutor()
        let preferred = self.asUnownedTaskExecutor()
        let task: () -> Void = { unownedJob.runSynchronously(isolatedTo: serial, taskExecutor: preferred) }
        if self.inEventLoop {
            self.localTasks.append(task)
        } else {
            self.enqueueRemote(task)
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    public func checkIsolated() {
        self.assertInEventLoop()
    }
}

/// The thread entry point. A free function, not a closure in a `@MainActor` context (FACTS.md: such a
/// closure called from C on another thread dies with SIGILL).
private func eventLoopThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let box = Unmanaged<EventLoop.StartBox>.fromOpaque(argument!).takeRetainedValue()
    CLinux_setThreadName(box.loop.name)
    if let cpu = box.cpu { _ = CLinux_pinThreadToCPU(Int32(cpu)) }
    box.loop.run()
    return nil
}
