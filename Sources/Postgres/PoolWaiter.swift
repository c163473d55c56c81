import Threads

/// One caller waiting for a connection, woken by a lock and condition of its own.
///
/// The releasing thread hands its connection (or the right to open one) straight to the oldest
/// waiter and wakes that waiter alone: exactly one wake-up per hand-off, and no other thread can
/// take the connection in between. (With one condition variable for all waiters, 64 request
/// threads sharing 8 connections spent most of their time in futex calls: each release woke a
/// waiter that then fought the other threads for the pool's lock.)
///
/// The timed wait runs on the monotonic clock (`ConditionLock.wait(until:)`): `sem_timedwait`,
/// used before, measures on the wall clock, so a clock step stretched or cut the pool timeout
/// (and glibc's `sem_clockwait` is not visible to Swift).
///
/// `@unchecked Sendable`: `grant` is written by the releasing thread under the pool's lock
/// before `post`, and read by the waiter after `wait` returns; `posted` is guarded by `lock`.
final class PoolWaiter: @unchecked Sendable {
    /// What a waiter is woken with.
    enum Grant {
        /// A connection, ready to use.
        case connection(Connection)
        /// A free slot: open a new connection (the previous one was discarded).
        case openNew
        /// The pool was closed.
        case closed
    }

    var grant: Grant?
    private let lock = ConditionLock()
    private var posted = false

    /// Wakes the waiter; call after setting `grant`.
    func post() {
        lock.withLock {
            posted = true
            lock.signal()
        }
    }

    /// Waits until posted or until `deadline`; returns false on timeout.
    func wait(until deadline: ContinuousClock.Instant) -> Bool {
        lock.withLock {
            while !posted {
                if !lock.wait(until: deadline) { return posted }
            }
            return true
        }
    }

    /// Waits for a post that is known to be coming.
    func waitForPost() {
        lock.withLock {
            while !posted { lock.wait() }
        }
    }
}
