/// The instant by which a request must have its database connection, when something before the
/// pool already made it wait.
///
/// A request may wait twice before its statement runs: for its organization's turn (the
/// admission, in the Registry layer) and for a pool connection. Each wait is bounded by
/// `DB_POOL_TIMEOUT_MS`, but the request as a whole must be too: the admission sets this
/// task-local to the instant its own wait began plus the timeout, and `ConnectionPool.run` waits
/// no later than it. So a request waits at most `DB_POOL_TIMEOUT_MS` in all before its statement,
/// and at most `DB_STATEMENT_TIMEOUT_MS` more for the statement.
public enum DatabaseDeadline {
    /// The deadline of the request running in this task, if one was set.
    @TaskLocal public static var current: ContinuousClock.Instant?

    /// The earlier of `deadline` and the task's own deadline.
    public static func bounding(_ deadline: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let current else { return deadline }
        return min(deadline, current)
    }
}
