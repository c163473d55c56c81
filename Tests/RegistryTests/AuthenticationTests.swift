import Foundation
import Postgres
import Registry
import Testing
import TestSupport

/// API keys: each 401 reason, revocation and expiry, and secrets never kept in clear.
@Suite struct AuthenticationTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    private func expectDenied(_ response: TestResponse, reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 401, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.json["type"] as? String == "denied_authentication", sourceLocation: sourceLocation)
        #expect(response.json["message"] as? String == "authentication is denied", sourceLocation: sourceLocation)
        #expect(response.json["method"] as? String == "api_key", sourceLocation: sourceLocation)
        #expect(response.json["reason"] as? String == reason, sourceLocation: sourceLocation)
    }

    @Test func everyEndpointNeedsAToken() async throws {
        let service = try TestService()
        let anonymous = TestClient(baseURL: service.baseURL)
        let item = "\(path)/\(UUID().uuidString.lowercased())"
        expectDenied(try await anonymous.get(path), reason: "invalid_argument")
        expectDenied(try await anonymous.post(path, ["name": "no-token"]), reason: "invalid_argument")
        expectDenied(try await anonymous.get(item), reason: "invalid_argument")
        expectDenied(try await anonymous.patch(item, ["description": "x"]), reason: "invalid_argument")
        expectDenied(try await anonymous.delete(item), reason: "invalid_argument")
    }

    @Test func malformedAndUnknownTokensAreDenied() async throws {
        let service = try TestService()
        expectDenied(try await TestClient(baseURL: service.baseURL, token: "not-a-secret").get(path), reason: "invalid_argument")
        expectDenied(try await TestClient(baseURL: service.baseURL, token: "").get(path), reason: "invalid_argument")
        expectDenied(try await TestClient(baseURL: service.baseURL, token: UUID().uuidString.lowercased()).get(path), reason: "not_found")
        expectDenied(try await TestClient(baseURL: service.baseURL, token: String(repeating: "f", count: 10_000)).get(path),
                     reason: "invalid_argument")
    }

    @Test func secretKeysCompareWithoutRegardToCase() async throws {
        let service = try TestService()
        let key = try service.createKey(organization: UUID())
        #expect(try await TestClient(baseURL: service.baseURL, token: key.secretKey.uppercased()).get(path).status == 200)
    }

    @Test func revokedKeyIsDeniedOnceTheCacheLifetimeHasPassed() async throws {
        let service = try TestService(authCacheLifetime: .milliseconds(200))
        let key = try service.createKey(organization: UUID())
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        #expect(try await client.get(path).status == 200)
        #expect(try APIKeyRepository(pool: service.database.pool).revoke(accessKey: key.key.accessKey) != nil)
        let denied = try await onDedicatedThreads {
            try await eventually(timeout: .seconds(2)) { try await client.get(path).status == 401 }
        }
        #expect(denied)
        expectDenied(try await client.get(path), reason: "not_found")
    }

    @Test func expiredKeyIsDeniedAsExpired() async throws {
        let service = try TestService()
        let expired = try service.createKey(organization: UUID(), expiresIn: .seconds(-1))
        expectDenied(try await TestClient(baseURL: service.baseURL, token: expired.secretKey).get(path), reason: "expired")
    }

    @Test func cachedKeyStopsWorkingWhenItExpires() async throws {
        let service = try TestService(authCacheLifetime: .seconds(60))
        let key = try service.createKey(organization: UUID(), expiresIn: .seconds(3))
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        #expect(try await client.get(path).status == 200)
        let expired = try await eventually(timeout: .seconds(10)) { try await client.get(path).status == 401 }
        #expect(expired)
        expectDenied(try await client.get(path), reason: "expired")
    }

    @Test func keysHaveTheShapesTheSDKsCheck() throws {
        let service = try TestService()
        let key = try service.createKey(organization: UUID())
        #expect(key.key.accessKey.wholeMatch(of: /SCW[A-Z0-9]{17}/) != nil)
        #expect(key.secretKey.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
    }

    @Test func secretIsNeverStoredOrLoggedInClear() async throws {
        let service = try TestService()
        let key = try service.createKey(organization: UUID())
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        _ = try await client.post(path, ["name": "secret-check"])
        _ = try await client.get("\(path)/\(UUID().uuidString)")
        let dump: String = try service.database.pool.withConnection { connection in
            try connection.query("SELECT string_agg(t::text, ' ') FROM api_keys t")[0].string(0)
        }
        #expect(!dump.contains(key.secretKey))
        #expect(dump.contains(APIKeyFormat.digest(ofSecret: key.secretKey)))
        _ = await eventually { service.logs.lines.count >= 2 }
        #expect(!service.logs.lines.isEmpty)
        #expect(service.logs.lines.allSatisfy { !$0.contains(key.secretKey) })
    }

    @Test func healthyKeyIsNotLookedUpOnEveryRequest() async throws {
        let service = try TestService(authCacheLifetime: .seconds(60))
        let key = try service.createKey(organization: UUID())
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        #expect(try await client.get(path).status == 200)
        // Remove the key behind the cache's back: within the lifetime, the cached key still works.
        try service.database.pool.withConnection { connection in
            try connection.execute("DELETE FROM api_keys")
        }
        #expect(try await client.get(path).status == 200)
    }
}
