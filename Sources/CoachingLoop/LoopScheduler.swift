public import Coaching
public import IOPosix

/// One ``ConversationScheduler`` per event loop, so conversations run on their connection's loop.
public final class LoopSchedulers: Sendable {
    private let schedulers: [ObjectIdentifier: LoopScheduler]

    public init(group: EventLoopGroup) {
        self.schedulers = Dictionary(uniqueKeysWithValues: group.loops.map { (ObjectIdentifier($0), LoopScheduler(loop: $0)) })
    }

    public func scheduler(for loop: EventLoop) -> LoopScheduler { self.schedulers[ObjectIdentifier(loop)]! }
}

/// An event loop as the place conversations run and keep their timers.
public final class LoopScheduler: ConversationScheduler {
    public let loop: EventLoop
    public init(loop: EventLoop) { self.loop = loop }

    public var executor: UnownedSerialExecutor { self.loop.asUnownedSerialExecutor() }
    public var isCurrent: Bool { self.loop.inEventLoop }
    public func execute(_ body: @escaping @Sendable () -> Void) { self.loop.execute(body) }
    public func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any ScheduledWork {
        LoopTimer(timer: self.loop.scheduleTimer(after: delay, body))
    }
}

/// A loop timer a conversation can cancel.
struct LoopTimer: ScheduledWork {
    let timer: ScheduledTimer
    func cancel() { self.timer.cancel() }
}
