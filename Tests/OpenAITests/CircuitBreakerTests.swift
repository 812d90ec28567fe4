import IOPosix
@testable import OpenAI
import Testing

@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    typealias Machine = CircuitBreaker.StateMachine

    @Test func opensAfterNConsecutiveFailures_andRejectsUntilTheCoolDownEnds() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 3, coolDown: .seconds(10)))
        for second in 0..<3 {
            #expect(machine.acquire(now: .seconds(second)) == .allowed)
            machine.record(.failure, permission: .allowed, now: .seconds(second))
        }
        #expect(machine.state == .open(until: .seconds(12)))
        #expect(machine.isOpen(now: .seconds(5)))
        #expect(machine.acquire(now: .seconds(11)) == .rejected)
        #expect(!machine.isOpen(now: .seconds(12)))
    }

    @Test func aSuccess_resetsTheFailureCount() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(1)))
        machine.record(.failure, permission: .allowed, now: .zero)
        machine.record(.success, permission: .allowed, now: .zero)
        machine.record(.failure, permission: .allowed, now: .zero)
        #expect(machine.state == .closed(failures: 1))
    }

    @Test func afterTheCoolDown_exactlyOneProbeIsLetThrough() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 1, coolDown: .seconds(5)))
        machine.record(.failure, permission: .allowed, now: .zero)
        #expect(machine.acquire(now: .seconds(5)) == .probe)
        #expect(machine.acquire(now: .seconds(5)) == .rejected)
        #expect(machine.isOpen(now: .seconds(6)))
    }

    @Test func successfulProbe_closesTheBreaker() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 1, coolDown: .seconds(5)))
        machine.record(.failure, permission: .allowed, now: .zero)
        let permission = machine.acquire(now: .seconds(6))
        machine.record(.success, permission: permission, now: .seconds(6))
        #expect(machine.state == .closed(failures: 0))
        #expect(machine.acquire(now: .seconds(6)) == .allowed)
    }

    @Test func failedProbe_reopensForAFreshCoolDown() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 1, coolDown: .seconds(5)))
        machine.record(.failure, permission: .allowed, now: .zero)
        let permission = machine.acquire(now: .seconds(7))
        machine.record(.failure, permission: permission, now: .seconds(8))
        #expect(machine.state == .open(until: .seconds(13)))
        #expect(machine.acquire(now: .seconds(12)) == .rejected)
        #expect(machine.acquire(now: .seconds(13)) == .probe)
    }

    @Test func cancelledProbe_givesTheProbeSlotBack() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 1, coolDown: .seconds(5)))
        machine.record(.failure, permission: .allowed, now: .zero)
        let permission = machine.acquire(now: .seconds(5))
        machine.record(.neutral, permission: permission, now: .seconds(5))
        #expect(machine.state == .halfOpen(probing: false))
        #expect(machine.acquire(now: .seconds(5)) == .probe)
    }

    @Test func lateOutcomesOfRequestsAdmittedBeforeOpening_changeNothing() {
        var machine = Machine(policy: CircuitBreakerPolicy(failureThreshold: 1, coolDown: .seconds(5)))
        machine.record(.failure, permission: .allowed, now: .zero)
        machine.record(.success, permission: .allowed, now: .seconds(1))
        #expect(machine.state == .open(until: .seconds(5)))
    }

    @Test func disabledBreaker_neverOpens() {
        var machine = Machine(policy: .disabled)
        for _ in 0..<100 { machine.record(.failure, permission: machine.acquire(now: .zero), now: .zero) }
        #expect(machine.acquire(now: .zero) == .allowed)
        #expect(!machine.isOpen(now: .zero))
    }

    @Test func lockedBreaker_readsTimeFromTheInjectedClock() {
        let time = Locked(Duration.zero)
        let breaker = CircuitBreaker(policy: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(30))) {
            time.withLock { $0 }
        }
        breaker.record(.failure, permission: breaker.acquire())
        #expect(!breaker.isOpen)
        breaker.record(.failure, permission: breaker.acquire())
        #expect(breaker.isOpen)
        time.withLock { $0 = .seconds(31) }
        #expect(!breaker.isOpen)
        let probe = breaker.acquire()
        #expect(probe == .probe)
        #expect(breaker.isOpen)  // while the probe is in flight, others are refused
        breaker.record(.success, permission: probe)
        #expect(breaker.state == .closed(failures: 0))
    }
}
