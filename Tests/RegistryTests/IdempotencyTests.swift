import Foundation
import Registry
import Testing
import TestSupport

/// Idempotency-Key on every write, against a real service and database.
@Suite struct IdempotencyTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    private func count(_ service: TestService, _ sql: String) throws -> Int64 {
        try service.database.pool.withConnection { try $0.query(sql).first?.int64(0) ?? -1 }
    }

    @Test func aSequentialRetryOfEachWriteGetsTheStoredResponseWithoutRunningAgain() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let key = ["Idempotency-Key": "create-1"]
        let first = try await client.send("POST", path, json: ["name": "idem-create"], headers: key)
        #expect(first.status == 200)
        #expect(first.header("Idempotent-Replayed") == nil)
        let retry = try await client.send("POST", path, json: ["name": "idem-create"], headers: key)
        #expect(retry.status == 200)  // not 409: the caller's own namespace
        #expect(retry.header("Idempotent-Replayed") == "true")
        #expect(retry.body == first.body)
        #expect(retry.header("ETag") == first.header("ETag"))
        #expect(try count(service, "SELECT count(*) FROM namespaces") == 1)
        let id = try #require(first.json["id"] as? String)

        let patchKey = ["Idempotency-Key": "\"patch-1\""]  // the draft's Structured Field form
        let patched = try await client.send("PATCH", "\(path)/\(id)", json: ["description": "x"], headers: patchKey)
        #expect(patched.status == 200)
        let patchedAgain = try await client.send("PATCH", "\(path)/\(id)", json: ["description": "x"], headers: ["Idempotency-Key": "patch-1"])
        #expect(patchedAgain.header("Idempotent-Replayed") == "true")
        #expect(patchedAgain.body == patched.body)  // same updated_at: it did not run again
        #expect(try await client.get("\(path)/\(id)").header("ETag") == patched.header("ETag"))

        let deleteKey = ["Idempotency-Key": "delete-1"]
        let deleted = try await client.send("DELETE", "\(path)/\(id)", headers: deleteKey)
        #expect(deleted.status == 200)
        #expect(try service.purger.purgeNow() == 1)
        #expect(try await client.delete("\(path)/\(id)").status == 404)  // gone, without a key
        let deletedAgain = try await client.send("DELETE", "\(path)/\(id)", headers: deleteKey)
        #expect(deletedAgain.status == 200)
        #expect(deletedAgain.header("Idempotent-Replayed") == "true")
        #expect(deletedAgain.body == deleted.body)
    }

    @Test func concurrentRequestsWithOneKeyRunOnceAndTheOthersGetTheAnswerOrAConflict() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let created = try await client.post(path, ["name": "idem-concurrent"])
        let id = try #require(created.json["id"] as? String)
        let writes: [(String, String, [String: Any]?)] = [
            ("POST", path, ["name": "idem-concurrent-new"]),
            ("PATCH", "\(path)/\(id)", ["description": "once"]),
            ("DELETE", "\(path)/\(id)", nil),
        ]
        for (method, target, body) in writes {
            let key = ["Idempotency-Key": "concurrent-\(method)", "Content-Type": "application/json"]
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<16 {
                    group.addTask { try await client.send(method, target, body: data, headers: key) }
                }
                return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
            }
            let ran = responses.filter { $0.status == 200 && $0.header("Idempotent-Replayed") == nil }
            #expect(ran.count == 1, "\(method): exactly one request ran")
            let answered = responses.filter { $0.status == 200 }
            #expect(Set(answered.map(\.body)).count == 1, "\(method): every 200 is the same answer")
            for response in responses where response.status != 200 {
                #expect(response.status == 409)
                #expect(response.json["type"] as? String == "idempotency_key_in_use")
                #expect(response.header("Retry-After") == "1")
            }
            // Once the first has finished, a retry always gets its answer.
            let later = try await client.send(method, target, body: data, headers: key)
            #expect(later.header("Idempotent-Replayed") == "true")
            #expect(later.body == ran.first?.body)
        }
        #expect(try count(service, "SELECT count(*) FROM namespaces WHERE name = 'idem-concurrent-new'") == 1)
        #expect(try count(service, "SELECT version FROM namespaces WHERE name = 'idem-concurrent'") == 3)  // one PATCH, one delete
    }

    @Test func aKeyReusedForAnotherRequestIs422AndKeysBelongToOneOrganization() async throws {
        let service = try TestService()
        let client = try service.client()
        let key = ["Idempotency-Key": "reused"]
        let first = try await client.send("POST", path, json: ["name": "idem-reused"], headers: key)
        #expect(first.status == 200)
        let id = try #require(first.json["id"] as? String)
        for (method, target, body) in [("POST", path, ["name": "idem-other"]),
                                       ("PATCH", "\(path)/\(id)", ["description": "x"]),
                                       ("POST", "/registry/v1/regions/nl-ams/namespaces", ["name": "idem-reused"])] {
            let response = try await client.send(method, target, json: body, headers: key)
            #expect(response.status == 422, "\(method) \(target)")
            #expect(response.json["type"] as? String == "idempotency_key_reused")
        }
        #expect(try count(service, "SELECT count(*) FROM namespaces") == 1)
        // Another organization's key of the same name is its own.
        let stranger = try await service.client().send("POST", path, json: ["name": "idem-stranger"], headers: key)
        #expect(stranger.status == 200)
        #expect(stranger.header("Idempotent-Replayed") == nil)
    }

    @Test func aMalformedKeyIsInvalidArguments() async throws {
        let service = try TestService()
        let client = try service.client()
        for bad in [String(repeating: "k", count: 256), "clé", "\"a\"b\"", "tab\there"] {
            let response = try await client.send("POST", path, json: ["name": "idem-malformed"], headers: ["Idempotency-Key": bad])
            #expect(response.status == 400, "\(bad)")
            #expect(response.json["type"] as? String == "invalid_arguments")
            #expect((response.json["details"] as? [[String: Any]])?.first?["argument_name"] as? String == "Idempotency-Key")
        }
        #expect(try count(service, "SELECT count(*) FROM namespaces") == 0)
        let longest = String(repeating: "k", count: 255)
        #expect(try await client.send("POST", path, json: ["name": "idem-longest"], headers: ["Idempotency-Key": longest]).status == 200)
    }

    @Test func aFailedRequestStoresNothingAndAnExpiredKeyRunsAgainAndIsPruned() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let missing = try await client.send(
            "PATCH", "\(path)/\(UUID().uuidString.lowercased())", json: ["description": "x"], headers: ["Idempotency-Key": "failed"])
        #expect(missing.status == 404)
        #expect(try count(service, "SELECT count(*) FROM idempotency_keys") == 0)

        let key = ["Idempotency-Key": "expiring"]
        #expect(try await client.send("POST", path, json: ["name": "idem-expiring"], headers: key).status == 200)
        try service.database.pool.withConnection {
            try $0.execute("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 second'")
        }
        // Past 24 h the key names nothing: the same request runs again (and the name is taken).
        let rerun = try await client.send("POST", path, json: ["name": "idem-expiring"], headers: key)
        #expect(rerun.status == 409)
        #expect(rerun.json["type"] as? String == "conflict")
        #expect(try service.purger.pruneIdempotencyKeys() == 1)
        #expect(try count(service, "SELECT count(*) FROM idempotency_keys") == 0)
        // ... and may name a new request.
        #expect(try await client.send("POST", path, json: ["name": "idem-reborn"], headers: key).status == 200)
        #expect(try service.purger.pruneIdempotencyKeys() == 0)
    }

    @Test func theChangeAndItsStoredResponseCommitTogetherOrNotAtAll() async throws {
        let service = try TestService()
        let client = try service.client()
        // A real fault from a second connection: storing the response now fails.
        try service.database.pool.withConnection {
            try $0.execute("ALTER TABLE idempotency_keys ADD CONSTRAINT refuse_all CHECK (status < 0) NOT VALID")
        }
        let failed = try await client.send("POST", path, json: ["name": "idem-atomic"], headers: ["Idempotency-Key": "atomic"])
        #expect(failed.status == 500)
        #expect(try count(service, "SELECT count(*) FROM namespaces") == 0)  // the change rolled back with it
        try service.database.pool.withConnection { try $0.execute("ALTER TABLE idempotency_keys DROP CONSTRAINT refuse_all") }
        let retried = try await client.send("POST", path, json: ["name": "idem-atomic"], headers: ["Idempotency-Key": "atomic"])
        #expect(retried.status == 200)
        #expect(retried.header("Idempotent-Replayed") == nil)
    }
}
