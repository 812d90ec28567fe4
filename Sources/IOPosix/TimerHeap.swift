/// A timer scheduled on an event loop. Cancel it with ``cancel()`` on the loop thread.
///
/// It knows its own position in the loop's heap, so cancelling is O(log n) and leaves nothing behind:
/// thousands of connection deadlines can be armed and disarmed per second cheaply.
public final class ScheduledTimer {
    /// Monotonic deadline in nanoseconds.
    var deadline: UInt64
    /// Index in the owning heap, or -1 when not scheduled.
    var heapIndex: Int = -1
    /// Tie-breaker so timers with the same deadline fire in scheduling order.
    var sequence: UInt64 = 0
    var callback: (() -> Void)?
    unowned let loop: EventLoop

    init(loop: EventLoop, deadline: UInt64, callback: @escaping () -> Void) {
        self.loop = loop
        self.deadline = deadline
        self.callback = callback
    }

    /// Whether the timer is still waiting to fire.
    public var isScheduled: Bool { self.heapIndex >= 0 }

    /// Cancels the timer; does nothing if it already fired or was cancelled. Loop thread only.
    public func cancel() {
        self.loop.assertInEventLoop()
        self.loop.timers.remove(self)
        self.callback = nil
    }
}

/// A binary min-heap of timers ordered by deadline, then scheduling order.
struct TimerHeap {
    private(set) var items: [ScheduledTimer] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { self.items.isEmpty }
    var earliestDeadline: UInt64? { self.items.first?.deadline }
    var count: Int { self.items.count }

    mutating func insert(_ timer: ScheduledTimer) {
        precondition(timer.heapIndex < 0, "timer already scheduled")
        timer.sequence = self.nextSequence
        self.nextSequence &+= 1
        timer.heapIndex = self.items.count
        self.items.append(timer)
        self.siftUp(self.items.count - 1)
    }

    mutating func remove(_ timer: ScheduledTimer) {
        let index = timer.heapIndex
        guard index >= 0 else { return }
        let last = self.items.count - 1
        if index != last {
            self.swapAt(index, last)
        }
        self.items.removeLast()
        timer.heapIndex = -1
        if index < self.items.count {
            self.siftDown(index)
            self.siftUp(index)
        }
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    mutating func popExpired(now: UInt64) -> ScheduledTimer? {
        guard let first = self.items.first, first.deadline <= now else { return nil }
        self.remove(first)
        return first
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = self.items[a]
        let y = self.items[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        self.items.swapAt(a, b)
        self.items[a].heapIndex = a
        self.items[b].heapIndex = b
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.less(child, parent) else { return }
            self.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = self.items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var smallest = left
            if left + 1 < count && self.less(left + 1, left) { smallest = left + 1 }
            guard self.less(smallest, parent) else { return }
            self.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
