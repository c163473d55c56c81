import Foundation
import Log
import Postgres
import Testing
import TestSupport

@Suite struct MigratorTests {
    let database: TestDatabase
    let logger = Logger(label: "test", level: .error)

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    private func migrations() throws -> [Migration] {
        try Migration.load(from: TestPostgres.migrationsDirectory)
    }

    @Test func repositoryMigrationsAreNumberedAndLoad() throws {
        let loaded = try migrations()
        #expect(!loaded.isEmpty)
        #expect(loaded.map(\.version) == Array(1...loaded.count))
    }

    @Test func appliesOnceAndRecordsChecksums() throws {
        let migrator = Migrator(migrations: try migrations(), logger: logger)
        #expect(try migrator.migrate(on: database.pool).count == migrator.migrations.count)
        #expect(try migrator.migrate(on: database.pool).isEmpty)
        let statuses = try migrator.status(on: database.pool)
        #expect(statuses.allSatisfy { $0.state == .applied && $0.appliedAt != nil })
        #expect(try migrator.isCurrent(on: database.pool))
    }

    @Test func statusOfAnEmptyDatabaseIsAllPending() throws {
        let migrator = Migrator(migrations: try migrations(), logger: logger)
        #expect(try migrator.status(on: database.pool).allSatisfy { $0.state == .pending })
    }

    @Test func editedAppliedMigrationStopsStartUp() throws {
        let original = [Migration(version: 1, name: "first", sql: "CREATE TABLE first (id int)")]
        try Migrator(migrations: original, logger: logger).migrate(on: database.pool)
        let edited = [Migration(version: 1, name: "first", sql: "CREATE TABLE first (id bigint)")]
        do {
            try Migrator(migrations: edited, logger: logger).migrate(on: database.pool)
            Issue.record("an edited migration was accepted")
        } catch let error as MigrationError {
            #expect(error.isChecksumMismatch)
            #expect(error.description.contains("edited after it was applied"))
        }
        #expect(try Migrator(migrations: edited, logger: logger).status(on: database.pool).first?.state == .changed)
    }

    @Test func databaseNewerThanTheCodeStopsStartUp() throws {
        let newer = [Migration(version: 1, name: "first", sql: "SELECT 1"), Migration(version: 2, name: "second", sql: "SELECT 2")]
        try Migrator(migrations: newer, logger: logger).migrate(on: database.pool)
        do {
            try Migrator(migrations: Array(newer.prefix(1)), logger: logger).migrate(on: database.pool)
            Issue.record("an older build migrated a newer database")
        } catch let error as MigrationError {
            #expect(error.isDatabaseNewer)
            #expect(error.description.contains("run a newer registryd"))
        }
    }

    @Test func anAppliedVersionThisBuildDoesNotKnowStopsStartUpEvenBelowItsNewest() throws {
        // A database migrated by another branch's build: 1, 2 and 3 applied; this build has 1 and 3.
        let other = (1...3).map { Migration(version: $0, name: "m\($0)", sql: "SELECT \($0)") }
        try Migrator(migrations: other, logger: logger).migrate(on: database.pool)
        let ours = Migrator(migrations: [other[0], other[2]], logger: logger)
        do {
            try ours.migrate(on: database.pool)
            Issue.record("a database with an unknown migration was accepted")
        } catch let error as MigrationError {
            #expect(error.isDatabaseNewer)
            #expect(error.description.contains("migration 2 applied"))
            #expect(error.description.contains("run a newer registryd"))
        }
        let statuses = try ours.status(on: database.pool)
        #expect(statuses.map(\.state) == [.applied, .unknown, .applied])
        #expect(Migrator.refusal(statuses)?.isDatabaseNewer == true)
    }

    @Test func anOlderMigrationAddedAfterANewerOneWasAppliedIsRefused() throws {
        let first = Migration(version: 1, name: "first", sql: "CREATE TABLE first (id int)")
        let third = Migration(version: 3, name: "third", sql: "CREATE TABLE third (id int)")
        try Migrator(migrations: [first, third], logger: logger).migrate(on: database.pool)
        // A branch adds 2 after 3 was applied: applying it now would run it after 3.
        let second = Migration(version: 2, name: "second", sql: "CREATE TABLE second (id int)")
        let migrator = Migrator(migrations: [first, second, third], logger: logger)
        do {
            try migrator.migrate(on: database.pool)
            Issue.record("a migration was applied out of order")
        } catch let error as MigrationError {
            #expect(error.isOutOfOrder)
            #expect(error.description.contains("migration 2 (second) is not applied but the newer migration 3 is"))
        }
        let exists: Bool = try database.pool.withConnection { try $0.query("SELECT to_regclass('second') IS NOT NULL")[0].bool(0) }
        #expect(!exists)
        let statuses = try migrator.status(on: database.pool)
        #expect(statuses.map(\.state) == [.applied, .outOfOrder, .applied])
        #expect(try !migrator.isCurrent(on: database.pool))
        // A new migration after the newest applied one is simply pending.
        let fourth = Migration(version: 4, name: "fourth", sql: "SELECT 4")
        #expect(try Migrator(migrations: [first, third, fourth], logger: logger).migrate(on: database.pool) == [fourth])
    }

    @Test func aMigrationChosenAsADeadlockVictimIsTriedAgain() async throws {
        try database.pool.withConnection { try $0.execute("CREATE TABLE first_locked (id int); CREATE TABLE then_locked (id int)") }
        // Another session holds then_locked and, once the migration holds first_locked and waits
        // for then_locked, asks for first_locked: a cycle. The migration checks for deadlocks
        // after 3 s of waiting, the other session only after a minute, so the migration is the
        // victim however slowly the other session gets to its second lock on a loaded machine.
        let url = database.url
        async let other: Void = blocking {
            let other = try Connection(connectionString: url)
            try other.execute("SET deadlock_timeout = '60s'; BEGIN; LOCK TABLE then_locked IN ACCESS EXCLUSIVE MODE")
            let watcher = try Connection(connectionString: url)
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while try watcher.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )[0].int64(0) == 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("the migration never waited") }
                Thread.sleep(forTimeInterval: 0.01)
            }
            try other.execute("LOCK TABLE first_locked IN ACCESS EXCLUSIVE MODE; COMMIT")
        }
        let holding = try await eventually(timeout: .seconds(60)) {
            try database.pool.withConnection { connection in
                try connection.query("""
                    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'then_locked' AND l.granted
                    """)[0].int64(0) > 0
            }
        }
        #expect(holding)
        let logs = LogSink.memory()
        let migrator = Migrator(
            migrations: [Migration(version: 1, name: "locks", sql: """
                SET LOCAL deadlock_timeout = '3s';
                LOCK TABLE first_locked IN ACCESS EXCLUSIVE MODE;
                LOCK TABLE then_locked IN ACCESS EXCLUSIVE MODE;
                CREATE TABLE after_the_locks (id int)
                """)],
            lockTimeout: .seconds(60),  // deadlock detection (3 s) must come first
            logger: Logger(label: "test", level: .warning, sink: logs))
        let pool = database.pool
        let applied = try await blocking { try migrator.migrate(on: pool).map(\.version) }
        try await other
        #expect(applied == [1])
        #expect(logs.lines.contains { $0.contains("deadlock victim") })
    }

    @Test func failedMigrationRollsBackEverything() throws {
        let broken = [
            Migration(version: 1, name: "good", sql: "CREATE TABLE good (id int)"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE bad (id int); SELECT no_such_function()"),
        ]
        #expect(throws: MigrationError.self) { try Migrator(migrations: broken, logger: logger).migrate(on: database.pool) }
        let exists: Bool = try database.pool.withConnection { try $0.query("SELECT to_regclass('good') IS NOT NULL")[0].bool(0) }
        #expect(!exists)
    }

    @Test func concurrentMigratorsApplyOnce() async throws {
        let url = database.url
        let all = try migrations()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let pool = ConnectionPool(configuration: .init(connectionString: url, size: 1), logger: Logger(label: "test", level: .error))
                    defer { pool.close() }
                    return try Migrator(migrations: all, logger: Logger(label: "test", level: .error)).migrate(on: pool).count
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == [0, 0, 0, all.count])
        let recorded: Int64 = try database.pool.withConnection {
            try $0.query("SELECT count(*) FROM registryd_schema_migrations")[0].int64(0)
        }
        #expect(recorded == Int64(all.count))
    }

    @Test func badFileNamesAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 1".write(to: directory.appendingPathComponent("0001_ok.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: directory.path).count == 1)
        try "SELECT 2".write(to: directory.appendingPathComponent("2-missing-underscore.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migration.load(from: directory.path) }
    }
}
