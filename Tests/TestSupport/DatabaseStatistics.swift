import Foundation
import Postgres

/// What PostgreSQL itself counted in a test database: the deadlocks it detected and broke.
public enum DatabaseStatistics {
    /// `pg_stat_database.deadlocks` of the database of `url`, as flushed so far.
    ///
    /// A backend reports its counters when it goes idle (at most once a second) or exits; read
    /// with `settledDeadlocks` after a workload to see every deadlock it caused.
    public static func deadlocks(url: String) throws -> Int64 {
        let connection = try Connection(connectionString: url)
        return try connection.query(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[0].int64(0)
    }

    /// Ends every other session on the database of `url`, so that each flushes its statistics as
    /// it exits, then returns `pg_stat_database.deadlocks`. Call it once the workload is over.
    public static func settledDeadlocks(url: String) throws -> Int64 {
        let connection = try Connection(connectionString: url)
        let others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        _ = try connection.query("SELECT pg_terminate_backend(pid) \(others)")
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while try connection.query("SELECT count(*) \(others)")[0].int64(0) > 0 {
            guard ContinuousClock.now < deadline else { throw TestFailure("other sessions did not end") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        // An exiting backend leaves pg_stat_activity just before it flushes its counters: read
        // for another second, so that a late flush is not missed.
        var deadlocks: Int64 = 0
        let settled = ContinuousClock.now.advanced(by: .seconds(1))
        repeat {
            _ = try connection.query("SELECT pg_stat_clear_snapshot()")
            let read = try connection.query(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[0].int64(0)
            deadlocks = max(deadlocks, read)
            Thread.sleep(forTimeInterval: 0.05)
        } while ContinuousClock.now < settled
        return deadlocks
    }
}
