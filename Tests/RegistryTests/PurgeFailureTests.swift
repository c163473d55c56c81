import Foundation
import Log
import Postgres
@testable import Registry
import Testing
import TestSupport

/// A namespace that cannot be deleted stops only itself, not every organization's deletes.
@Suite struct PurgeFailureTests {
    @Test func aRowThatCannotBeDeletedIsLoggedMarkedErrorAndTheOthersArePurged() async throws {
        let database = try TestDatabase()
        let logs = LogSink.memory()
        let purger = NamespacePurger(
            repository: NamespaceRepository(database: DatabaseAccess(pool: database.pool)),
            logger: Logger(label: "test", level: .info, sink: logs))
        let repository = NamespaceRepository(database: DatabaseAccess(pool: database.pool))
        let owner = UUID()
        let caller = Caller(organizationID: owner)
        let created = try await repository.create(
            NewNamespace(region: "fr-par", name: "undeletable", description: "", organizationID: owner,
                         projectID: owner, isPublic: false), quota: 10)
        guard case .created(let bad) = created else { Issue.record("create failed: \(created)"); return }
        // The bad row is the oldest mark, so it is in the first batch of every pass; a trigger
        // makes its delete fail, as a broken constraint or a foreign row would.
        #expect(try await repository.markDeleting(id: bad.id, region: "fr-par", caller: caller) != nil)
        try database.pool.withConnection { connection in
            try connection.execute("""
                UPDATE namespaces SET updated_at = now() - interval '1 hour' WHERE name = 'undeletable';
                INSERT INTO namespaces (region, name, organization_id, project_id, status)
                SELECT 'fr-par', 'doomed-' || i, o.id, o.id, 'deleting'
                  FROM generate_series(1, 1200) AS i
                  JOIN (SELECT row_number() OVER () - 1 AS n, gen_random_uuid() AS id FROM generate_series(1, 3)) AS o
                    ON o.n = i % 3;
                CREATE FUNCTION refuse_undeletable() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF OLD.name = 'undeletable' THEN RAISE EXCEPTION 'this namespace refuses to go'; END IF;
                    RETURN OLD;
                END $$;
                CREATE TRIGGER refuse_undeletable BEFORE DELETE ON namespaces
                    FOR EACH ROW EXECUTE FUNCTION refuse_undeletable();
                """)
        }

        #expect(try purger.purgeNow() == 1200)
        let state = try #require(try await repository.find(id: bad.id, region: "fr-par", caller: caller))
        #expect(state.status == .error)
        #expect(state.statusMessage == NamespacePurger.failureMessage)
        let failures = logs.lines.filter { $0.contains("cannot be removed") }
        #expect(failures.count == 1)
        #expect(failures.first?.contains(bad.id.lowercasedString) == true)
        #expect(failures.first?.contains("this namespace refuses to go") == true)
        // It left the queue: the next pass has nothing to do and logs nothing.
        #expect(try purger.purgeNow() == 0)
        #expect(logs.lines.filter { $0.contains("cannot be removed") }.count == 1)
        #expect(try usage(of: owner, database) == 1)  // it exists, so it counts again

        // Once the cause is gone, deleting it again works.
        try database.pool.withConnection { try $0.execute("DROP TRIGGER refuse_undeletable ON namespaces") }
        #expect(try await repository.markDeleting(id: bad.id, region: "fr-par", caller: caller)?.status == .deleting)
        #expect(try usage(of: owner, database) == 0)
        #expect(try purger.purgeNow() == 1)
        #expect(try await repository.find(id: bad.id, region: "fr-par", caller: caller) == nil)
    }

    private func usage(of organization: UUID, _ database: TestDatabase) throws -> Int64 {
        try database.pool.withConnection { connection in
            try connection.query(
                "SELECT namespace_count FROM organization_usage WHERE organization_id = $1", [organization])[0].int64(0)
        }
    }
}
