import Foundation
import Postgres
import Registry
import Testing
import TestSupport

/// Unknown tokens are remembered briefly and boundedly: a retried wrong token is not a database
/// read per request, and a key that appears later still works soon.
@Suite struct AuthenticationCacheTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    /// The value of an unlabelled sample in `/metrics`.
    private static func sample(_ name: String, in service: TestService) async throws -> Int {
        let text = try await TestClient(baseURL: service.baseURL).get("/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("\(name) ") }
        return Int(line?.split(separator: " ").last ?? "") ?? -1
    }

    @Test func oneUnknownTokenReachesTheDatabaseOncePerNegativeLifetime() async throws {
        // Probes every 30 s: the read pipeline then carries nothing but the lookups below.
        let service = try TestService(authMissLifetime: .seconds(60), readinessInterval: .seconds(30))
        let stranger = TestClient(baseURL: service.baseURL, token: UUID().uuidString.lowercased())
        let lookupsBefore = try await Self.sample("registryd_auth_lookups_total", in: service)
        let statementsBefore = try await Self.sample("registryd_db_pipeline_statements_total", in: service)
        for _ in 0..<300 {
            #expect(try await stranger.get(path).status == 401)
        }
        #expect(try await Self.sample("registryd_auth_lookups_total", in: service) - lookupsBefore == 1)
        // What PostgreSQL was sent, as the pipeline counts it: one lookup, not 300.
        #expect(try await Self.sample("registryd_db_pipeline_statements_total", in: service) - statementsBefore <= 2)
    }

    @Test func aKeyThatAppearsAfterAMissWorksWithinTheNegativeLifetime() async throws {
        let service = try TestService(authMissLifetime: .milliseconds(500))
        let key = try service.createKey(organization: UUID())
        // Hide the key, try it (a miss, remembered), then bring it back as if just created.
        try service.database.pool.withConnection { try $0.execute("UPDATE api_keys SET secret_sha256 = repeat('0', 64)") }
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        #expect(try await client.get(path).status == 401)
        try service.database.pool.withConnection { connection in
            try connection.query("UPDATE api_keys SET secret_sha256 = $1", [APIKeyFormat.digest(ofSecret: key.secretKey)])
        }
        #expect(await eventually(timeout: .seconds(3)) { (try? await client.get(path).status) == 200 })
    }

    @Test func manyDistinctUnknownTokensKeepTheNegativeCacheBounded() async throws {
        let service = try TestService()
        let authenticator = Authenticator(repository: APIKeyRepository(database: DatabaseAccess(pool: service.database.pool)),
                                          missLifetime: .seconds(60), maximumMisses: 100)
        var last = ""
        for _ in 0..<1000 {
            last = UUID().uuidString.lowercased()
            await #expect(throws: APIError.self) { try await authenticator.authenticate(token: last) }
            #expect(authenticator.rememberedMisses <= 100)
        }
        #expect(authenticator.databaseLookups == 1000)
        await #expect(throws: APIError.self) { try await authenticator.authenticate(token: last) }
        #expect(authenticator.databaseLookups == 1000)
    }
}
