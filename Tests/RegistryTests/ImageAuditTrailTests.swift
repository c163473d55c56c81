import Foundation
import Postgres
import Registry
import Testing
import TestSupport

/// The audit trail of images and tags: one record for every change the API made and for every
/// push the registry reported, none for a refused request or the service's bookkeeping.
@Suite struct ImageAuditTrailTests {
    let base = "/registry/v1/regions/fr-par"

    @Test func everyImageAndTagChangeHasOneRecordAndEveryRefusalNone() async throws {
        let service = try TestService()
        service.purger.stop()
        let organization = UUID()
        let key = try service.createKey(organization: organization)
        let client = TestClient(baseURL: service.baseURL, token: key.secretKey)
        let audit = AuditRepository(pool: service.database.pool)
        let pushes = try await ImagePushes(service: service, client: client, namespace: "audit-images")
        let before = try audit.list(.init(organizationID: organization)).count  // the key and the namespace

        // Pushes: a new image with a tag, a second tag, a tag moved, a tag removed in the registry.
        try await pushes.push("app", tag: "v1", digest: "sha256:one", actor: key.key.accessKey, requestID: "reg-1")
        try await pushes.push("app", tag: "v2", digest: "sha256:one", actor: key.key.accessKey, requestID: "reg-2")
        try await pushes.push("app", tag: "v2", digest: "sha256:two", actor: key.key.accessKey, requestID: "reg-3")
        try await pushes.push("app", tag: "v3", digest: "sha256:three", actor: key.key.accessKey, requestID: "reg-4")
        try await pushes.untag("app", tag: "v3", actor: key.key.accessKey)
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let v1 = try await pushes.tagID(id, "v1")
        let v2 = try await pushes.tagID(id, "v2")
        let pushed = try audit.list(.init(organizationID: organization)).dropFirst(before)
        #expect(pushed.map(\.action) == ["image.push", "tag.push", "tag.push", "tag.update", "tag.push", "tag.delete"])
        #expect(pushed.allSatisfy { $0.accessKey == key.key.accessKey })
        #expect(Array(pushed.prefix(5).map(\.requestID)) == ["reg-1", "reg-1", "reg-2", "reg-3", "reg-4"])
        #expect(pushed.first?.resourceID == id && pushed.first?.resourceType == "image")
        let moved = pushed[pushed.startIndex + 3]
        #expect(moved.resourceID == v2 && moved.before?.contains("sha256:one") == true && moved.after?.contains("sha256:two") == true)
        #expect(pushed.last?.after == nil && pushed.last?.before?.contains("\"v3\"") == true)

        // API changes.
        #expect(try await client.send("PATCH", "\(base)/images/\(id)", json: ["visibility": "public"],
                                      headers: ["X-Request-Id": "req-patch"]).status == 200)
        #expect(try await client.send("DELETE", "\(base)/tags/\(v1)", headers: ["X-Request-Id": "req-tag"]).status == 200)
        #expect(try await client.send("DELETE", "\(base)/images/\(id)", headers: ["X-Request-Id": "req-image"]).status == 200)
        let changed = try audit.list(.init(organizationID: organization)).dropFirst(before + pushed.count)
        #expect(changed.map(\.action) == ["image.update", "tag.delete", "image.delete"])
        #expect(changed.map(\.requestID) == ["req-patch", "req-tag", "req-image"])
        #expect(changed.map(\.resourceID) == [id, v1, id])
        #expect(changed.allSatisfy { $0.accessKey == key.key.accessKey && $0.organizationID == organization })
        let update = changed[changed.startIndex]
        #expect(update.before?.contains("\"visibility\": \"inherit\"") == true)
        #expect(update.after?.contains("\"visibility\": \"public\"") == true)
        #expect(changed.last?.after?.contains("\"status\": \"deleting\"") == true)
        let recorded = try audit.list(.init(organizationID: organization)).count

        // Refusals: unknown ids (404), a deleting image (409), stale If-Match (412), a tag
        // sharing its digest (412), a replayed request, a second delete that changes nothing.
        let other = try await ImagePushes(service: service, client: client, namespace: "audit-refusals")
        try await other.push("web", tag: "a", digest: "sha256:shared", actor: nil)
        try await other.push("web", tag: "b", digest: "sha256:shared", actor: nil)
        let web = try #require(try await other.image("web")["id"] as? String)
        let webTag = try await other.tagID(web, "a")
        let afterSetup = try audit.list(.init(organizationID: organization)).count
        #expect(afterSetup == recorded + 4)  // namespace.create, image.push, tag.push x2: nothing for the counters
        let unknown = UUID().uuidString.lowercased()
        #expect(try await client.patch("\(base)/images/\(unknown)", ["visibility": "public"]).status == 404)
        #expect(try await client.delete("\(base)/images/\(unknown)").status == 404)
        #expect(try await client.delete("\(base)/tags/\(unknown)").status == 404)
        #expect(try await client.patch("\(base)/images/\(id)", ["visibility": "private"]).status == 409)
        #expect(try await client.send("PATCH", "\(base)/images/\(web)", json: ["visibility": "private"],
                                      headers: ["If-Match": "\"0\""]).status == 412)
        #expect(try await client.send("DELETE", "\(base)/tags/\(webTag)", headers: ["If-Match": "\"0\""]).status == 412)
        #expect(try await client.delete("\(base)/tags/\(webTag)").status == 412)  // b shares the digest
        #expect(try await client.delete("\(base)/images/\(id)").status == 200)  // already deleting: no change
        #expect(try await client.send("PATCH", "\(base)/images/\(web)", json: ["visibility": "private"],
                                      headers: ["Idempotency-Key": "once"]).status == 200)
        #expect(try await client.send("PATCH", "\(base)/images/\(web)", json: ["visibility": "private"],
                                      headers: ["Idempotency-Key": "once"]).header("Idempotent-Replayed") == "true")
        let all = try audit.list(.init(organizationID: organization))
        #expect(all.count == afterSetup + 1)
        #expect(all.last?.action == "image.update" && all.last?.resourceID == web)

        // `registryd audit list --resource-id <image id>` reads this filter.
        #expect(try audit.list(.init(resourceID: id)).map(\.action) == ["image.push", "image.update", "image.delete"])
        // The reconciler's removal of what the API marked is bookkeeping: the mark was recorded.
        try service.database.pool.withConnection { try $0.execute("DELETE FROM tags; DELETE FROM images") }
        #expect(try audit.list(.init(organizationID: organization)).count == all.count)
    }
}
