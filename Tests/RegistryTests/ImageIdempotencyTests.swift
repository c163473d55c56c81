import Foundation
import Registry
import Testing
import TestSupport

/// Idempotency-Key on the image and tag writes (PATCH image, DELETE image, DELETE tag), against a
/// real service and database.
@Suite struct ImageIdempotencyTests {
    let base = "/registry/v1/regions/fr-par"

    private func count(_ service: TestService, _ sql: String) throws -> Int64 {
        try service.database.pool.withConnection { try $0.query(sql).first?.int64(0) ?? -1 }
    }

    @Test func aSequentialRetryOfEachWriteGetsTheStoredResponseWithoutRunningAgain() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "idem-images")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let path = "\(base)/images/\(id)"
        let tagPath = "\(base)/tags/\(try await pushes.tagID(id, "latest"))"

        let patchKey = ["Idempotency-Key": "patch-image"]
        let patched = try await client.send("PATCH", path, json: ["visibility": "public"], headers: patchKey)
        #expect(patched.status == 200)
        #expect(patched.header("Idempotent-Replayed") == nil)
        let version = try count(service, "SELECT version FROM images")
        let again = try await client.send("PATCH", path, json: ["visibility": "public"], headers: patchKey)
        #expect(again.status == 200)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.body == patched.body)  // same updated_at: it did not run again
        #expect(again.header("ETag") == patched.header("ETag"))
        #expect(try count(service, "SELECT version FROM images") == version)

        for (target, key) in [(tagPath, "delete-tag"), (path, "delete-image")] {
            let deleted = try await client.send("DELETE", target, headers: ["Idempotency-Key": key])
            #expect(deleted.status == 200)
            let retried = try await client.send("DELETE", target, headers: ["Idempotency-Key": key])
            #expect(retried.header("Idempotent-Replayed") == "true")
            #expect(retried.body == deleted.body)
            #expect(retried.header("ETag") == deleted.header("ETag"))
        }
        // The image is gone from the database; the stored answer outlives it.
        try service.database.pool.withConnection { try $0.execute("DELETE FROM images") }
        #expect(try await client.delete(path).status == 404)
        let late = try await client.send("DELETE", path, headers: ["Idempotency-Key": "delete-image"])
        #expect(late.status == 200)
        #expect(late.header("Idempotent-Replayed") == "true")
    }

    @Test func concurrentRequestsWithOneKeyRunOnceAndTheOthersGetTheAnswerOrAConflict() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "idem-image-race")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let tagPath = "\(base)/tags/\(try await pushes.tagID(id, "latest"))"
        let writes: [(String, String, [String: Any]?)] = [
            ("PATCH", "\(base)/images/\(id)", ["visibility": "private"]),
            ("DELETE", tagPath, nil),
            ("DELETE", "\(base)/images/\(id)", nil),
        ]
        for (method, target, body) in writes {
            let key = ["Idempotency-Key": "concurrent-\(method)-\(target.hasSuffix(id) ? "image" : "tag")",
                       "Content-Type": "application/json"]
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<16 {
                    group.addTask { try await client.send(method, target, body: data, headers: key) }
                }
                return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
            }
            let ran = responses.filter { $0.status == 200 && $0.header("Idempotent-Replayed") == nil }
            #expect(ran.count == 1, "\(method) \(target): exactly one request ran")
            #expect(Set(responses.filter { $0.status == 200 }.map(\.body)).count == 1)
            for response in responses where response.status != 200 {
                #expect(response.status == 409)
                #expect(response.json["type"] as? String == "idempotency_key_in_use")
                #expect(response.header("Retry-After") == "1")
            }
            let later = try await client.send(method, target, body: data, headers: key)
            #expect(later.header("Idempotent-Replayed") == "true")
            #expect(later.body == ran.first?.body)
        }
        // One PATCH and one delete mark changed the image; the tag was marked once.
        #expect(try count(service, "SELECT count(*) FROM audit_log WHERE resource_type = 'image' AND request_id IS NOT NULL AND access_key IS DISTINCT FROM 'SCWPUSHER'") == 2)
        #expect(try count(service, "SELECT count(*) FROM audit_log WHERE action = 'tag.delete'") == 1)
    }

    @Test func aKeyReusedForAnotherRequestIs422() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "idem-image-reused")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let key = ["Idempotency-Key": "reused"]
        #expect(try await client.send("PATCH", "\(base)/images/\(id)", json: ["visibility": "public"], headers: key).status == 200)
        let tagPath = "\(base)/tags/\(try await pushes.tagID(id, "latest"))"
        for (method, target, body) in [("PATCH", "\(base)/images/\(id)", ["visibility": "private"] as [String: Any]?),
                                       ("DELETE", "\(base)/images/\(id)", nil), ("DELETE", tagPath, nil)] {
            let response = try await client.send(method, target, body: try body.map { try JSONSerialization.data(withJSONObject: $0) },
                                                 headers: key.merging(["Content-Type": "application/json"]) { $1 })
            #expect(response.status == 422, "\(method) \(target)")
            #expect(response.json["type"] as? String == "idempotency_key_reused")
        }
        let image = try await client.get("\(base)/images/\(id)")
        #expect(image.json["visibility"] as? String == "public")
        #expect(image.json["status"] as? String == "ready")
        #expect(try await client.get(tagPath).json["status"] as? String == "ready")

        // The query is part of the request: the same key on the same path without `force` is
        // another request (422), not a replay of the first one's answer.
        let queried = ["Idempotency-Key": "with-query"]
        let first = try await client.send("DELETE", "\(tagPath)?force=false", headers: queried)
        #expect(first.status == 200, "\(first.status) \(first.json)")
        let withoutQuery = try await client.send("DELETE", tagPath, headers: queried)
        #expect(withoutQuery.status == 422)
        #expect(withoutQuery.json["type"] as? String == "idempotency_key_reused")
        #expect(try await client.send("DELETE", "\(tagPath)?force=false", headers: queried).header("Idempotent-Replayed") == "true")
    }
}
