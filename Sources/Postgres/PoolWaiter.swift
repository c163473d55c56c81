import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One caller waiting for a connection, woken by a semaphore of its own.
///
/// The releasing thread hands its connection (or the right to open one) straight to the oldest
/// waiter and posts that waiter's semaphore: exactly one wake-up per hand-off, and no other
/// thread can take the connection in between. (With one condition variable for all waiters,
/// 64 request threads sharing 8 connections spent most of their time in futex calls: each
/// release woke a waiter that then fought the other threads for the pool's lock.)
///
/// `@unchecked Sendable`: `grant` is written by the releasing thread under the pool's lock
/// before `post`, and read by the waiter after `wait` returns, which orders the two.
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
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() {
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Wakes the waiter; call after setting `grant`.
    func post() {
        sem_post(semaphore)
    }

    /// Waits until posted or until `deadline` (wall clock); returns false on timeout.
    func wait(until deadline: Date) -> Bool {
        let seconds = deadline.timeIntervalSince1970
        var time = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1_000_000_000))
        while true {
            if sem_timedwait(semaphore, &time) == 0 { return true }
            if errno == ETIMEDOUT { return false }  // EINTR: wait again
        }
    }

    /// Waits for a post that is known to be coming.
    func waitForPost() {
        while sem_wait(semaphore) != 0 {}
    }
}
