/// A fixed set of event loops, one thread each; new connections are spread across them.
public final class EventLoopGroup: Sendable {
    /// The loops, in index order.
    public let loops: [EventLoop]
    private let nextIndex = Locked(0)

    /// Starts `loopCount` loops (default: one per CPU), optionally pinning loop *i* to CPU *i*.
    public init(loopCount: Int = ProcessSetup.availableCPUCount, pinToCPUs: Bool = false) throws {
        precondition(loopCount > 0, "an event loop group needs at least one loop")
        var loops: [EventLoop] = []
        for index in 0..<loopCount {
            let loop = try EventLoop(name: "loop-\(index)", index: index)
            loop.start(pinnedToCPU: pinToCPUs ? index % ProcessSetup.availableCPUCount : nil)
            loops.append(loop)
        }
        self.loops = loops
    }

    /// The next loop in round-robin order.
    public func next() -> EventLoop {
        let index = self.nextIndex.withLock { value in
            defer { value = (value + 1) % self.loops.count }
            return value
        }
        return self.loops[index]
    }

    /// The loop the caller runs on, if it is one of ours.
    public var currentLoop: EventLoop? { self.loops.first { $0.inEventLoop } }

    /// Stops every loop and waits for their threads. Close servers and connections first.
    public func shutdown() {
        for loop in self.loops { loop.stop() }
        for loop in self.loops { loop.join() }
    }
}
