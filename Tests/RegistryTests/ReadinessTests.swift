import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

/// `/readyz` answers from a background probe of both database paths, never from a statement of its own.
@Suite struct ReadinessTests {
    private let path = "/registry/v1/regions/fr-par/namespaces"

    /// Transactions PostgreSQL counted in the service's database, read from another database so
    /// that reading costs none there.
    private static func transactions(of service: TestService) throws -> Int64 {
        let name = try service.database.pool.withConnection { try $0.query("SELECT current_database()").rows[0].string(0) }
        let admin = try Connection(connectionString: TestPostgres.adminURL)
        return try admin.query("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", [name])
            .rows[0].int64(0)
    }

    @Test func aFloodOfProbesRunsNoStatementAndLeavesWritesAlone() async throws {
        // One probe every 30 s: the flood below finds a result and must not make more.
        let service = try TestService(readinessInterval: .seconds(30), poolSize: 2, poolTimeout: .milliseconds(500))
        let client = try service.client()
        let anonymous = TestClient(baseURL: service.baseURL)
        let before = try Self.transactions(of: service)

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

        // Statistics reach pg_stat_database within about a second of each transaction; the
        // purger (every 50 ms) and the writes above cost a few hundred at most, not 2,000.
        let spent = await eventually(timeout: .seconds(3)) {
            ((try? Self.transactions(of: service)) ?? before) - before >= Int64(flood)
        }
        let counted = try Self.transactions(of: service) - before
        #expect(!spent, "\(counted) transactions during \(flood) probes")
        print("readiness flood: \(counted) transactions in the database during \(flood) probes")
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
