import FoundationEssentials
import Threads
import Log

/// Applies `Migration`s to a database and reports which are applied.
///
/// Pending migrations apply under a session-level advisory lock, so instances starting together
/// serialize: the first applies, the others wait on the lock and then find nothing to do. Pending
/// migrations in a row apply in one READ COMMITTED transaction; a file marked
/// `-- registryd: no-transaction` (for `CREATE INDEX CONCURRENTLY`) runs alone, outside one. Each applied migration is recorded
/// with its checksum in `registryd_schema_migrations`.
///
/// One rule decides whether a database can be migrated: its applied migrations must be exactly
/// the first ones of this build, unchanged. Anything else stops start-up (and `migrate`) with an
/// error naming the versions: an applied version this build does not know (a newer or another
/// branch's registryd applied it), an applied file edited since, or a migration of this build
/// older than the newest applied one that is not applied (it would run out of order).
public struct Migrator: Sendable {
    /// Where what has been applied is recorded.
    public static let bookkeepingTable = "registryd_schema_migrations"
    /// The advisory lock key ("registry" in ASCII), shared by every registryd version.
    static let advisoryLockKey: Int64 = 0x7265_6769_7374_7279

    /// The migrations this build knows, in version order.
    public let migrations: [Migration]
    /// The longest a migration statement waits for a lock before it rolls back and is tried again
    /// (`MIGRATION_LOCK_TIMEOUT_MS`): requests queued behind its lock request wait no longer.
    public let lockTimeout: Duration
    private let logger: Logger

    /// Creates a migrator for `migrations` (sorted here by version).
    public init(migrations: [Migration], lockTimeout: Duration = .seconds(1), logger: Logger) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.lockTimeout = lockTimeout
        self.logger = logger
    }

    /// One migration's state in a database.
    public struct Status: Sendable, Equatable {
        /// Applied; pending; applied from a file that has since changed; applied but unknown here;
        /// or not applied though a newer one is (`outOfOrder`: it will never be applied).
        public enum State: String, Sendable { case applied, pending, changed, unknown, outOfOrder = "out-of-order" }
        public let version: Int
        public let name: String
        public let state: State
        /// When it was applied (microseconds since the Unix epoch), if it was.
        public let appliedAt: Int64?
    }

    // MARK: - Applying

    /// Applies every pending migration and returns them; returns `[]` when the schema is current.
    ///
    /// Throws before applying anything when the database breaks the rule above. Migrations never
    /// queue in front of live traffic for long: each waits at most `lockTimeout` for a table lock
    /// (PostgreSQL's `lock_timeout`; the statements behind it in the lock queue wait no longer),
    /// then rolls back and is tried again after a growing pause (100 ms, doubling, at most 5 s)
    /// until `timeout` has passed. A migration that PostgreSQL chose as the victim of a deadlock
    /// rolls back entirely and is tried again, up to three times.
    ///
    /// Migrations may run long and wait for another instance's advisory lock, so the statement
    /// timeout is lifted while they run; each wait for the server is still bounded by `timeout` on
    /// registryd's side, after which the connection is given up (the server then releases the
    /// lock and rolls back) and `timedOut` is thrown.
    @discardableResult
    public func migrate(on pool: ConnectionPool, timeout: Duration = .seconds(60)) throws -> [Migration] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var deadlocks = 1
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try migrateOnce(on: pool, timeout: timeout)
            } catch let error as MigrationError where error.underlying?.sqlState == "40P01" && deadlocks < 3 {
                logger.warning("migration chosen as a deadlock victim; trying again", ["attempt": .int(deadlocks)])
                deadlocks += 1
            } catch let error as MigrationError
                        where error.underlying?.sqlState == "55P03" && ContinuousClock.now.advanced(by: pause) < deadline {
                logger.warning("migration did not get its locks within lock_timeout; trying again", [
                    "error": .string(error.description), "retry_in_ms": .int(Int(pause / .milliseconds(1))),
                ])
                DetachedThread.sleep(pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// The migrations `migrate` would apply now, in order, without applying anything
    /// (`registryd migrate --dry-run`); throws when the database cannot be migrated by this build.
    public func pending(on pool: ConnectionPool) throws -> [Migration] {
        let statuses = try status(on: pool)
        if let refusal = Self.refusal(statuses) { throw refusal }
        let versions = Set(statuses.filter { $0.state == .pending }.map(\.version))
        return migrations.filter { versions.contains($0.version) }
    }

    /// One attempt, under the advisory lock held for the session: pending transactional
    /// migrations in a row apply in one transaction, each non-transactional one on its own.
    private func migrateOnce(on pool: ConnectionPool, timeout: Duration) throws -> [Migration] {
        try pool.withConnection { connection in
            let usual = connection.responseTimeout
            connection.responseTimeout = timeout
            defer { connection.responseTimeout = usual }
            try connection.withTransaction(isolation: .readCommitted) { connection in
                try connection.execute("SET LOCAL statement_timeout = 0")
                // Session-level: it outlives this transaction, and so covers the ones below.
                try connection.query("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
            }
            defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey]) }
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS \(Self.bookkeepingTable) (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let statuses = statuses(applied: try readApplied(connection))
            if let refusal = Self.refusal(statuses) { throw refusal }
            let pendingVersions = Set(statuses.filter { $0.state == .pending }.map(\.version))
            let pending = migrations.filter { pendingVersions.contains($0.version) }
            var group: [Migration] = []
            for migration in pending {
                if migration.isTransactional {
                    group.append(migration)
                    continue
                }
                try applyInTransaction(group, on: connection)
                group = []
                try applyWithoutTransaction(migration, on: connection)
            }
            try applyInTransaction(group, on: connection)
            return pending
        }
    }

    private var lockTimeoutMilliseconds: Int { max(1, Int(lockTimeout / .milliseconds(1))) }

    private func applyInTransaction(_ migrations: [Migration], on connection: Connection) throws {
        guard !migrations.isEmpty else { return }
        try connection.withTransaction(isolation: .readCommitted) { connection in
            try connection.execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = \(lockTimeoutMilliseconds)")
            for migration in migrations {
                try run(migration.sql, of: migration, on: connection)
                try record(migration, on: connection)
            }
        }
        for migration in migrations {
            logger.info("migration applied", ["version": .int(migration.version), "name": .string(migration.name)])
        }
    }

    /// Runs the statements of `migration` one by one, outside a transaction, with the session's
    /// timeouts set for it and restored after.
    private func applyWithoutTransaction(_ migration: Migration, on connection: Connection) throws {
        let statementTimeout = try connection.query("SELECT current_setting('statement_timeout')")[0].string(0)
        try connection.execute("SET statement_timeout = 0; SET lock_timeout = \(lockTimeoutMilliseconds)")
        defer { _ = try? connection.execute("SET statement_timeout = '\(statementTimeout)'; SET lock_timeout = 0") }
        for statement in migration.statements {
            try run(statement, of: migration, on: connection)
        }
        try record(migration, on: connection)
        logger.info("migration applied", [
            "version": .int(migration.version), "name": .string(migration.name), "transaction": .string("none"),
        ])
    }

    private func run(_ sql: String, of migration: Migration, on connection: Connection) throws {
        do throws(PostgresError) {
            try connection.execute(sql)
        } catch {
            throw MigrationError.failed(version: migration.version, name: migration.name, error)
        }
    }

    private func record(_ migration: Migration, on connection: Connection) throws {
        try connection.query(
            "INSERT INTO \(Self.bookkeepingTable) (version, name, checksum) VALUES ($1, $2, $3)",
            [migration.version, migration.name, migration.checksum])
    }

    /// The state of every migration known here or recorded in the database, by version.
    public func status(on pool: ConnectionPool) throws -> [Status] {
        try pool.withConnection { try status(on: $0) }
    }

    /// The state of every migration, read on `connection`.
    public func status(on connection: Connection) throws -> [Status] {
        let exists = try connection.query("SELECT to_regclass($1) IS NOT NULL", [Self.bookkeepingTable])
        return statuses(applied: try exists[0].bool(0) ? readApplied(connection) : [:])
    }

    /// Why the database in `statuses` cannot be migrated by this build, or nil when it can.
    public static func refusal(_ statuses: [Status]) -> MigrationError? {
        let unknown = statuses.filter { $0.state == .unknown }
        if !unknown.isEmpty {
            let known = statuses.filter { $0.state != .unknown }.map(\.version).max() ?? 0
            return .databaseNewer(versions: unknown.map(\.version), known: known)
        }
        if let changed = statuses.first(where: { $0.state == .changed }) {
            return .checksumMismatch(version: changed.version, name: changed.name)
        }
        let outOfOrder = statuses.filter { $0.state == .outOfOrder }
        if !outOfOrder.isEmpty {
            let newest = statuses.filter { $0.appliedAt != nil }.map(\.version).max() ?? 0
            return .outOfOrder(versions: outOfOrder.map { "\($0.version) (\($0.name))" }, newestApplied: newest)
        }
        return nil
    }

    private func statuses(applied: [Int: AppliedMigration]) -> [Status] {
        let newestApplied = applied.keys.max() ?? 0
        var statuses = migrations.map { migration in
            guard let record = applied[migration.version] else {
                let state: Status.State = migration.version < newestApplied ? .outOfOrder : .pending
                return Status(version: migration.version, name: migration.name, state: state, appliedAt: nil)
            }
            let state: Status.State = record.checksum == migration.checksum ? .applied : .changed
            return Status(version: migration.version, name: migration.name, state: state, appliedAt: record.appliedAt)
        }
        let known = Set(migrations.map(\.version))
        for record in applied.values where !known.contains(record.version) {
            statuses.append(Status(version: record.version, name: record.name, state: .unknown, appliedAt: record.appliedAt))
        }
        return statuses.sorted { $0.version < $1.version }
    }

    /// Whether every migration known here is applied, unchanged, and the database has no other.
    public func isCurrent(on pool: ConnectionPool) throws -> Bool {
        try status(on: pool).allSatisfy { $0.state == .applied }
    }

    /// Whether the schema is current, read on `connection`.
    public func isCurrent(on connection: Connection) throws -> Bool {
        try status(on: connection).allSatisfy { $0.state == .applied }
    }

    // MARK: - Private

    private struct AppliedMigration {
        let version: Int
        let name: String
        let checksum: String
        let appliedAt: Int64
    }

    private func readApplied(_ connection: Connection) throws -> [Int: AppliedMigration] {
        let result = try connection.query(
            "SELECT version, name, checksum, applied_at FROM \(Self.bookkeepingTable) ORDER BY version")
        var applied: [Int: AppliedMigration] = [:]
        for row in result.rows {
            let version = Int(try row.int64(0))
            applied[version] = AppliedMigration(
                version: version, name: try row.string(1), checksum: try row.string(2), appliedAt: try row.timestamp(3))
        }
        return applied
    }
}
