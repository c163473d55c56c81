import Foundation
import Postgres
@testable import Registry
import Testing
import TestSupport

/// Keyset continuation (`page_token` / `X-Next-Page-Token`): an addition to the Scaleway listing.
extension NamespaceListingTests {
    /// Walks a listing by tokens from page 1; returns the ids in the order met. `between` runs
    /// before each next page with the ids met so far.
    private func walk(_ query: String, between: ([String]) async throws -> Void = { _ in }) async throws -> [String] {
        var ids: [String] = []
        var response = try await client.get("\(path)?\(query)")
        for _ in 1...100 {
            #expect(response.status == 200, "\(response.text)")
            ids += (response.json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            guard let token = response.header("X-Next-Page-Token") else { return ids }
            try await between(ids)
            response = try await client.get("\(path)?page_token=\(token)&\(query)")
        }
        Issue.record("the walk did not end")
        return ids
    }

    @Test(arguments: NamespaceOrder.allCases)
    func continuationWalksEveryRowOnceInEveryOrder(order: NamespaceOrder) async throws {
        let all = try await seed()
        let walked = try await walk("order_by=\(order.rawValue)&page_size=2")
        #expect(walked == expected(all, order))
        // order_by may be left to the token; page and total_count keep their meaning.
        let first = try await client.get("\(path)?order_by=\(order.rawValue)&page_size=3")
        let token = try #require(first.header("X-Next-Page-Token"))
        let second = try await client.get("\(path)?page_token=\(token)&page_size=3&page=2")
        #expect(second.status == 200)
        #expect(second.json["total_count"] as? Int == 7)
        let byOffset = try await client.get("\(path)?order_by=\(order.rawValue)&page_size=3&page=2")
        #expect((second.json["namespaces"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            == (byOffset.json["namespaces"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        let last = try await client.get("\(path)?order_by=\(order.rawValue)&page_size=7")
        #expect(last.header("X-Next-Page-Token") != nil, "a full page offers a continuation")
        let short = try await client.get("\(path)?order_by=\(order.rawValue)&page_size=8")
        #expect(short.header("X-Next-Page-Token") == nil, "a page that is not full ends the walk")
    }

    /// Rows created and removed while a client walks: every row that exists throughout the walk is
    /// met exactly once, none twice, even when the row a token was made from is gone.
    @Test(arguments: NamespaceOrder.allCases)
    func continuationWalksEveryRowOnceAcrossConcurrentInsertsAndDeletes(order: NamespaceOrder) async throws {
        for index in 0..<24 {
            #expect(try await client.post(path, ["name": "walk-\(index)-ns", "description": "d\(index % 5)"]).status == 200)
        }
        let pool = service.database.pool
        func ids(_ sql: String) throws -> [String] {
            try pool.withConnection { connection in
                try connection.query(sql, []).rows.map { try $0.uuid(0).uuidString.lowercased() }
            }
        }
        let original = Set(try ids("SELECT id FROM namespaces WHERE name LIKE 'walk-%'"))
        var removed: Set<String> = []
        var pages = 0
        let walked = try await walk("order_by=\(order.rawValue)&page_size=4") { met in
            // Between pages: two creates (whose names sort anywhere), and the removal of a row
            // already met (the token's own row, the last of the page) and of one not met yet.
            pages += 1
            for extra in 0..<2 {
                _ = try await client.post(path, ["name": "new-\(pages)-\(extra)-ns", "description": "d\(pages % 5)"])
            }
            let listed = try await client.get("\(path)?order_by=\(order.rawValue)&page_size=100").json
            let all = (listed["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            let unseen = all.filter { original.contains($0) && !met.contains($0) }.dropFirst().first
            for id in [met.last, unseen].compactMap({ $0 }) {
                removed.insert(id)
                _ = try ids("DELETE FROM namespaces WHERE id = '\(id)' RETURNING id")
            }
        }
        #expect(pages >= 5 && removed.count > pages, "the walk ran across changes")
        #expect(Set(walked).count == walked.count, "a row met twice: \(walked)")
        let survivors = original.subtracting(removed)
        #expect(survivors.isSubset(of: Set(walked)), "rows missed: \(survivors.subtracting(walked))")
    }

    @Test func malformedOrForeignTokensAreInvalidArguments() async throws {
        for index in 0..<3 { _ = try await client.post(path, ["name": "tok-\(index)-ns"]) }
        let own = try #require(try await client.get("\(path)?page_size=1").header("X-Next-Page-Token"))
        let other = try service.client(organization: UUID())
        _ = try await other.post(path, ["name": "foreign-ns"])
        _ = try await other.post(path, ["name": "foreign-2-ns"])
        let foreign = try #require(try await other.get("\(path)?page_size=1").header("X-Next-Page-Token"))
        _ = try await client.post("/registry/v1/regions/nl-ams/namespaces", ["name": "ams-1-ns"])
        _ = try await client.post("/registry/v1/regions/nl-ams/namespaces", ["name": "ams-2-ns"])
        let amsterdam = try #require(
            try await client.get("/registry/v1/regions/nl-ams/namespaces?page_size=1").header("X-Next-Page-Token"))
        let cursor = try #require(NamespaceCursor(token: own))
        func forged(_ order: NamespaceOrder, _ key: NamespaceCursor.Key, page: Int = 2) -> String {
            NamespaceCursor(organizationID: cursor.organizationID, region: "fr-par", order: order, page: page,
                            id: cursor.id, key: key).token
        }
        for (query, name, reason) in [
            ("page_token=not-a-token", "page_token", "format"),
            ("page_token=%2B%2F%3D", "page_token", "format"),
            ("page_token=\(String(repeating: "A", count: 3000))", "page_token", "format"),
            ("page_token=\(String(own.prefix(40)))", "page_token", "format"),
            ("page_token=\(forged(.createdAtAsc, .timestamp(.max)))", "page_token", "format"),
            ("page_token=\(forged(.createdAtAsc, .text("x")))", "page_token", "format"),
            ("page_token=\(forged(.nameAsc, .timestamp(0)))", "page_token", "format"),
            ("page_token=\(forged(.region, .text("fr-par")))", "page_token", "format"),
            ("page_token=\(forged(.nameAsc, .text("a"), page: 1))", "page_token", "format"),
            ("page_token=\(foreign)", "page_token", "constraint"),
            ("page_token=\(amsterdam)", "page_token", "constraint"),
            ("page_token=\(own)&order_by=name_asc", "order_by", "constraint"),
            ("page_token=\(own)&page=3", "page", "constraint"),
            ("page_token=\(own)&page_token=\(own)", "page_token", "format"),
        ] {
            let response = try await client.get("\(path)?\(query)")
            #expect(response.status == 400, "\(query)")
            #expect(response.json["type"] as? String == "invalid_arguments", "\(query)")
            let detail = (response.json["details"] as? [[String: Any]])?.first
            #expect(detail?["argument_name"] as? String == name, "\(query)")
            #expect(detail?["reason"] as? String == reason, "\(query)")
        }
        // A repeated or malformed page is reported once, not again as a mismatch with the token.
        let repeated = try await client.get("\(path)?page_token=\(own)&page=2&page=2&order_by=x")
        #expect((repeated.json["details"] as? [[String: Any]])?.compactMap { $0["argument_name"] as? String } == ["page", "order_by"])
        // The token's own order and page, repeated, are accepted; so is a forged but well-formed key.
        #expect(try await client.get("\(path)?page_token=\(own)&order_by=created_at_asc&page=2").status == 200)
        #expect(try await client.get("\(path)?page_token=\(forged(.nameDesc, .text("\u{1F600}\n|")))").status == 200)
    }
}
