import Foundation
import Log
import Postgres
import Registry
import Testing
import TestSupport

/// `infinity` and `-infinity` in timestamp columns: read without trapping wherever they appear,
/// rewritten by migration 0005, and refused by its constraints afterwards.
@Suite struct InfiniteTimestampTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    /// Puts the database back as it was before 0005 (or as an operator who dropped the checks left it).
    private func dropFiniteChecks(_ pool: ConnectionPool) throws {
        try pool.withConnection { connection in
            try connection.execute("""
                ALTER TABLE api_keys DROP CONSTRAINT api_keys_timestamps_finite;
                ALTER TABLE namespaces DROP CONSTRAINT namespaces_timestamps_finite
                """)
        }
    }

    @Test func aKeyExpiringAtInfinityNeverExpiresAndOneAtMinusInfinityHasExpired() async throws {
        let service = try TestService(authCacheLifetime: .zero)
        try dropFiniteChecks(service.database.pool)
        let organization = UUID()
        let forever = try service.createKey(organization: organization)
        let never = try service.createKey(organization: organization)
        try service.database.pool.withConnection { connection in
            _ = try connection.query("UPDATE api_keys SET expires_at = 'infinity' WHERE access_key = $1", [forever.key.accessKey])
            _ = try connection.query("UPDATE api_keys SET expires_at = '-infinity' WHERE access_key = $1", [never.key.accessKey])
        }
        let client = TestClient(baseURL: service.baseURL, token: forever.secretKey)
        let created = try await client.post(path, ["name": "forever-key"])
        #expect(created.status == 200)
        #expect(try await client.get(path).status == 200)
        let refused = try await TestClient(baseURL: service.baseURL, token: never.secretKey).get(path)
        #expect(refused.status == 401)
        #expect(refused.json["reason"] as? String == "expired")

        // A namespace whose timestamps an operator set to infinity is still answered.
        let id = try #require(created.json["id"] as? String)
        try service.database.pool.withConnection { connection in
            try connection.execute("UPDATE namespaces SET created_at = '-infinity', updated_at = 'infinity'")
        }
        let read = try await client.get("\(path)/\(id)")
        #expect(read.status == 200)
        #expect(read.json["created_at"] as? String == "0001-01-01T00:00:00.000000Z")
        #expect(read.json["updated_at"] as? String == "9999-12-31T23:59:59.999999Z")
    }

    @Test func apiKeyListShowsInfiniteExpiries() async throws {
        let database = try TestDatabase()
        try dropFiniteChecks(database.pool)
        let keys = APIKeyRepository(pool: database.pool)
        let organization = UUID()
        let forever = try keys.create(organizationID: organization, projectID: nil, description: "forever", expiresIn: nil)
        let never = try keys.create(organizationID: organization, projectID: nil, description: "never", expiresIn: nil)
        try database.pool.withConnection { connection in
            _ = try connection.query("UPDATE api_keys SET expires_at = 'infinity' WHERE access_key = $1", [forever.key.accessKey])
            _ = try connection.query(
                "UPDATE api_keys SET expires_at = '-infinity', created_at = '-infinity' WHERE access_key = $1", [never.key.accessKey])
        }
        let list = try await RegistrydProcess.run(["api-key", "list"], environment: ["DATABASE_URL": database.url])
        #expect(list.status == 0, "\(list.output)")
        let lines = list.output.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix(forever.key.accessKey + "  active") && $0.contains("9999-12-31T23:59:59.999999Z") })
        #expect(lines.contains { $0.hasPrefix(never.key.accessKey + "  expired") && $0.contains("0001-01-01T00:00:00.000000Z") })
    }

    @Test func migrationRewritesInfiniteTimestampsAndTheChecksRefuseNewOnes() throws {
        let database = try TestDatabase(migrated: false)
        let all = try Migration.load(from: TestPostgres.migrationsDirectory)
        let logger = Logger(label: "test", level: .error)
        try Migrator(migrations: all.filter { $0.version < 5 }, logger: logger).migrate(on: database.pool)
        try database.pool.withConnection { connection in
            try connection.execute("""
                INSERT INTO api_keys (access_key, secret_sha256, organization_id, expires_at, revoked_at) VALUES
                    ('SCWINFINITEEXPIRY001', repeat('a', 64), gen_random_uuid(), 'infinity', NULL),
                    ('SCWPASTEXPIRY0000001', repeat('b', 64), gen_random_uuid(), '-infinity', 'infinity');
                INSERT INTO namespaces (region, name, organization_id, project_id, created_at, updated_at)
                VALUES ('fr-par', 'timeless', gen_random_uuid(), gen_random_uuid(), '-infinity', 'infinity')
                """)
        }
        try Migrator(migrations: all, logger: logger).migrate(on: database.pool)
        try database.pool.withConnection { connection in
            let keys = try connection.query("""
                SELECT expires_at IS NULL, coalesce(expires_at = 'epoch', false),
                       coalesce(revoked_at IS NOT NULL AND isfinite(revoked_at), false)
                  FROM api_keys ORDER BY access_key
                """).rows
            #expect(try keys.map { try [$0.bool(0), $0.bool(1), $0.bool(2)] } == [[true, false, false], [false, true, true]])
            let namespace = try connection.query(
                "SELECT created_at = 'epoch', updated_at <= now() FROM namespaces WHERE name = 'timeless'")[0]
            #expect(try namespace.bool(0) && namespace.bool(1))
            for statement in [
                "UPDATE api_keys SET expires_at = 'infinity'",
                "UPDATE namespaces SET updated_at = '-infinity'",
            ] {
                do {
                    try connection.execute(statement)
                    Issue.record("accepted: \(statement)")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "23514")  // check_violation
                }
            }
        }
    }
}
