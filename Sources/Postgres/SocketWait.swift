import Threads
#if canImport(Glibc)
import Glibc
#endif

/// `poll(2)` on one descriptor until a monotonic deadline: the one place registryd waits for
/// PostgreSQL's socket, so that no wait outlives a deadline of ours (libpq's blocking calls wait
/// as long as the kernel keeps the socket open, forever for a frozen server on a Unix socket).
enum SocketWait {
    /// What the descriptor became ready for.
    struct Readiness {
        var readable: Bool
        var writable: Bool
    }

    /// Waits until `descriptor` is readable (or, with `writable`, writable) or `deadline` passes
    /// (nil: no deadline). Returns nil on timeout. An error or hang-up counts as readable, so that
    /// libpq reads it and reports the broken connection.
    static func wait(
        for descriptor: Int32, readable: Bool, writable: Bool, until deadline: ContinuousClock.Instant?
    ) -> Readiness? {
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        while true {
            var poller = pollfd(fd: descriptor, events: events, revents: 0)
            let timeout = deadline.map { MonotonicTime.milliseconds(until: $0) } ?? -1
            let ready = poll(&poller, 1, timeout)
            if ready > 0 {
                let failed = poller.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
                return Readiness(
                    readable: failed || poller.revents & Int16(POLLIN) != 0,
                    writable: failed || poller.revents & Int16(POLLOUT) != 0)
            }
            if ready == 0 {
                // poll rounds to whole milliseconds; go again unless the deadline really passed.
                if let deadline, ContinuousClock.now >= deadline { return nil }
                continue
            }
            if errno != EINTR { return Readiness(readable: true, writable: true) }  // let libpq find the error
        }
    }
}
