#if canImport(Glibc)
import Glibc
#endif

/// Deadlines for the C waits (`pthread_cond_timedwait`, `poll`) that never move with the wall clock.
///
/// The service's deadlines are `ContinuousClock` instants. A C wait takes either an absolute
/// `timespec` on a clock of its own (here always `CLOCK_MONOTONIC`, which NTP or an operator
/// setting the date never steps) or a relative timeout in milliseconds; both are computed here,
/// from what remains until the deadline when the wait starts.
public enum MonotonicTime {
    /// The `CLOCK_MONOTONIC` time `duration` from now, normalised (`tv_nsec` below 1e9), for
    /// waits on a condition variable created with `pthread_condattr_setclock(CLOCK_MONOTONIC)`.
    public static func timespec(after duration: Duration) -> timespec {
        var now = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = max(duration, .zero).components
        var result = now
        result.tv_sec += Int(seconds)
        result.tv_nsec += Int(attoseconds / 1_000_000_000)
        if result.tv_nsec >= 1_000_000_000 {
            result.tv_sec += 1
            result.tv_nsec -= 1_000_000_000
        }
        return result
    }

    /// What remains until `deadline` in whole milliseconds, rounded up so that a wait never ends
    /// early; 0 once it has passed. For `poll(2)`, whose timeout is relative.
    public static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
