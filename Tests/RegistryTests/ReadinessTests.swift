import Foundation
import Postgres
import Testing
import TestSupport

/// `/readyz` answers from a background probe of both database paths, never from a statement of its own.
@Suite struct ReadinessTests {
    private let path = "/registry/v1/regions/fr-par/namespaces"

    /// Reads of the migrations' bookkeeping table that PostgreSQL counted: each readiness check
    /// of the write path makes one, nothing else does after start-up.
    ///
    /// A backend reports its counts about once a second while busy, up to 10 s later once idle,
    /// and at once when it exits: the service's connections are ended first (the pool and the
    /// pipeline open new ones), and the count is read once they are gone, so it is complete.
    private static func schemaReads(of service: TestService) async throws -> Int64 {
        let name = try service.database.pool.withConnection { try $0.query("SELECT current_database()").rows[0].string(0) }
        let admin = try Connection(connectionString: TestPostgres.adminURL)
        let ended = try admin.query(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]).rows.map { try $0.int64(0) }
        // New connections (the purger's, every 50 ms) may come meanwhile: they have read nothing yet.
        let gone = await eventually(timeout: .seconds(30)) {
            let left = try? admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int8[])",
                                        ["{" + ended.map(String.init).joined(separator: ",") + "}"])
            return (try? left?.rows[0].int64(0)) == 0
        }
        guard gone else { throw TestFailure("the service's database connections did not end") }
        let reader = try Connection(connectionString: service.database.url)
        return try reader.query(
            "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'registryd_schema_migrations'")
            .rows[0].int64(0)
    }

    @Test func aFloodOfProbesRunsNoStatementAndLeavesWritesAlone() async throws {
        // One probe every 30 s: the flood below finds a result and must not make more.
        let service = try TestService(readinessInterval: .seconds(30), poolSize: 2, poolTimeout: .milliseconds(500))
        let client = try service.client()
        let anonymous = TestClient(baseURL: service.baseURL)
        #expect(try await client.post(path, ["name": "before-flood"]).status == 200)
        let before = try await Self.schemaReads(of: service)

        let flood = 2000
        let answered = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var ready = 0
                    for _ in 0..<(flood / 16) where try await anonymous.get("/readyz").status == 200 { ready += 1 }
                    return ready
                }
            }
            // Writes meanwhile: none may wait for a connection that a probe holds.
            group.addTask {
                for index in 0..<20 {
                    let status = try await client.post(path, ["name": "during-flood-\(index)"]).status
                    #expect(status == 200)
                }
                return 0
            }
            return try await group.reduce(0, +)
        }
        #expect(answered == flood)

        // Before, each /readyz read the bookkeeping table on a write connection: 2,000 reads.
        let reads = try await Self.schemaReads(of: service) - before
        print("readiness flood: \(reads) reads of registryd_schema_migrations during \(flood) probes")
        #expect(reads <= 2)
    }

    @Test func aLockThatBlocksReadsMakesTheServiceNotReadyWithinAFewProbes() async throws {
        let service = try TestService(readinessInterval: .milliseconds(200))
        let anonymous = TestClient(baseURL: service.baseURL)
        #expect(await eventually { (try? await anonymous.get("/readyz").status) == 200 })

        let holder = try Connection(connectionString: service.database.url)
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE namespaces IN ACCESS EXCLUSIVE MODE")
        // Stale after three intervals (600 ms); a few more for a loaded machine.
        let notReady = await eventually(timeout: .seconds(3)) { (try? await anonymous.get("/readyz").status) == 503 }
        #expect(notReady)
        let body = try await anonymous.get("/readyz")
        #expect(body.json["status"] as? String == "unavailable")
        #expect(body.header("Retry-After") == "1")
        #expect((body.json["age_ms"] as? Int ?? 0) >= 600)
        #expect(try await anonymous.get("/healthz").status == 200)

        try holder.execute("COMMIT")
        #expect(await eventually { (try? await anonymous.get("/readyz").status) == 200 })
    }
}
