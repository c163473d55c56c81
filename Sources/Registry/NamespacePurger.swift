import FoundationEssentials
import Log
import Postgres
import Threads

/// The second phase of a delete: a background thread that removes namespaces marked `deleting`.
///
/// It wakes every `interval` (200 ms by default, so a deleted namespace is gone well within the
/// contract's second) and purges in batches until none is left. Several service instances may
/// run one each against the same database: the purge statement skips rows another has locked,
/// and touches no lock that a create or a delete holds (see `NamespaceRepository+Purging`), so
/// purgers, creates and deletes never deadlock. A row that cannot be deleted stops only itself.
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
        DetachedThread.start(name: "namespace-purger") { [self] in run() }
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
    ///
    /// Batches of `batchSize` rows in one statement each; when a batch fails for a reason of its
    /// own rows (not an outage), that batch is purged row by row, so that one bad row stops only
    /// itself: it is logged with its id and the database's error, and marked `error` (see
    /// `NamespaceRepository.markPurgeFailed`), and every other row is removed. An outage or a
    /// cancelled statement ends the pass, to be retried on the next tick.
    @discardableResult
    public func purgeNow() throws -> Int {
        var total = 0
        while true {
            do {
                let purged = try repository.purgeDeleting(limit: Self.batchSize)
                total += purged
                if purged < Self.batchSize { return total }
            } catch let error as PostgresError where !Self.isTransient(error) {
                logger.warning("a purge batch failed; purging it row by row", ["error": .string(error.detail)])
                let (removed, settled, examined) = try purgeRowByRow()
                total += removed
                // Stop when the queue is drained, or when nothing could be settled (every row
                // failed and could not even be marked): the next tick tries again.
                if examined < Self.batchSize || settled == 0 { return total }
            }
        }
    }

    /// Deletes the Idempotency-Keys past their lifetime (`IdempotencyStore`), a batch at a time;
    /// returns how many. The purger's tick is the periodic job that keeps that table bounded.
    @discardableResult
    public func pruneIdempotencyKeys() throws -> Int {
        var total = 0
        while true {
            let pruned = try repository.pool.withConnection { try IdempotencyStore.prune(limit: Self.batchSize, on: $0) }
            total += pruned
            if pruned < Self.batchSize { return total }
        }
    }

    /// Rows per purge statement.
    static let batchSize = 500

    /// Purges the oldest batch one statement per row; returns the rows removed, the rows settled
    /// (removed, gone meanwhile, or marked `error`) and the rows examined.
    private func purgeRowByRow() throws -> (removed: Int, settled: Int, examined: Int) {
        let ids = try repository.deletingIDs(limit: Self.batchSize)
        var removed = 0, settled = 0
        for id in ids {
            do {
                if try repository.purgeOne(id: id) { removed += 1 }
                settled += 1
            } catch let error as PostgresError where !Self.isTransient(error) {
                logger.error("a namespace marked deleting cannot be removed; marking it error", [
                    "namespace_id": .string(id.lowercasedString), "error": .string(error.detail)])
                do {
                    _ = try repository.markPurgeFailed(id: id, message: Self.failureMessage)
                    settled += 1
                } catch let error as PostgresError where !Self.isTransient(error) {
                    logger.error("a namespace that cannot be removed cannot be marked error either", [
                        "namespace_id": .string(id.lowercasedString), "error": .string(error.detail)])
                }
            }
        }
        return (removed, settled, ids.count)
    }

    /// What the owner of a namespace that could not be removed reads in its `status_message`
    /// (the database's own text goes to the log only).
    static let failureMessage = "the namespace could not be deleted; delete it again to retry"

    /// An outage, a cancelled statement or a lock not granted: nothing wrong with the rows.
    private static func isTransient(_ error: PostgresError) -> Bool {
        error.isUnavailable || error.sqlState == "55P03"
    }

    private func run() {
        var failing = false  // log an outage once, and its end, not every tick
        while !condition.withLock({ isStopping }) {
            do {
                let purged = try purgeNow()
                if purged > 0 { logger.debug("purged deleted namespaces", ["count": .int(purged)]) }
                let pruned = try pruneIdempotencyKeys()
                if pruned > 0 { logger.debug("pruned expired idempotency keys", ["count": .int(pruned)]) }
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
