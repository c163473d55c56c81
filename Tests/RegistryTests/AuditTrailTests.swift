import Foundation
import Postgres
import Registry
import Testing
import TestSupport

/// The audit trail: a row for every change, written with it, none for a refused request.
@Suite struct AuditTrailTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func everyNamespaceAndKeyChangeHasOneRecordAndEveryRefusalNone() async throws {
        let service = try TestService()
        service.purger.stop()
        let organization = UUID()
        let key = try service.createKey(organization: organization)
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        let audit = AuditRepository(pool: service.database.pool)

        let created = try await client.send("POST", path, json: ["name": "audit-one"], headers: ["X-Request-Id": "req-create"])
        let id = try #require(created.json["id"] as? String)
        #expect(try await client.send("PATCH", "\(path)/\(id)", json: ["description": "after"],
                                      headers: ["X-Request-Id": "req-patch"]).status == 200)
        #expect(try await client.send("DELETE", "\(path)/\(id)", headers: ["X-Request-Id": "req-delete"]).status == 200)
        let afterChanges = try audit.list(.init(organizationID: organization))

        // Refusals and failures: name taken, unknown id, stale If-Match, a transient state,
        // a replayed idempotent request, and a second delete that changes nothing.
        #expect(try await client.post(path, ["name": "audit-taken"]).status == 200)
        #expect(try await client.post(path, ["name": "audit-taken"]).status == 409)
        #expect(try await client.patch("\(path)/\(UUID().uuidString.lowercased())", ["description": "x"]).status == 404)
        #expect(try await client.patch("\(path)/\(id)", ["description": "x"]).status == 409)
        let other = try #require(try await client.post(path, ["name": "audit-other"]).json["id"] as? String)
        #expect(try await client.send("PATCH", "\(path)/\(other)", json: ["description": "x"], headers: ["If-Match": "\"0\""]).status == 412)
        #expect(try await client.send("POST", path, json: ["name": "audit-idem"], headers: ["Idempotency-Key": "k"]).status == 200)
        #expect(try await client.send("POST", path, json: ["name": "audit-idem"], headers: ["Idempotency-Key": "k"]).status == 200)
        #expect(try await client.delete("\(path)/\(id)").status == 200)
        let all = try audit.list(.init(organizationID: organization))

        #expect(afterChanges.map(\.action) == ["api_key.create", "namespace.create", "namespace.update", "namespace.delete"])
        #expect(afterChanges.dropFirst().map(\.requestID) == ["req-create", "req-patch", "req-delete"])
        #expect(afterChanges.dropFirst().allSatisfy { $0.accessKey == key.key.accessKey && $0.resourceID == id })
        #expect(afterChanges[0].accessKey == nil && afterChanges[0].resourceID == key.key.accessKey)
        #expect(afterChanges[0].after?.contains("secret") == false)
        let update = afterChanges[2]
        #expect(update.before?.contains("\"description\": \"\"") == true)
        #expect(update.after?.contains("\"description\": \"after\"") == true)
        #expect(afterChanges[1].before == nil)
        #expect(afterChanges[3].after?.contains("\"status\": \"deleting\"") == true)
        // Only the three successful creates were added.
        #expect(all.count == afterChanges.count + 3)
        #expect(all.dropFirst(afterChanges.count).allSatisfy { $0.action == "namespace.create" })

        // The purger's final removal and the data plane's counters are bookkeeping, not API changes.
        try service.database.pool.withConnection { try $0.execute("UPDATE namespaces SET size = size + 1") }
        #expect(try service.purger.purgeNow() == 1)
        #expect(try audit.list(.init(organizationID: organization)).count == all.count)

        #expect(try audit.list(.init(resourceID: id)).count == 3)
        #expect(try audit.list(.init(organizationID: organization, since: "2999-01-01T00:00:00Z")).isEmpty)
        let revoked = try APIKeyRepository(pool: service.database.pool).revoke(accessKey: key.key.accessKey)
        #expect(revoked != nil)
        #expect(try audit.list(.init(resourceID: key.key.accessKey)).map(\.action) == ["api_key.create", "api_key.revoke"])
    }

    @Test func aChangeThatFailsAtCommitLeavesNoRecord() async throws {
        let service = try TestService()
        let client = try service.client()
        let before = try AuditRepository(pool: service.database.pool).list(.init()).count
        try service.database.pool.withConnection {
            try $0.execute("ALTER TABLE idempotency_keys ADD CONSTRAINT refuse_all CHECK (status < 0) NOT VALID")
        }
        #expect(try await client.send("POST", path, json: ["name": "audit-rolled-back"], headers: ["Idempotency-Key": "x"]).status == 500)
        #expect(try AuditRepository(pool: service.database.pool).list(.init()).count == before)
    }
}
