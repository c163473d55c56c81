import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Log
import Threads

/// Ends the process when stopping outlasts the grace period.
///
/// Stopping waits for requests in flight (up to the grace period, see `Server.shutdown`), then for
/// the purger's current batch, the read pipeline and the pool. Each of those waits is bounded by
/// the database deadlines, but their sum may not be: with PostgreSQL frozen, a purger batch started
/// just before SIGTERM holds the stop for up to `DB_STATEMENT_TIMEOUT_MS` more. An orchestrator
/// sends SIGKILL after its own grace period, so registryd keeps to the one it was given.
///
/// `@unchecked Sendable`: `finished` is guarded by `lock`.
final class ShutdownWatchdog: @unchecked Sendable {
    private let lock = ConditionLock()
    private var finished = false

    /// Starts watching: unless `finish` is called within `gracePeriod`, logs and exits, with
    /// status 1 when requests were still in flight (`inFlight`), else 0 (nothing was dropped).
    init(gracePeriod: Duration, logger: Logger, inFlight: @escaping @Sendable () -> Int) {
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        DetachedThread.start(name: "shutdown-watchdog") { [self] in
            let expired: Bool = lock.withLock {
                while !finished {
                    if !lock.wait(until: deadline) { return !finished }
                }
                return false
            }
            guard expired else { return }
            let dropped = inFlight()
            // The same line as the stop that ends the wait for requests itself: which of the two
            // sees the grace period end first is a matter of scheduling.
            if dropped > 0 {
                logger.error("requests still in flight after the grace period are dropped", ["in_flight": .int(dropped)])
            } else {
                logger.warning("stopping outlasted the grace period; exiting", ["in_flight": .int(0)])
            }
            LogSink.standardError.flush(timeout: .seconds(1))
            exit(dropped > 0 ? 1 : 0)
        }
    }

    /// Stopping finished in time: the watchdog ends without doing anything.
    func finish() {
        lock.withLock {
            finished = true
            lock.broadcast()
        }
    }
}
