import Foundation
import Postgres
import Testing
import TestSupport

/// The previous release's queries keep working on this release's schema (README "Migrations",
/// expand/contract): every statement the previous release sends, recorded from a running service
/// in `Tests/Fixtures/release-statements.sql`, must still prepare (tables, columns, types and
/// functions resolve) on a database migrated by this build.
@Suite struct ReleaseStatementsTests {
    static let fixture = TestPostgres.repositoryRoot.appendingPathComponent("Tests/Fixtures/release-statements.sql").path
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func thePreviousReleasesStatementsPrepareOnTheMigratedSchema() throws {
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        let statements = text.components(separatedBy: "\n;\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("--") }
        #expect(statements.count >= 10)
        let database = try TestDatabase()
        let connection = try Connection(connectionString: database.url)
        for (index, statement) in statements.enumerated() {
            do {
                try connection.execute("PREPARE release_\(index) AS \(statement)")
            } catch {
                Issue.record("the previous release's statement no longer prepares: \(error.detail)\n\(statement)")
            }
        }
    }

    /// Records the statements this build sends (run with REGISTRYD_RECORD_STATEMENTS=1 when a
    /// release is cut): a service on a private cluster with `log_statement = 'all'`, driven
    /// through every route, its statements read back from the server log.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["REGISTRYD_RECORD_STATEMENTS"] != nil))
    func recordThisBuildsStatements() async throws {
        let cluster = try PrivateCluster()
        let admin = try Connection(connectionString: cluster.adminURL)
        try admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        try admin.execute("SELECT pg_reload_conf()")
        let service = try TestService(cluster: cluster)
        let client = try service.client()
        let id = try #require(try await client.post(path, ["name": "recorded"]).json["id"] as? String)
        _ = try await client.post(path, ["name": "recorded"])
        _ = try await client.get("\(path)/\(id)")
        for query in ["", "?name=recorded", "?order_by=name_asc", "?order_by=created_at_desc&page=2&page_size=1",
                      "?project_id=\(UUID())", "?organization_id=\(UUID())&name=x&order_by=name_desc"] {
            _ = try await client.get(path + query)
        }
        _ = try await client.patch("\(path)/\(id)", ["description": "changed", "is_public": true])
        _ = try await client.send("DELETE", "\(path)/\(id)")
        try service.purger.purgeNow()
        _ = try await TestClient(baseURL: service.baseURL, token: UUID().uuidString.lowercased()).get(path)
        let log = try String(contentsOfFile: "\(cluster.directory)/server.log", encoding: .utf8)
        let marker = try Regex("LOG:  (execute [^:]+|statement): ")
        var statements: [String] = []
        var current: String?
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("\t") {
                current? += "\n" + line.dropFirst()
                continue
            }
            if let statement = current { statements.append(statement) }
            current = line.firstRange(of: marker).map { String(line[$0.upperBound...]) }
        }
        if let statement = current { statements.append(statement) }
        var seen = Set<String>()
        let recorded = statements.filter { statement in
            let first = statement.uppercased().trimmingCharacters(in: .whitespaces)
            let isQuery = ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains { first.hasPrefix($0) }
            return isQuery && !statement.contains("pg_") && seen.insert(statement).inserted
        }
        let header = "-- Statements of the previous release, recorded by ReleaseStatementsTests.recordThisBuildsStatements.\n"
        try (header + recorded.map { $0 + "\n;\n" }.joined()).write(toFile: Self.fixture, atomically: true, encoding: .utf8)
    }
}
