import Foundation
import Log
import Postgres
import Testing
import TestSupport

/// The `organization_usage` counters stay exact when namespaces are written while the migrations
/// that fill them run: 0003's back-fill read `namespaces` without locking it, and 0004
/// recomputes every counter under a lock, leaving out namespaces being deleted.
@Suite struct UsageBackfillTests {
    let logger = Logger(label: "test", level: .error)

    @Test func namespacesInsertedWhileTheCountersAreFilledAreCounted() async throws {
        let database = try TestDatabase(migrated: false)
        let all = try Migration.load(from: TestPostgres.migrationsDirectory)
        let organization = UUID()
        try Migrator(migrations: Array(all.prefix(2)), logger: logger).migrate(on: database.pool)
        try database.pool.withConnection { connection in
            _ = try connection.query(
                """
                INSERT INTO namespaces (region, name, organization_id, project_id, status)
                VALUES ('fr-par', 'before', $1, $1, 'ready'), ('fr-par', 'being-deleted', $1, $1, 'deleting')
                """,
                [organization])
        }

        // A namespace inserted by a transaction still open while 0003 fills the counters, then
        // one while 0004 recomputes them.
        for (version, name) in [(3, "during-backfill"), (4, "during-recount")] {
            let writer = try Connection(connectionString: database.url)
            try writer.execute("BEGIN")
            _ = try writer.query(
                "INSERT INTO namespaces (region, name, organization_id, project_id) VALUES ('fr-par', $2, $1, $1)",
                [organization, name])
            let migrators = ConnectionPool(configuration: .init(connectionString: database.url, size: 1), logger: logger)
            defer { migrators.close() }
            let migrations = Array(all.prefix(version))
            async let migrated = blocking { [logger] in try Migrator(migrations: migrations, logger: logger).migrate(on: migrators) }
            let waiting = try await eventually(timeout: .seconds(60)) {
                try database.pool.withConnection { connection in
                    try connection.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )[0].int64(0) > 0
                }
            }
            #expect(waiting, "migration \(version) waits for the open insert")
            try writer.execute("COMMIT")
            #expect(try await migrated.count == 1)
        }

        let (counted, actual): (Int64, Int64) = try database.pool.withConnection { connection in
            let row = try connection.query("""
                SELECT (SELECT namespace_count FROM organization_usage WHERE organization_id = $1),
                       (SELECT count(*) FROM namespaces WHERE organization_id = $1 AND status <> 'deleting')
                """, [organization])[0]
            return (try row.int64(0), try row.int64(1))
        }
        #expect(actual == 3)
        #expect(counted == actual, "0004 counts every namespace not being deleted")
        // Every namespace can be deleted without driving the counter below zero.
        try database.pool.withConnection { try $0.execute("DELETE FROM namespaces") }
    }
}
