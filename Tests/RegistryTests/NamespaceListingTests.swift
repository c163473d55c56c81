import Foundation
import Postgres
@testable import Registry
import Testing
import TestSupport

/// Listing: every order, paging, filters, total_count; and the plans PostgreSQL picks for them.
@Suite struct NamespaceListingTests {
    let service: TestService
    let client: TestClient
    let organization = UUID()
    let path = "/registry/v1/regions/fr-par/namespaces"

    init() throws {
        service = try TestService()
        client = try service.client(organization: organization)
    }

    /// Creates namespaces with tied descriptions and mixed statuses; returns them as the API shows them.
    func seed() async throws -> [[String: Any]] {
        let specs: [(String, String)] = [
            ("delta-ns", "b"), ("alpha-ns", "a"), ("echo-ns", ""), ("charlie-ns", "b"),
            ("bravo-ns", "a"), ("golf-ns", "z"), ("foxtrot-ns", "b"),
        ]
        for (name, description) in specs {
            #expect(try await client.post(path, ["name": name, "description": description]).status == 200)
        }
        try service.database.pool.withConnection { connection in
            try connection.execute("UPDATE namespaces SET status = 'locked' WHERE name IN ('golf-ns', 'alpha-ns')")
            try connection.execute("UPDATE namespaces SET status = 'error' WHERE name = 'echo-ns'")
        }
        let all = try await client.get("\(path)?page_size=100").json["namespaces"] as? [[String: Any]] ?? []
        #expect(all.count == specs.count)
        return all
    }

    func expected(_ all: [[String: Any]], _ order: NamespaceOrder) -> [String] {
        func key(_ namespace: [String: Any]) -> String {
            switch order {
            case .createdAtAsc, .createdAtDesc: namespace["created_at"] as! String
            case .nameAsc, .nameDesc: namespace["name"] as! String
            case .descriptionAsc, .descriptionDesc: namespace["description"] as! String
            case .region: namespace["region"] as! String
            case .statusAsc, .statusDesc: namespace["status"] as! String
            }
        }
        let ascending = all.sorted { lhs, rhs in
            let (a, b) = (key(lhs), key(rhs))
            if a != b { return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }
            return (lhs["id"] as! String) < (rhs["id"] as! String)
        }
        let descending = [.createdAtDesc, .nameDesc, .descriptionDesc, .statusDesc].contains(order)
        return (descending ? ascending.reversed() : ascending).map { $0["id"] as! String }
    }

    @Test(arguments: NamespaceOrder.allCases)
    func pagesFollowTheOrderWithoutGapsOrRepeats(order: NamespaceOrder) async throws {
        let all = try await seed()
        var seen: [String] = []
        for page in 1...3 {
            let response = try await client.get("\(path)?order_by=\(order.rawValue)&page=\(page)&page_size=3")
            #expect(response.status == 200)
            #expect(response.json["total_count"] as? Int == 7)
            seen += (response.json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }
        #expect(seen == expected(all, order))
        let pastTheEnd = try await client.get("\(path)?order_by=\(order.rawValue)&page=4&page_size=3")
        #expect(pastTheEnd.status == 200)
        #expect((pastTheEnd.json["namespaces"] as? [Any])?.isEmpty == true)
        #expect(pastTheEnd.json["total_count"] as? Int == 7)
    }

    @Test func defaultOrderIsCreationAscendingAndDefaultPageSizeIs20() async throws {
        for index in 0..<23 { _ = try await client.post(path, ["name": "page-\(index)-ns"]) }
        let first = try await client.get(path)
        let names = (first.json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == (0..<20).map { "page-\($0)-ns" })
        #expect(first.json["total_count"] as? Int == 23)
        let second = try await client.get("\(path)?page=2")
        #expect((second.json["namespaces"] as? [Any])?.count == 3)
    }

    @Test func filtersCombine() async throws {
        let project = UUID().uuidString.lowercased()
        _ = try await client.post(path, ["name": "in-project-a", "project_id": project])
        _ = try await client.post(path, ["name": "in-project-b", "project_id": project])
        _ = try await client.post(path, ["name": "default-project"])

        let byProject = try await client.get("\(path)?project_id=\(project)").json
        #expect(byProject["total_count"] as? Int == 2)
        let byName = try await client.get("\(path)?name=in-project-b").json
        #expect((byName["namespaces"] as? [[String: Any]])?.first?["name"] as? String == "in-project-b")
        #expect(byName["total_count"] as? Int == 1)
        let both = try await client.get("\(path)?name=default-project&project_id=\(project)").json
        #expect(both["total_count"] as? Int == 0)
        let own = try await client.get("\(path)?organization_id=\(organization.uuidString.lowercased())").json
        #expect(own["total_count"] as? Int == 3)
        let noMatch = try await client.get("\(path)?name=NOT%20A%20NAME").json
        #expect(noMatch["total_count"] as? Int == 0)
        let empty = try await client.get("\(path)?name=&project_id=").json
        #expect(empty["total_count"] as? Int == 3)
        let huge = try await client.get("\(path)?name=\(String(repeating: "n", count: 10_000))")
        #expect(huge.status == 200)
        #expect(huge.json["total_count"] as? Int == 0)
        let notUTF8 = try await client.get("\(path)?name=in-project-a%FF")
        #expect(notUTF8.status == 200)
        #expect(notUTF8.json["total_count"] as? Int == 0)
    }

    @Test func pagingArgumentsAreChecked() async throws {
        #expect(try await client.get("\(path)?page_size=100").status == 200)
        #expect(try await client.get("\(path)?page=2147483647&page_size=100").status == 200)
        for (query, name, reason) in [
            ("page=0", "page", "constraint"), ("page=-1", "page", "constraint"), ("page=abc", "page", "format"),
            ("page=99999999999999999999999", "page", "constraint"), ("page=1.5", "page", "format"),
            ("page_size=0", "page_size", "constraint"), ("page_size=101", "page_size", "constraint"),
            ("page_size=ten", "page_size", "format"), ("order_by=size_asc", "order_by", "constraint"),
            ("organization_id=nope", "organization_id", "format"), ("project_id=123", "project_id", "format"),
            ("page=1&page=2", "page", "format"),
        ] {
            let response = try await client.get("\(path)?\(query)")
            #expect(response.status == 400, "\(query)")
            let detail = (response.json["details"] as? [[String: Any]])?.first
            #expect(detail?["argument_name"] as? String == name, "\(query)")
            #expect(detail?["reason"] as? String == reason, "\(query)")
        }
    }

    @Test func unknownQueryParametersAreIgnored() async throws {
        #expect(try await client.get("\(path)?colour=blue&page=1").status == 200)
    }

    // MARK: - Plans

    /// With sequential and bitmap scans disabled, the planner must still find an index that yields
    /// the order: a Sort under the LIMIT would mean that no index serves it. (Left to itself, on
    /// a table whose visibility map is not yet set, it may rightly prefer a bitmap scan and a
    /// top-N sort of one organization's rows; the benchmark measures the steady state.) Both ways
    /// to a page are checked: `OFFSET`, and a keyset continuation (`page_token`).
    @Test(arguments: NamespaceOrder.allCases)
    func eachOrderIsAnIndexScanWithinAnOrganization(order: NamespaceOrder) throws {
        let pool = service.database.pool
        try pool.withConnection { connection in
            try connection.execute("""
                INSERT INTO namespaces (region, name, description, organization_id, project_id, status, created_at)
                SELECT (ARRAY['fr-par','nl-ams','pl-waw'])[1 + i % 3], 'plan-' || i, 'd' || (i % 97),
                       ('00000000-0000-4000-8000-' || lpad((i % 50)::text, 12, '0'))::uuid,
                       ('00000000-0000-4000-8000-' || lpad((i % 50)::text, 12, '0'))::uuid,
                       (ARRAY['ready','locked','error'])[1 + i % 3], now() - i * interval '1 second'
                  FROM generate_series(1, 30000) AS i;
                ANALYZE namespaces;
                """)
        }
        let filter = NamespaceFilter(region: "fr-par", organizationID: UUID(uuidString: "00000000-0000-4000-8000-000000000007")!)
        let key: NamespaceCursor.Key = switch order {
        case .createdAtAsc, .createdAtDesc: .timestamp(1_700_000_000_000_000)
        case .region: .none
        default: .text("m")
        }
        let continuation = NamespaceCursor(organizationID: filter.organizationID, region: "fr-par", order: order, page: 20,
                                           id: UUID(uuidString: "80000000-0000-4000-8000-000000000000")!, key: key)
        for after in [nil, continuation] {  // by OFFSET, and by keyset continuation
            try expectIndexOnlyPage(filter: filter, order: order, after: after)
        }
    }

    private func expectIndexOnlyPage(filter: NamespaceFilter, order: NamespaceOrder, after: NamespaceCursor?) throws {
        let pool = service.database.pool
        let (sql, parameters) = NamespaceRepository.listingStatement(
            filter: filter, page: PageRequest(page: 20, size: 100), order: order, after: after)
        let plan: String = try pool.withConnection { connection in
            try connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
            defer { try? connection.execute("RESET enable_seqscan; RESET enable_bitmapscan") }
            return try connection.query("EXPLAIN (FORMAT JSON) " + sql, parameters)[0].string(0)
        }
        let root = try #require((try JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [[String: Any]])?.first?["Plan"] as? [String: Any])
        let limit = try #require(Self.nodes(in: root).first { $0["Node Type"] as? String == "Limit" })
        let underLimit = Self.nodes(in: limit)
        #expect(!underLimit.contains { $0["Node Type"] as? String == "Sort" }, "a sort under the LIMIT: \(plan)")
        let scans = underLimit.filter { $0["Relation Name"] as? String == "namespaces" }
        #expect(scans.count == 1)
        #expect(scans.allSatisfy { ($0["Node Type"] as? String ?? "").hasPrefix("Index") }, "\(plan)")
        #expect(scans.allSatisfy { ($0["Index Name"] as? String ?? "").hasPrefix("namespaces_listing_") }, "\(plan)")
        #expect(scans.allSatisfy { ($0["Node Type"] as? String) == "Index Only Scan" }, "the page's ids come from the index alone: \(plan)")
        #expect(scans.allSatisfy { $0["Filter"] == nil }, "every condition, a continuation's too, is a seek in the index: \(plan)")
        let countScans = Self.nodes(in: root).filter { $0["Relation Name"] as? String == "namespaces" }
        #expect(countScans.allSatisfy { $0["Node Type"] as? String != "Seq Scan" }, "\(plan)")
    }

    private static func nodes(in node: [String: Any]) -> [[String: Any]] {
        [node] + ((node["Plans"] as? [[String: Any]]) ?? []).flatMap { nodes(in: $0) }
    }
}
