import FoundationEssentials
import Threads
#if canImport(Glibc)
import Glibc
#endif
import Log
import Postgres

/// Opening the database for a command: the pool, and waiting for the server at start-up.
enum Database {
    static func pool(_ configuration: Configuration, logger: Logger) -> ConnectionPool {
        ConnectionPool(
            configuration: .init(
                connectionString: configuration.databaseURL,
                size: configuration.poolSize,
                acquireTimeout: configuration.poolTimeout,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                statementTimeout: configuration.statementTimeout),
            logger: logger)
    }

    /// Waits until the database answers, retrying with a growing delay for at most `timeout`.
    ///
    /// A server that is still starting (or a compose dependency not yet up) is normal at boot;
    /// each retry says what it is waiting for.
    static func waitUntilReachable(_ pool: ConnectionPool, timeout: Duration, logger: Logger) throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try pool.withConnection { connection in try connection.execute("SELECT 1") }
                return
            } catch let error as PostgresError where error.isUnavailable && ContinuousClock.now.advanced(by: delay) < deadline {
                logger.warning("waiting for the database", [
                    "error": .string(error.detail), "retry_in_ms": .int(Int(delay.timeInterval * 1000)),
                ])
                DetachedThread.sleep(delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// The migrations of the configured directory.
    static func migrator(_ configuration: Configuration, logger: Logger) throws -> Migrator {
        Migrator(migrations: try Migration.load(from: configuration.migrationsDirectory),
                 lockTimeout: .milliseconds(configuration.migrationLockTimeoutMilliseconds), logger: logger)
    }

    /// The message for an error of a command, with the database's own text (this goes to the operator).
    static func describe(_ error: Error) -> String {
        switch error {
        case let error as PostgresError: "\(error.description): \(error.detail)"
        default: String(describing: error)
        }
    }
}
