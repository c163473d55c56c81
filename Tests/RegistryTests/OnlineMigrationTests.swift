import Foundation
import Log
import Postgres
import Synchronization
import Testing
import TestSupport

/// Migrations that never stop traffic (README "Migrations"): a migration that cannot get its lock
/// gives up after `lockTimeout` and tries again, so requests queued behind it wait no longer; a
/// file marked `-- registryd: no-transaction` can build an index `CONCURRENTLY`.
@Suite struct OnlineMigrationTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    func migrator(adding extra: [Migration], lockTimeout: Duration, logs: LogSink) throws -> Migrator {
        Migrator(migrations: try Migration.load(from: TestPostgres.migrationsDirectory) + extra,
                 lockTimeout: lockTimeout, logger: Logger(label: "test", level: .info, sink: logs))
    }

    @Test func aLockHeldOnNamespacesDoesNotBlockTrafficLongerThanTheLockTimeout() async throws {
        let service = try await blocking { try TestService() }
        let client = try service.client()
        let id = try #require(try await client.post(path, ["name": "before-migration"]).json["id"] as? String)
        // A long transaction that read namespaces: the ALTER TABLE below must wait for it, and
        // every request that touches namespaces queues behind the ALTER's lock request.
        let holder = try Connection(connectionString: service.database.url)
        try holder.execute("BEGIN")
        _ = try holder.query("SELECT count(*) FROM namespaces")

        let lockTimeout = Duration.milliseconds(200)
        let logs = LogSink.memory()
        let migrator = try migrator(
            adding: [Migration(version: 1000, name: "add_column", sql: "ALTER TABLE namespaces ADD COLUMN online_test text;")],
            lockTimeout: lockTimeout, logs: logs)
        let pool = service.database.pool
        let migration = Task.detached { try migrator.migrate(on: pool, timeout: .seconds(60)).map(\.version) }
        #expect(await eventually(timeout: .seconds(10)) { logs.lines.contains { $0.contains("did not get its locks") } })

        // Traffic while the migration retries: each request waits about one lock_timeout, not
        // until the holder ends (8 s); the bound leaves room for a loaded 2-core machine.
        let holdUntil = ContinuousClock.now.advanced(by: .seconds(8))
        var slowest = Duration.zero
        var index = 0
        while ContinuousClock.now < holdUntil {
            index += 1
            let started = ContinuousClock.now
            #expect(try await client.get("\(path)/\(id)").status == 200)
            #expect(try await client.post(path, ["name": "during-\(index)"]).status == 200)
            slowest = max(slowest, ContinuousClock.now - started)
        }
        #expect(slowest < lockTimeout + .seconds(4), "a request waited \(slowest) behind the migration")
        try holder.execute("COMMIT")
        #expect(try await migration.value == [1000])
        let column = try pool.withConnection {
            try $0.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'namespaces' AND column_name = 'online_test'")[0].int64(0)
        }
        #expect(column == 1)
    }

    @Test func aNoTransactionMigrationBuildsAnIndexConcurrently() throws {
        let database = try TestDatabase()
        let migration = Migration(version: 1000, name: "index_concurrently", sql: """
            -- registryd: no-transaction
            -- A failed build leaves an invalid index: drop it first, so a retry starts clean.
            DROP INDEX CONCURRENTLY IF EXISTS namespaces_online_description;
            CREATE INDEX CONCURRENTLY namespaces_online_description
                ON namespaces (description);
            """)
        #expect(!migration.isTransactional)
        #expect(migration.statements.count == 2)
        let migrator = try migrator(adding: [migration], lockTimeout: .seconds(1), logs: LogSink.memory())
        #expect(try migrator.pending(on: database.pool).map(\.version) == [1000])
        #expect(try migrator.migrate(on: database.pool).map(\.version) == [1000])
        let valid = try database.pool.withConnection {
            try $0.query("""
                SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = 'namespaces_online_description'
                """)
        }
        #expect(try valid.first?.bool(0) == true)
        #expect(try migrator.pending(on: database.pool).isEmpty)
        #expect(try migrator.isCurrent(on: database.pool))
    }
}

@Suite struct MigrateDryRunTests {
    @Test func dryRunPrintsWhatWouldApplyAndAppliesNothing() async throws {
        let url = try TestPostgres.createDatabase()
        let dryRun = try await RegistrydProcess.run(["migrate", "--dry-run"], environment: ["DATABASE_URL": url])
        #expect(dryRun.status == 0)
        #expect(dryRun.output.contains("-- would apply 0001 create_namespaces (in the migration transaction)"), "\(dryRun.output)")
        #expect(dryRun.output.contains("CREATE TABLE"))
        #expect(dryRun.output.contains("dry run: nothing was applied"))
        let status = try await RegistrydProcess.run(["migrate", "--status"], environment: ["DATABASE_URL": url])
        #expect(status.status == 3)
        #expect(!status.output.contains("applied "), "\(status.output)")
        #expect(try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url]).status == 0)
        let after = try await RegistrydProcess.run(["migrate", "--dry-run"], environment: ["DATABASE_URL": url])
        #expect(after.output.contains("nothing to apply"))
    }
}
