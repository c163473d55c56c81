#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex and a condition variable that waits on it: the one lock the service's own
/// threads (request handlers, the database pool and pipeline, their queues) synchronise with.
///
/// Not `Synchronization.Mutex`: on Linux it is built on priority-inheritance futexes, and with one
/// thread per connection its slow path (a kernel rt_mutex) took 18% of all CPU time in the GET
/// benchmark. A plain pthread mutex stays in user space when uncontended.
///
/// `@unchecked Sendable`: the pthread objects are made for sharing between threads; they are
/// allocated once, never moved, and destroyed with the lock.
public final class ConditionLock: @unchecked Sendable {
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Creates the lock. `adaptive` spins briefly before sleeping, which pays when every critical
    /// section is a few dozen instructions and contention is high (the connection pool).
    public init(adaptive: Bool = false) {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        if adaptive { pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP)) }
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        // Timed waits measure on the monotonic clock: a step of the wall clock must not stretch them.
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &conditionAttributes)
        pthread_condattr_destroy(&conditionAttributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    @inlinable
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Releases the lock until signalled, then takes it again; call only inside `withLock`, in a
    /// loop that checks what it waits for (a wake-up may be spurious).
    public func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Like `wait()`, but returns false, with the lock held again, once `deadline` has passed.
    ///
    /// Measured on `CLOCK_MONOTONIC` (see `MonotonicTime`), so setting the system's date neither
    /// shortens nor stretches the wait.
    @discardableResult
    public func wait(until deadline: ContinuousClock.Instant) -> Bool {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return false }
        var time = MonotonicTime.timespec(after: remaining)
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }

    /// Wakes one waiting thread; call inside `withLock`.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiting thread; call inside `withLock`.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
