import Foundation
import Registry
import Testing
import TestSupport
import Threads

/// ETag, If-Match and If-None-Match on namespaces, against a real service and database.
@Suite struct ConditionalRequestTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    private func create(_ client: TestClient, _ name: String) async throws -> (id: String, etag: String) {
        let created = try await client.post(path, ["name": name])
        #expect(created.status == 200)
        let id = try #require(created.json["id"] as? String)
        let etag = try #require(created.header("ETag"))
        return (id, etag)
    }

    @Test func everySingleResourceAnswerCarriesAStrongETagThatChangesWithEveryChange() async throws {
        let service = try TestService()
        let client = try service.client()
        let (id, created) = try await create(client, "etag-changes")
        #expect(created.hasPrefix("\"") && !created.hasPrefix("W/"))
        #expect(try await client.get("\(path)/\(id)").header("ETag") == created)

        let patched = try await client.patch("\(path)/\(id)", ["description": "one"])
        let afterPatch = try #require(patched.header("ETag"))
        #expect(afterPatch != created)
        // The same PATCH again is a change too (updated_at moves): a new tag.
        let again = try #require(try await client.patch("\(path)/\(id)", ["description": "one"]).header("ETag"))
        #expect(again != afterPatch)

        // Two changes in one transaction share one now() and may share one microsecond of
        // clock_timestamp(); the version still moves twice. A change made outside the API (the
        // data plane's size) changes the tag as well.
        try service.database.pool.withConnection { connection in
            try connection.withTransaction { connection in
                try connection.execute("UPDATE namespaces SET size = size + 1 WHERE name = 'etag-changes'")
                try connection.execute("UPDATE namespaces SET size = size + 1 WHERE name = 'etag-changes'")
            }
        }
        let afterSize = try #require(try await client.get("\(path)/\(id)").header("ETag"))
        #expect(afterSize != again)
        #expect(afterSize == EntityTag.strong(version: (Int64(again.dropFirst().dropLast()) ?? 0) + 2))

        let deleted = try await client.delete("\(path)/\(id)")
        #expect(deleted.status == 200)
        #expect(deleted.header("ETag") != afterSize)
    }

    @Test func getWithAMatchingIfNoneMatchAnswers304WithoutBody() async throws {
        let service = try TestService()
        let client = try service.client()
        let (id, etag) = try await create(client, "etag-not-modified")
        for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
            let response = try await client.send("GET", "\(path)/\(id)", headers: ["If-None-Match": header])
            #expect(response.status == 304, "If-None-Match: \(header)")
            #expect(response.body.isEmpty)
            #expect(response.header("ETag") == etag)
        }
        let stale = try await client.send("GET", "\(path)/\(id)", headers: ["If-None-Match": "\"0\""])
        #expect(stale.status == 200)
        #expect(stale.json["id"] as? String == id)
    }

    @Test func patchAndDeleteWithAStaleIfMatchAre412AndChangeNothing() async throws {
        let service = try TestService()
        let client = try service.client()
        let (id, first) = try await create(client, "etag-stale")
        let current = try #require(try await client.patch("\(path)/\(id)", ["description": "new"]).header("ETag"))

        for header in [first, "W/\(current)", "\"not-a-version\""] {
            let patch = try await client.send(
                "PATCH", "\(path)/\(id)", json: ["description": "lost update"], headers: ["If-Match": header])
            #expect(patch.status == 412, "If-Match: \(header)")
            #expect(patch.json["type"] as? String == "precondition_failed")
            #expect(patch.json["resource_id"] as? String == id)
            let delete = try await client.send("DELETE", "\(path)/\(id)", headers: ["If-Match": header])
            #expect(delete.status == 412)
        }
        let unchanged = try await client.get("\(path)/\(id)")
        #expect(unchanged.json["description"] as? String == "new")
        #expect(unchanged.json["status"] as? String == "ready")
        #expect(unchanged.header("ETag") == current)

        // A list naming the current tag, or `*`, matches.
        let patched = try await client.send(
            "PATCH", "\(path)/\(id)", json: ["description": "newer"], headers: ["If-Match": "\(first), \(current)"])
        #expect(patched.status == 200)
        #expect(try await client.send("DELETE", "\(path)/\(id)", headers: ["If-Match": "*"]).status == 200)
        // An unknown namespace stays 404 whatever If-Match says.
        let unknown = try await client.send("DELETE", "\(path)/\(UUID().uuidString.lowercased())", headers: ["If-Match": first])
        #expect(unknown.status == 404)
    }

    @Test func ofConcurrentPatchesWithOneIfMatchExactlyOneWins() async throws {
        let service = try TestService()
        let alice = try service.client()
        let (id, etag) = try await create(alice, "etag-race")
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<12 {
                group.addTask {
                    let response = try await alice.send(
                        "PATCH", "\(path)/\(id)", json: ["description": "writer \(index)"], headers: ["If-Match": etag])
                    return (response.status, "writer \(index)")
                }
            }
            return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
        }
        let winners = statuses.filter { $0.0 == 200 }
        #expect(winners.count == 1)
        #expect(statuses.filter { $0.0 == 412 }.count == 11)
        #expect(try await alice.get("\(path)/\(id)").json["description"] as? String == winners.first?.1)
    }

    /// The race made certain: a second connection holds the namespace's row lock while two
    /// PATCHes with the same If-Match arrive, so both have read the row before either writes. A
    /// check made before the write (read the version, then update) lets both through; the check
    /// inside the UPDATE lets exactly one.
    @Test func twoPatchesHeldAtTheRowLockWithOneIfMatchGiveOneWinner() async throws {
        let service = try TestService(fairness: .none)
        let client = try service.client()
        let (id, etag) = try await create(client, "etag-held")
        let pool = service.database.pool
        let holding = Locked(false)
        let release = Locked(false)
        let holder = Task {
            try await blocking {
                try pool.withConnection { connection in
                    try connection.withTransaction { connection in
                        _ = try connection.query("SELECT 1 FROM namespaces WHERE name = 'etag-held' FOR UPDATE")
                        holding.withLock { $0 = true }
                        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                        while !release.withLock({ $0 }) && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
                    }
                }
            }
        }
        #expect(await eventually { holding.withLock { $0 } })
        async let first = client.send("PATCH", "\(path)/\(id)", json: ["description": "first"], headers: ["If-Match": etag])
        async let second = client.send("PATCH", "\(path)/\(id)", json: ["description": "second"], headers: ["If-Match": etag])
        let bothWaiting = try await eventually(timeout: .seconds(10)) {
            try await pool.run { connection in
                try connection.query("""
                    SELECT count(*) FROM pg_stat_activity
                     WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE namespaces%'
                    """).first?.int64(0) ?? 0
            } >= 2
        }
        #expect(bothWaiting)
        release.withLock { $0 = true }
        try await holder.value
        let statuses = try await [first.status, second.status].sorted()
        #expect(statuses == [200, 412])
    }
}
