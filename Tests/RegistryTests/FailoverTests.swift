import Foundation
import Log
import Postgres
import Synchronization
import Testing
import TestSupport

/// A primary that dies under a steady write load and a standby promoted in its place
/// (README, "High availability"): no acknowledged write is lost, requests meanwhile get quick
/// 503s, and every kind of connection finds the new primary by itself.
@Suite struct FailoverTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func killedPrimaryAndPromotedStandbyLoseNoAcknowledgedWriteAndServiceResumesByItself() async throws {
        let cluster = try await blocking { try ReplicatedCluster() }
        let poolTimeout = Duration.seconds(1)
        let statementTimeout = Duration.seconds(1)
        let service = try await blocking {
            try TestService(readinessInterval: .milliseconds(250), poolSize: 4, poolTimeout: poolTimeout,
                            statementTimeout: statementTimeout, admin: cluster.failoverURL)
        }
        let client = try service.client()
        let anonymous = TestClient(baseURL: service.baseURL)
        let deleted = try #require(try await client.post(path, ["name": "deleted-after-failover"]).json["id"] as? String)
        let acknowledged = Mutex<[String]>([])
        let unexpected = Mutex<[String]>([])
        let slowest = Mutex<Duration>(.zero)
        let running = Atomic<Bool>(true)

        let load = Task {
            var index = 0
            while running.load(ordering: .relaxed) {
                index += 1
                let started = ContinuousClock.now
                do {
                    let created = try await client.post(path, ["name": "failover-\(index)"])
                    switch created.status {
                    case 200: acknowledged.withLock { $0.append(created.json["id"] as? String ?? "") }
                    case 503: if created.json["type"] as? String != "service_unavailable" { unexpected.withLock { $0.append(created.text) } }
                    default: unexpected.withLock { $0.append("POST \(created.status) \(created.text)") }
                    }
                } catch {
                    unexpected.withLock { $0.append("transport: \(error)") }
                }
                let elapsed = ContinuousClock.now - started
                slowest.withLock { $0 = max($0, elapsed) }
            }
        }
        #expect(await eventually(timeout: .seconds(30)) { acknowledged.withLock { $0.count } >= 10 })

        let died = ContinuousClock.now
        try await blocking { try cluster.killPrimary() }
        let before = acknowledged.withLock { $0.count }
        try await blocking { try cluster.promoteStandby() }
        let served = await eventually(timeout: .seconds(30)) { acknowledged.withLock { $0.count } > before + 2 }
        let failoverTime = ContinuousClock.now - died
        #expect(served)
        running.store(false, ordering: .relaxed)
        await load.value
        print("failover: primary killed to first acknowledged writes on the promoted standby: \(failoverTime)")

        // Every kind of connection reconnected by itself: reads (pipeline), listings (lane),
        // the readiness probe, the purger, and the migrator's advisory lock.
        let ids = acknowledged.withLock { $0 }
        #expect(try await client.get("\(path)/\(ids.last ?? "")").status == 200)
        #expect(try await client.get("\(path)?page_size=5").status == 200)
        #expect(await eventually(timeout: .seconds(10)) { (try? await anonymous.get("/readyz").status) == 200 })
        #expect(try await client.send("DELETE", "\(path)/\(deleted)").status == 200)
        let database = try #require(URLComponents(string: service.database.url)?.path.dropFirst())
        let promoted = try Connection(connectionString: ReplicatedCluster.url(cluster.standbyURL, database: String(database)))
        let purged = await eventually(timeout: .seconds(10)) {
            (try? promoted.query("SELECT 1 FROM namespaces WHERE id = $1::uuid", [deleted]).rows.isEmpty) == true
        }
        #expect(purged)
        let migrations = try Migration.load(from: TestPostgres.migrationsDirectory)
        _ = try await blocking {
            try Migrator(migrations: migrations, logger: Logger(label: "test", level: .error)).migrate(on: service.database.pool)
        }

        #expect(unexpected.withLock { $0 } == [])
        // Never a hang: each request ended within the pool wait, the statement and a connect attempt.
        #expect(slowest.withLock { $0 } < poolTimeout + statementTimeout + .seconds(5))
        let stored = Set(try promoted.query("SELECT id FROM namespaces").rows.map { try $0.uuid(0).uuidString.lowercased() })
        #expect(Set(ids).isSubset(of: stored), "acknowledged namespaces lost: \(Set(ids).subtracting(stored))")
    }
}
