import Foundation
import Log
import Postgres
import Threads

/// The second phase of a delete: a background thread that removes namespaces marked `deleting`.
///
/// It wakes every `interval` (200 ms by default, so a deleted namespace is gone well within the
/// contract's second) and purges in batches until none is left. Several service instances may
/// run one each against the same database: the purge statement skips rows another has locked.
public final class NamespacePurger: @unchecked Sendable {
    private let repository: NamespaceRepository
    private let interval: Duration
    private let logger: Logger
    /// Guards `isStopping` and `isRunning`; its timed wait is on the monotonic clock, so a step
    /// of the wall clock neither stalls purging nor makes it spin.
    private let condition = ConditionLock()
    private var isStopping = false
    private var isRunning = false

    /// `@unchecked Sendable`: `isStopping` and `isRunning` are guarded by `condition`.
    public init(repository: NamespaceRepository, interval: Duration = .milliseconds(200), logger: Logger) {
        self.repository = repository
        self.interval = interval
        self.logger = logger
    }

    /// Starts the background thread.
    public func start() {
        condition.withLock { isRunning = true }
        let thread = Thread { [self] in run() }
        thread.name = "namespace-purger"
        thread.start()
    }

    /// Stops the thread and waits for it to finish its current batch.
    public func stop() {
        condition.withLock {
            isStopping = true
            condition.broadcast()
            while isRunning { condition.wait() }
        }
    }

    /// Purges everything marked `deleting` now; returns how many namespaces were removed.
    @discardableResult
    public func purgeNow() throws -> Int {
        var total = 0
        while true {
            let purged = try repository.purgeDeleting(limit: 500)
            total += purged
            if purged < 500 { return total }
        }
    }

    private func run() {
        var failing = false  // log an outage once, and its end, not every tick
        while !condition.withLock({ isStopping }) {
            do {
                let purged = try purgeNow()
                if purged > 0 { logger.debug("purged deleted namespaces", ["count": .int(purged)]) }
                if failing { logger.info("purging deleted namespaces works again") }
                failing = false
            } catch {
                if !failing {
                    logger.warning("purging deleted namespaces failed; retrying quietly", ["error": .string(Self.describe(error))])
                }
                failing = true
            }
            let next = ContinuousClock.now.advanced(by: interval)
            condition.withLock {
                while !isStopping && condition.wait(until: next) {}
            }
        }
        condition.withLock {
            isRunning = false
            condition.broadcast()
        }
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return error.detail }
        return String(describing: error)
    }
}
