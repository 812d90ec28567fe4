/// Carries a loop-confined value across threads, checking at run time that it is only *used* on its loop.
///
/// Swift cannot express "owned by this loop thread"; this wrapper makes the rule explicit and traps when
/// it is broken, instead of racing silently.
public struct LoopBound<Value>: @unchecked Sendable {
    // @unchecked Sendable: `storage` is only read through `value`, which asserts the owning loop's thread.
    private let storage: Value
    /// The loop that owns the value.
    public let loop: EventLoop

    /// Wraps `value`, owned by `loop`. May be called on any thread: creating the wrapper is not a use.
    public init(_ value: Value, loop: EventLoop) {
        self.storage = value
        self.loop = loop
    }

    /// The value; only on the owning loop's thread.
    public var value: Value {
        self.loop.assertInEventLoop()
        return self.storage
    }
}
