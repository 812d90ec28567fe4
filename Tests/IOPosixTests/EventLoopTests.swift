import Foundation
import IOCore
@testable import IOPosix
import Testing

@Suite("Event loop: tasks and timers")
struct EventLoopTests {
    @Test func execute_fromManyThreads_runsEveryTaskOnTheLoop() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let count = Locked(0)
        let offLoop = Locked(0)
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<8 {
                tasks.addTask {
                    for _ in 0..<1000 {
                        loop.execute {
                            if !loop.inEventLoop { offLoop.withLock { $0 += 1 } }
                            count.withLock { $0 += 1 }
                        }
                    }
                }
            }
        }
        #expect(await eventually { count.withLock { $0 } == 8000 })
        #expect(offLoop.withLock { $0 } == 0)
    }

    @Test func timers_fireInDeadlineOrder_andCancelledOnesNeverFire() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Locked<[Int]>([])
        let (pending, deadlines) = await onLoop(loop) { () -> (Int, [UInt64]) in
            var timers: [ScheduledTimer] = []
            // 2,000 timers over 0..<200 ms in a scrambled order; cancel every odd one.
            for i in 0..<2000 {
                let timer = loop.scheduleTimer(after: .milliseconds((i * 7919) % 200)) { fired.withLock { $0.append(i) } }
                timers.append(timer)
            }
            for (i, timer) in timers.enumerated() where i % 2 == 1 { timer.cancel() }
            return (loop.scheduledTimerCount, timers.map(\.deadline))
        }
        #expect(pending == 1000)
        #expect(await eventually { fired.withLock { $0.count } == 1000 })
        try await Task.sleep(for: .milliseconds(50))
        let order = fired.withLock { $0 }
        #expect(order.count == 1000)
        #expect(order.allSatisfy { $0 % 2 == 0 })
        let firedDeadlines = order.map { deadlines[$0] }
        #expect(firedDeadlines == firedDeadlines.sorted())
        #expect(await onLoop(loop) { loop.scheduledTimerCount } == 0)
    }

    @Test func timer_rescheduled_firesOnceAtTheNewDeadline() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Locked<[String]>([])
        await onLoop(loop) {
            let timer = loop.scheduleTimer(after: .milliseconds(10)) { fired.withLock { $0.append("old") } }
            loop.reschedule(timer, after: .milliseconds(30)) { fired.withLock { $0.append("new") } }
        }
        try await Task.sleep(for: .milliseconds(120))
        #expect(fired.withLock { $0 } == ["new"])
    }

    @Test func actorOnLoopExecutor_runsOnTheLoopThread() async throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let actor = LoopActor(loop: group.loops[0])
        #expect(await actor.isOnLoop())
    }
}

actor LoopActor {
    let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { self.loop.asUnownedSerialExecutor() }
    init(loop: EventLoop) { self.loop = loop }
    func isOnLoop() -> Bool { self.loop.inEventLoop }
}

@Suite("Timer heap")
struct TimerHeapTests {
    @Test func removeFromMiddle_keepsHeapOrder() throws {
        let loop = try EventLoop(name: "heap-test")
        var heap = TimerHeap()
        var timers: [ScheduledTimer] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let timer = ScheduledTimer(loop: loop, deadline: UInt64.random(in: 0..<10_000, using: &generator)) {}
            heap.insert(timer)
            timers.append(timer)
        }
        for timer in timers.shuffled().prefix(250) { heap.remove(timer) }
        var last: UInt64 = 0
        var popped = 0
        while let timer = heap.popExpired(now: .max) {
            #expect(timer.deadline >= last)
            last = timer.deadline
            popped += 1
        }
        #expect(popped == 250)
    }
}
