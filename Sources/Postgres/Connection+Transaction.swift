extension Connection {
    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    ///
    /// Errors keep their origin: a failed `BEGIN` or `COMMIT` is thrown as such, and the body's
    /// error is thrown as the body threw it. A failed `ROLLBACK` never hides it either, but is not
    /// lost: the connection is given up (`brokenReason` says why, the pool logs it and discards the
    /// connection, whose transaction state is unknown). When the body failed only because a
    /// prepared statement went stale (another instance changed the schema, see `query`), the
    /// transaction is rolled back and the body run once more.
    @discardableResult
    public func withTransaction<T>(
        isolation: IsolationLevel? = nil,
        _ body: (Connection) throws -> T
    ) throws -> T {
        var attempts = 0
        while true {
            attempts += 1
            try execute(isolation.map { "BEGIN ISOLATION LEVEL \($0.rawValue)" } ?? "BEGIN")
            let value: T
            do {
                value = try body(self)
            } catch {
                do throws(PostgresError) {
                    try execute("ROLLBACK")
                } catch let rollbackError {
                    giveUp(because: "ROLLBACK failed: \(rollbackError.detail)")
                    throw error
                }
                if attempts == 1, let error = error as? PostgresError, error.isStalePreparedStatement { continue }
                throw error
            }
            try execute("COMMIT")
            return value
        }
    }

    /// A transaction isolation level, for `withTransaction(isolation:)`.
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }
}
