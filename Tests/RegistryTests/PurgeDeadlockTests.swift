import Foundation
import Log
import Postgres
@testable import Registry
import Synchronization
import Testing
import TestSupport

/// Creates, deletes and purgers of several instances at once: no interleaving deadlocks, and a
/// deleted name is free again within the contract's second. PostgreSQL's own deadlock counter
/// (`pg_stat_database.deadlocks`) is the judge.
@Suite(.serialized) struct PurgeDeadlockTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func deleteAndRecreateOfOneNameNeverDeadlocksAndFreesItWithinASecond() async throws {
        let service = try TestService(poolSize: 6)  // 5 clients write at once
        let client = try service.client()
        var id = try #require(try await client.post(path, ["name": "recreated-name"]).json["id"] as? String)
        var unexpected: [Int] = []
        var slowest: Duration = .zero
        for _ in 0..<10 {
            // Four clients of the organization keep creating the name (409 while it exists): each
            // create locks the organization's usage row, then meets the delete's update or the
            // purger's delete of the name. Once they are at it, the namespace is deleted; one
            // of them takes the name back as soon as it is free. Meanwhile the organization
            // creates and deletes other namespaces.
            let race = Race()
            let target = id
            let statuses = try await onDedicatedThreads {
                try await withThrowingTaskGroup(of: [Int].self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var seen: [Int] = []
                            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                            while race.state.withLock({ $0.winner == nil }) && ContinuousClock.now < deadline {
                                let response = try await client.post(path, ["name": "recreated-name"])
                                seen.append(response.status)
                                race.state.withLock { state in
                                    state.attempts += 1
                                    if response.status == 200, state.winner == nil {
                                        state.winner = response.json["id"] as? String
                                        state.wonAt = .now
                                    }
                                }
                            }
                            return seen
                        }
                    }
                    group.addTask {
                        _ = await eventually { race.state.withLock { $0.attempts >= 4 } }
                        let status = try await client.delete("\(path)/\(target)").status
                        race.state.withLock { $0.deletedAt = .now }
                        return [status]
                    }
                    group.addTask {
                        var seen: [Int] = []
                        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                        while race.state.withLock({ $0.winner == nil }) && ContinuousClock.now < deadline {
                            let name = "churn-" + UUID().uuidString.prefix(8).lowercased()
                            let created = try await client.post(path, ["name": name])
                            seen.append(created.status)
                            guard let churned = created.json["id"] as? String else { continue }
                            seen.append(try await client.delete("\(path)/\(churned)").status)
                        }
                        return seen
                    }
                    return try await group.reduce(into: [Int]()) { $0 += $1 }
                }
            }
            unexpected += statuses.filter { $0 != 200 && $0 != 409 }
            let (winner, deletedAt, wonAt) = race.state.withLock { ($0.winner, $0.deletedAt, $0.wonAt) }
            guard let winner else {
                Issue.record("nobody took the name back within 10 s")
                break
            }
            id = winner
            if let deletedAt, let wonAt { slowest = max(slowest, wonAt - deletedAt) }
        }
        service.application.stop(gracePeriod: .seconds(1))
        let deadlocks = try DatabaseStatistics.settledDeadlocks(url: service.database.url)
        print("delete-and-recreate, 10 rounds: \(deadlocks) deadlocks, slowest name freed in \(slowest)")
        #expect(deadlocks == 0)
        #expect(unexpected.isEmpty, "answers other than 200 and 409: \(unexpected)")
        #expect(slowest < .seconds(1))
    }

    @Test func fourPurgersOverSixOrganizationsNeverDeadlock() async throws {
        let database = try TestDatabase(poolSize: 7)  // 6 organizations create at once
        let logs = LogSink.memory()
        let logger = Logger(label: "test", level: .warning, sink: logs)
        try database.pool.withConnection { connection in
            try connection.execute("""
                INSERT INTO namespaces (region, name, organization_id, project_id)
                SELECT 'fr-par', 'bulk-' || i, o.id, o.id
                  FROM generate_series(1, 18000) AS i
                  JOIN (SELECT row_number() OVER () - 1 AS n, gen_random_uuid() AS id FROM generate_series(1, 6)) AS o
                    ON o.n = i % 6
                """)
        }
        let organizations: [UUID] = try database.pool.withConnection { connection in
            try connection.query("SELECT DISTINCT organization_id FROM namespaces").rows.map { try $0.uuid(0) }
        }
        // Four instances, each with its pool (a purger uses one connection) and its purger on the
        // production interval.
        let pools = (0..<4).map { _ in
            ConnectionPool(configuration: .init(connectionString: database.url, size: 1), logger: logger)
        }
        let purgers = pools.map { pool in
            NamespacePurger(repository: NamespaceRepository(database: DatabaseAccess(pool: pool)), logger: logger)
        }
        purgers.forEach { $0.start() }
        // Every namespace marked at once, as 18,000 DELETE calls of six organizations would.
        try database.pool.withConnection { connection in
            try connection.execute("UPDATE namespaces SET status = 'deleting', updated_at = clock_timestamp()")
        }
        let started = ContinuousClock.now
        // Meanwhile each organization takes back names as they are freed, which locks its usage
        // row and then waits on the purgers' deletes.
        let repository = NamespaceRepository(database: DatabaseAccess(pool: database.pool))
        let remaining = { @Sendable () async throws -> Int64 in
            try await database.pool.run { try $0.query("SELECT count(*) FROM namespaces WHERE status = 'deleting'")[0].int64(0) }
        }
        let failures = try await withThrowingTaskGroup(of: [String].self) { group in
            for (index, organization) in organizations.enumerated() {
                group.addTask {
                    var failures: [String] = []
                    var attempt = 0
                    while try await remaining() > 0 {
                        attempt += 1
                        let name = "bulk-\((attempt * 37 % 3000) * 6 + index)"
                        let namespace = NewNamespace(
                            region: "fr-par", name: name, description: "", organizationID: organization,
                            projectID: organization, isPublic: false)
                        do {
                            _ = try await repository.create(namespace, quota: 100_000)
                        } catch {
                            failures.append(String(describing: (error as? PostgresError)?.detail ?? "\(error)"))
                        }
                    }
                    return failures
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - started
        purgers.forEach { $0.stop() }
        pools.forEach { $0.close() }
        let counts: [String] = try database.pool.withConnection { connection in
            try connection.query("""
                SELECT u.organization_id::text || '=' || u.namespace_count || '/' || count(n.id)
                  FROM organization_usage u LEFT JOIN namespaces n USING (organization_id)
                 GROUP BY u.organization_id, u.namespace_count
                HAVING u.namespace_count <> count(n.id)
                """).rows.map { try $0.string(0) }
        }
        database.pool.close()
        let deadlocks = try DatabaseStatistics.settledDeadlocks(url: database.url)
        print("4 purgers, 18,000 namespaces of 6 organizations: \(deadlocks) deadlocks, all purged in \(elapsed)")
        #expect(deadlocks == 0)
        #expect(failures.isEmpty, "\(failures.count) creates failed, the first: \(failures.first?.prefix(300) ?? "")")
        #expect(!logs.lines.contains { $0.contains("purging deleted namespaces failed") })
        #expect(counts.isEmpty, "usage counters differ from the namespaces: \(counts)")
        #expect(elapsed < .seconds(1), "the contract frees a deleted name within a second")
    }
}

/// One round of the race for a name, shared by the racing tasks.
private final class Race: Sendable {
    struct State {
        var winner: String?
        var attempts = 0
        var deletedAt: ContinuousClock.Instant?
        var wonAt: ContinuousClock.Instant?
    }

    let state = Mutex(State())
}
