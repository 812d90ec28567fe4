import CLinux
import Glibc
import IOCore

/// An object the event loop dispatches readiness events to.
protocol Selectable: AnyObject {
    /// Called on the loop thread with the epoll event bits that fired.
    func handleEvent(_ events: UInt32)
}

/// Readiness interest, as epoll bits.
struct Interest: OptionSet, Hashable {
    let rawValue: UInt32
    static let read = Interest(rawValue: CLinux_EPOLLIN | CLinux_EPOLLRDHUP)
    static let write = Interest(rawValue: CLinux_EPOLLOUT)
}

/// The epoll back end of one event loop: the epoll instance, its wake-up eventfd, and the event array.
///
/// Thread rules: `wakeup()` may be called from any thread; everything else only on the loop thread.
final class Selector {
    /// The token that marks the eventfd's events.
    static let wakeupToken = UInt64.max

    let epollFD: Int32
    let eventFD: Int32
    let capacity: Int
    let events: UnsafeMutablePointer<epoll_event>

    init(capacity: Int = 512) throws(IOError) {
        self.capacity = capacity
        self.epollFD = Int32(try Posix.syscall("epoll_create1") { Int(epoll_create1(CLinux_EPOLL_CLOEXEC)) })
        do {
            self.eventFD = Int32(try Posix.syscall("eventfd") { Int(eventfd(0, CLinux_EFD_NONBLOCK | CLinux_EFD_CLOEXEC)) })
        } catch {
            Posix.close(self.epollFD)
            throw error
        }
        self.events = .allocate(capacity: capacity)
        try self.add(fd: self.eventFD, interest: .read, token: Selector.wakeupToken)
    }

    deinit {
        self.events.deallocate()
        Posix.close(self.eventFD)
        Posix.close(self.epollFD)
    }

    func add(fd: Int32, interest: Interest, token: UInt64) throws(IOError) {
        try self.control(EPOLL_CTL_ADD, fd: fd, interest: interest, token: token)
    }

    func modify(fd: Int32, interest: Interest, token: UInt64) throws(IOError) {
        try self.control(EPOLL_CTL_MOD, fd: fd, interest: interest, token: token)
    }

    func remove(fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(self.epollFD, EPOLL_CTL_DEL, fd, &event)
    }

    private func control(_ op: Int32, fd: Int32, interest: Interest, token: UInt64) throws(IOError) {
        var event = CLinux_epoll_event_make(interest.rawValue, token)
        _ = try Posix.syscall("epoll_ctl") { Int(epoll_ctl(self.epollFD, op, fd, &event)) }
    }

    /// Waits for events; `timeoutMilliseconds` -1 waits forever. Returns how many entries of `events` are set.
    func wait(timeoutMilliseconds: Int32) -> Int {
        let rc = epoll_wait(self.epollFD, self.events, Int32(self.capacity), timeoutMilliseconds)
        if rc < 0 {
            precondition(errno == EINTR, "epoll_wait failed: errno \(errno)")
            return 0
        }
        return Int(rc)
    }

    /// Token and event bits of the `index`th ready event.
    @inline(__always)
    func event(at index: Int) -> (token: UInt64, bits: UInt32) {
        let pointer = self.events + index
        return (CLinux_epoll_event_u64(pointer), CLinux_epoll_event_events(pointer))
    }

    /// Wakes the loop from another thread.
    func wakeup() {
        var one: UInt64 = 1
        _ = Glibc.write(self.eventFD, &one, 8)
    }

    /// Clears the eventfd counter after a wake-up.
    func drainWakeups() {
        var value: UInt64 = 0
        _ = Glibc.read(self.eventFD, &value, 8)
    }
}
