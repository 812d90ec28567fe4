import CLinux
import Glibc

/// Wall-clock time, for timestamps that leave the process (responses, handshakes); durations use the
/// monotonic clock instead.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func millisecondsSinceEpoch() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }

    /// Whole seconds since the Unix epoch.
    public static func secondsSinceEpoch() -> Int {
        millisecondsSinceEpoch() / 1000
    }
}
