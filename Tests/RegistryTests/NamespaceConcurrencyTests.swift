import Foundation
import Log
import Registry
import Testing
import TestSupport

/// What concurrent clients see: one winner per name, an exact quota.
@Suite struct NamespaceConcurrencyTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func fiftyConcurrentCreatesOfOneNameGiveOneSuccessAndFortyNineConflicts() async throws {
        let service = try TestService()
        let client = try service.client()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask { try await client.post(path, ["name": "contended-name"]).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 49)
        #expect(try await client.get("\(path)?name=contended-name").json["total_count"] as? Int == 1)
    }

    @Test func quotaHoldsUnderConcurrentCreates() async throws {
        let service = try TestService(quota: 5)
        let organization = UUID()
        let client = try service.client(organization: organization)
        let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for index in 0..<20 {
                group.addTask { try await client.post(path, ["name": "quota-\(index)-ns"]) }
            }
            return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
        }
        #expect(responses.filter { $0.status == 200 }.count == 5)
        let refused = responses.filter { $0.status == 403 }
        #expect(refused.count == 15)
        let body = try #require(refused.first?.json)
        #expect(body["type"] as? String == "quotas_exceeded")
        #expect(body["message"] as? String == "quota(s) exceeded for this resource")
        let detail = (body["details"] as? [[String: Any]])?.first
        #expect(detail?["resource"] as? String == "namespaces")
        #expect(detail?["quota"] as? Int == 5)
        #expect(detail?["current"] as? Int == 5)

        // The quota counts every region, and frees up as soon as a namespace is deleted (a
        // namespace being deleted no longer counts, whether or not the purger has removed it).
        #expect(try await client.post("/registry/v1/regions/nl-ams/namespaces", ["name": "quota-other-region"]).status == 403)
        let first = try #require((try await client.get(path).json["namespaces"] as? [[String: Any]])?.first?["id"] as? String)
        service.purger.stop()
        #expect(try await client.delete("\(path)/\(first)").status == 200)
        #expect(try await client.post(path, ["name": "quota-after-delete"]).status == 200)
        #expect(try await client.post(path, ["name": "quota-full-again"]).status == 403)

        // Another organization has its own quota.
        #expect(try await service.client().post(path, ["name": "other-organization"]).status == 200)
    }
}

/// The second phase of deletes with several service instances on one database.
@Suite struct NamespacePurgeTests {
    @Test func twoPurgersShareTheWorkWithoutErrorsOrDoubleDeletes() async throws {
        let database = try TestDatabase()
        let repository = NamespaceRepository(database: DatabaseAccess(pool: database.pool))
        let logger = Logger(label: "test", level: .error, sink: LogSink.memory())
        try database.pool.withConnection { connection in
            try connection.execute("""
                INSERT INTO namespaces (region, name, organization_id, project_id, status)
                SELECT 'fr-par', 'purge-' || i, gen_random_uuid(), gen_random_uuid(), 'deleting'
                  FROM generate_series(1, 3000) AS i;
                INSERT INTO namespaces (region, name, organization_id, project_id)
                VALUES ('fr-par', 'survivor', gen_random_uuid(), gen_random_uuid())
                """)
        }
        let first = NamespacePurger(repository: repository, logger: logger)
        let second = NamespacePurger(repository: NamespaceRepository(database: DatabaseAccess(pool: database.pool)), logger: logger)
        async let purgedByFirst = blocking { try first.purgeNow() }
        async let purgedBySecond = blocking { try second.purgeNow() }
        let total = try await purgedByFirst + purgedBySecond
        #expect(total == 3000)
        let remaining: [String] = try database.pool.withConnection { connection in
            try connection.query("SELECT name FROM namespaces").rows.map { try $0.string(0) }
        }
        #expect(remaining == ["survivor"])
        let usage: Int64 = try database.pool.withConnection { connection in
            try connection.query("SELECT coalesce(sum(namespace_count), 0)::bigint FROM organization_usage")[0].int64(0)
        }
        #expect(usage == 1)
    }
}
