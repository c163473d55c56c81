import Foundation
import Postgres
@testable import Registry
import Testing
import TestSupport

/// Image and tag listings (issue 12): every order pages without gaps or repeats, filters and
/// `total_count`, and each order of a namespace's images is read from an index, never sorted.
/// Images are inserted as the registry's events would leave them (no registry is needed to list).
/// Serialized: each case starts a service and a database of its own, and fifteen at once, beside
/// the other suites, crowded the test cluster.
@Suite(.serialized) struct ImageListingTests {
    let service: TestService
    let client: TestClient
    let organization = UUID()
    let base = "/registry/v1/regions/fr-par"

    init() throws {
        service = try TestService()
        client = try service.client(organization: organization)
    }

    /// A namespace of the client's organization holding `count` images with tied creation times
    /// and mixed statuses, two tags each; returns its id.
    private func seed(count: Int) async throws -> String {
        let created = try await client.post("\(base)/namespaces", ["name": "img-\(UUID().uuidString.prefix(8).lowercased())"])
        let namespace = try #require(created.json["id"] as? String)
        try service.database.pool.withConnection { connection in
            try connection.execute("""
                INSERT INTO images (namespace_id, name, status, created_at, size)
                SELECT '\(namespace)', 'app-' || lpad(i::text, 4, '0'), (ARRAY['ready','locked','error'])[1 + i % 3],
                       '2026-01-01'::timestamptz + (i / 3) * interval '1 second', i
                  FROM generate_series(1, \(count)) AS i;
                INSERT INTO tags (image_id, name, digest)
                SELECT i.id, t.name, 'sha256:' || md5(i.name) FROM images i, (VALUES ('latest'), ('v1')) AS t (name)
                 WHERE i.namespace_id = '\(namespace)';
                """)
        }
        return namespace
    }

    @Test(arguments: ContentOrder.allCases)
    func pagesFollowTheOrderWithoutGapsOrRepeats(order: ContentOrder) async throws {
        let namespace = try await seed(count: 25)
        var seen: [[String: Any]] = []
        for page in 1...4 {
            let answer = try await client.get("\(base)/images?namespace_id=\(namespace)&order_by=\(order.rawValue)&page_size=7&page=\(page)")
            #expect(answer.status == 200)
            #expect(answer.json["total_count"] as? Int == 25)
            seen += answer.json["images"] as? [[String: Any]] ?? []
        }
        #expect(seen.count == 25)
        #expect(Set(seen.compactMap { $0["id"] as? String }).count == 25)
        let keys = seen.map { image -> (String, String) in
            let field = switch order {
            case .nameAsc, .nameDesc: "name"
            case .statusAsc, .statusDesc: "status"
            default: "created_at"
            }
            return (image[field] as? String ?? "", image["id"] as? String ?? "")
        }
        let descending = order == .createdAtDesc || order == .nameDesc || order == .statusDesc
        for (earlier, later) in zip(keys, keys.dropFirst()) {
            if earlier.0 == later.0 { continue }  // ties: broken by id in the database's collation of uuid
            #expect(descending ? earlier.0 > later.0 : earlier.0 < later.0, "\(order): \(earlier) then \(later)")
        }
        #expect(seen.allSatisfy { ($0["tags"] as? [String]) == ["latest", "v1"] })
    }

    @Test func filtersAndTagListings() async throws {
        let namespace = try await seed(count: 3)
        let other = try await seed(count: 2)
        #expect(try await client.get("\(base)/images").json["total_count"] as? Int == 5)
        let named = try await client.get("\(base)/images?name=app-0002&namespace_id=\(namespace)")
        let image = try #require((named.json["images"] as? [[String: Any]])?.first)
        #expect(named.json["total_count"] as? Int == 1)
        #expect(image["namespace_id"] as? String == namespace && image["visibility"] as? String == "inherit")
        #expect(try await client.get("\(base)/images?namespace_id=\(other)&page=9").json["images"] as? [Any] != nil)
        let id = try #require(image["id"] as? String)
        let tags = try await client.get("\(base)/images/\(id)/tags?page_size=1&order_by=name_desc")
        #expect(tags.json["total_count"] as? Int == 2)
        #expect((tags.json["tags"] as? [[String: Any]])?.first?["name"] as? String == "v1")
        #expect(try await client.get("\(base)/images/\(id)/tags?name=latest").json["total_count"] as? Int == 1)
        let missing = try await client.get("\(base)/images/\(UUID().uuidString.lowercased())/tags")
        #expect(missing.status == 404 && missing.json["resource"] as? String == "image")
        #expect(try await client.get("\(base)/images?page_size=101").status == 400)
        #expect(try await client.get("\(base)/images?namespace_id=nope").status == 400)
    }

    /// As `NamespaceListingTests.eachOrderIsAnIndexScanWithinAnOrganization`, for one namespace's images.
    @Test(arguments: ContentOrder.allCases)
    func eachOrderOfANamespaceIsAnIndexScan(order: ContentOrder) async throws {
        let namespace = try await seed(count: 3000)
        try service.database.pool.withConnection { try $0.execute("ANALYZE images; ANALYZE tags") }
        let filter = ImageFilter(region: "fr-par", organizationID: organization, namespaceID: UUID(uuidString: namespace)!)
        let (sql, parameters) = ImageRepository.imageListingStatement(filter: filter, page: PageRequest(page: 20, size: 100), order: order)
        let plan: String = try service.database.pool.withConnection { connection in
            try connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
            defer { try? connection.execute("RESET enable_seqscan; RESET enable_bitmapscan") }
            return try connection.query("EXPLAIN (FORMAT JSON) " + sql, parameters)[0].string(0)
        }
        let root = try #require((try JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [[String: Any]])?.first?["Plan"] as? [String: Any])
        let limit = try #require(Self.nodes(in: root).first { $0["Node Type"] as? String == "Limit" })
        let underLimit = Self.nodes(in: limit)
        #expect(!underLimit.contains { $0["Node Type"] as? String == "Sort" }, "a sort under the LIMIT: \(plan)")
        let scans = underLimit.filter { $0["Relation Name"] as? String == "images" }
        #expect(scans.count == 1 && scans.allSatisfy { ($0["Node Type"] as? String ?? "").hasPrefix("Index") }, "\(plan)")
    }

    private static func nodes(in node: [String: Any]) -> [[String: Any]] {
        [node] + ((node["Plans"] as? [[String: Any]]) ?? []).flatMap { nodes(in: $0) }
    }
}
