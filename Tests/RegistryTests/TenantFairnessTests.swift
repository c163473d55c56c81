import Foundation
import Postgres
import Registry
import Synchronization
import Testing
import TestSupport

/// One organization (A) floods the service; another (B) must still be served: its writes never
/// 503 and its reads succeed. The three floods of issue 9: A's creates, A's creates queued on A's
/// own lock held by a second connection, and A listing its many namespaces with 64 clients.
///
/// Latencies are printed, never asserted (they depend on the machine's load); run with
/// `REGISTRYD_TEST_FAIRNESS=none` to see the same tests against the service without its
/// fairness settings, where they fail.
@Suite(.serialized) struct TenantFairnessTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    static let fairness: Fairness =
        ProcessInfo.processInfo.environment["REGISTRYD_TEST_FAIRNESS"] == "none" ? .none : Fairness()

    @Test func anotherOrganizationsWritesSucceedWhileOneHoldsItsOwnUsageLock() async throws {
        // A long pool timeout, so that A's queued creates are still queued when B's requests come.
        let service = try TestService(poolSize: 4, poolTimeout: .seconds(5), fairness: Self.fairness)
        let organizationA = UUID()
        let a = try service.client(organization: organizationA)
        let b = try service.client()
        #expect(try await a.post(path, ["name": "a-first"]).status == 200)
        let id = try #require(try await b.post(path, ["name": "b-first"]).json["id"] as? String)

        // A second connection holds A's usage row: every create of A waits on it in PostgreSQL.
        let holder = try Connection(connectionString: service.database.url)
        try holder.execute("BEGIN")
        try holder.query("SELECT namespace_count FROM organization_usage WHERE organization_id = $1 FOR UPDATE", [organizationA])
        let creates = (0..<8).map { index in Task { try await a.post(path, ["name": "a-blocked-\(index)"]).status } }
        // Every create of A is either waiting on the lock or queued in the service.
        let settled = await eventually(timeout: .seconds(10)) {
            let onLock = (try? await lockWaiters(service)) ?? 0
            return onLock >= 1 && onLock + queuedWrites(service) == 8
        }
        #expect(settled)
        // A's creates hold at most its share of the pool's connections, not all of them.
        let heldByA = try await lockWaiters(service)
        #expect(heldByA <= max(1, Self.fairness.writesPerOrganization))

        var statuses: [String] = []
        for index in 0..<5 {
            statuses.append("PATCH \(try await b.patch("\(path)/\(id)", ["description": "while A waits \(index)"]).status)")
        }
        statuses.append("POST \(try await b.post(path, ["name": "b-while-a-waits"]).status)")
        statuses.append("GET \(try await b.get("\(path)/\(id)").status)")
        statuses.append("LIST \(try await b.get(path).status)")
        #expect(statuses.allSatisfy { $0.hasSuffix(" 200") }, "B was refused while A waited on its lock: \(statuses)")

        try holder.execute("COMMIT")
        var aStatuses: [Int] = []
        for create in creates { aStatuses.append(try await create.value) }
        #expect(aStatuses.allSatisfy { [200, 503].contains($0) })
        try await expectExactUsage(service, organizationA)
        if Self.fairness != .none {
            // Each of A's refusals was a wait for A's own turn, and /metrics counts them.
            let refused = aStatuses.filter { $0 == 503 }.count
            let metrics = try await service.metricsText()
            #expect(metrics.contains("registryd_admission_timeouts_total{lane=\"writes\"} \(refused)\n"))
            #expect(metrics.contains("registryd_admission_waiting{lane=\"writes\"} 0\n"))
            #expect(metrics.contains("registryd_db_listing_connections 1\n"))
        }
    }

    @Test func anotherOrganizationsWritesSucceedWhileOneFloodsCreates() async throws {
        let service = try TestService(poolSize: 4, poolTimeout: .seconds(2), fairness: Self.fairness)
        let organizationA = UUID()
        let a = try service.client(organization: organizationA)
        let b = try service.client()
        let id = try #require(try await b.post(path, ["name": "b-first"]).json["id"] as? String)
        let idle = try await timedWrites(b, id: id, count: 20)

        let flag = FloodControl()
        var flood: [Task<Void, Never>] = []
        for client in 0..<48 {
            flood.append(Task {
                var index = 0
                while flag.running.load(ordering: .relaxed) {
                    index += 1
                    if (try? await a.post(path, ["name": "a-\(client)-\(index)"]).status) == 200 {
                        flag.succeeded.add(1, ordering: .relaxed)
                    }
                }
            })
        }
        let flooding = await eventually(timeout: .seconds(10)) { flag.succeeded.load(ordering: .relaxed) >= 50 }
        #expect(flooding)
        let during = try await timedWrites(b, id: id, count: 40)
        let fetched = try await b.get("\(path)/\(id)").status
        flag.running.store(false, ordering: .relaxed)
        for task in flood { await task.value }

        #expect(during.statuses.allSatisfy { $0 == 200 }, "B's writes during A's flood: \(during.statuses)")
        #expect(fetched == 200)
        try await expectExactUsage(service, organizationA)
        print("fairness[\(Self.fairness == .none ? "none" : "default")] A floods creates: B PATCH p50 idle \(idle.p50) ms, during \(during.p50) ms")
    }

    @Test func anotherOrganizationsReadsAndWritesSucceedWhileOneListsWith64Clients() async throws {
        let service = try TestService(poolSize: 4, poolTimeout: .milliseconds(500), fairness: Self.fairness)
        let organizationA = UUID()
        try await seed(service, organizationA, count: 100_000)
        let a = TestClient(baseURL: service.baseURL, token: try service.client(organization: organizationA).token)
        let b = try service.client()
        let id = try #require(try await b.post(path, ["name": "b-first"]).json["id"] as? String)
        let idle = try await timedReads(b, id: id, count: 40)

        let flag = FloodControl()
        var listers: [Task<Void, Never>] = []
        for client in 0..<64 {
            listers.append(Task {
                var page = client % 20
                while flag.running.load(ordering: .relaxed) {
                    page = page % 20 + 1
                    if (try? await a.get("\(path)?order_by=name_asc&page_size=100&page=\(page)").status) == 200 {
                        flag.succeeded.add(1, ordering: .relaxed)
                    }
                }
            })
        }
        let listing = await eventually(timeout: .seconds(20)) { flag.succeeded.load(ordering: .relaxed) >= 20 }
        #expect(listing)
        let during = try await timedReads(b, id: id, count: 80)
        var writes: [Int] = []
        for index in 0..<5 { writes.append(try await b.patch("\(path)/\(id)", ["description": "while A lists \(index)"]).status) }
        flag.running.store(false, ordering: .relaxed)
        for task in listers { await task.value }

        #expect(during.statuses.allSatisfy { $0 == 200 }, "B's GETs while A lists: \(during.statuses)")
        #expect(writes.allSatisfy { $0 == 200 }, "B's writes while A lists: \(writes)")
        print("fairness[\(Self.fairness == .none ? "none" : "default")] A lists with 64 clients: B GET p50 idle \(idle.p50) ms, during \(during.p50) ms")
    }

    // MARK: - Helpers

    /// Gives `organization` `count` namespaces at once, its usage counter set to match: triggers
    /// are off for the copy (`session_replication_role`), since counting row by row is slow.
    private func seed(_ service: TestService, _ organization: UUID, count: Int) async throws {
        try await blocking { try Self.seed(service, organization, count: count) }
    }

    private static func seed(_ service: TestService, _ organization: UUID, count: Int) throws {
        try service.database.pool.withConnection { connection in
            try connection.withTransaction { connection in
                try connection.execute("SET LOCAL session_replication_role = replica")
                _ = try connection.query(
                    """
                    INSERT INTO namespaces (region, name, organization_id, project_id)
                    SELECT 'fr-par', 'seeded-' || g, $1, $1 FROM generate_series(1, $2::integer) AS g
                    """, [organization, count])
                _ = try connection.query(
                    "INSERT INTO organization_usage (organization_id, namespace_count) VALUES ($1, $2)", [organization, count])
            }
            try connection.execute("ANALYZE namespaces")
        }
    }

    /// Backends of this test's database waiting on a lock now (on a thread of its own, like every
    /// blocking call here: the two cooperative threads are shared with the other suites).
    private func lockWaiters(_ service: TestService) async throws -> Int {
        try await blocking {
            let connection = try Connection(connectionString: service.database.url)
            let result = try connection.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            return Int(try result.first?.int64(0) ?? 0)
        }
    }

    /// Writes waiting in the service for their organization's turn or for a pool connection.
    private func queuedWrites(_ service: TestService) -> Int {
        service.database.pool.statistics.waiting + (service.application.admission.writes?.statistics.waiting ?? 0)
    }

    /// The quota's counter still equals the namespaces A holds.
    private func expectExactUsage(_ service: TestService, _ organization: UUID) async throws {
        let (counted, held) = try await blocking { try service.database.pool.withConnection { connection in
            let usage = try connection.query("SELECT namespace_count FROM organization_usage WHERE organization_id = $1", [organization])
            let rows = try connection.query("SELECT count(*) FROM namespaces WHERE organization_id = $1", [organization])
            return (try usage.first?.int64(0) ?? -1, try rows.first?.int64(0) ?? -2)
        } }
        #expect(counted == held)
    }

    private func timedWrites(_ client: TestClient, id: String, count: Int) async throws -> Timings {
        try await Timings.measure(count) { index in
            try await client.patch("\(path)/\(id)", ["description": "timed \(index)"]).status
        }
    }

    private func timedReads(_ client: TestClient, id: String, count: Int) async throws -> Timings {
        try await Timings.measure(count) { _ in try await client.get("\(path)/\(id)").status }
    }
}

/// Shared by the flooding clients: whether to go on, and how many requests succeeded.
final class FloodControl: Sendable {
    let running = Atomic<Bool>(true)
    let succeeded = Atomic<Int>(0)
}

/// Statuses and latencies of a run of requests sent one after another.
struct Timings {
    var statuses: [Int] = []
    var milliseconds: [Double] = []

    /// The median latency, in milliseconds (printed, never asserted).
    var p50: String {
        let sorted = milliseconds.sorted()
        return sorted.isEmpty ? "-" : String(format: "%.1f", sorted[sorted.count / 2])
    }

    static func measure(_ count: Int, _ request: @Sendable (Int) async throws -> Int) async throws -> Timings {
        try await onDedicatedThreads {
            var timings = Timings()
            for index in 0..<count {
                let started = ContinuousClock.now
                timings.statuses.append(try await request(index))
                timings.milliseconds.append((ContinuousClock.now - started).timeInterval * 1000)
            }
            return timings
        }
    }
}
