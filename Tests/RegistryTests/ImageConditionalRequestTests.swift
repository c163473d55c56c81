import Foundation
import Registry
import Testing
import TestSupport
import Threads

/// ETag, If-Match and If-None-Match on images and tags, against a real service and database,
/// with images and tags pushed through the event receiver's statement.
@Suite struct ImageConditionalRequestTests {
    let base = "/registry/v1/regions/fr-par"

    @Test func imageAndTagETagsChangeWithEveryChangeIncludingPushes() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "etag-images")
        try await pushes.push("app", tag: "v1", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let path = "\(base)/images/\(id)"

        let first = try await client.get(path)
        let created = try #require(first.header("ETag"))
        #expect(created.hasPrefix("\"") && !created.hasPrefix("W/"))
        var seen: [String] = [created]
        func expectNew(_ etag: String?, _ what: String) throws {
            let etag = try #require(etag, "\(what): an ETag")
            #expect(!seen.contains(etag), "\(what): a new ETag")
            seen.append(etag)
        }

        let patched = try await client.patch(path, ["visibility": "public"])
        try expectNew(patched.header("ETag"), "PATCH")
        #expect(try await client.get(path).header("ETag") == patched.header("ETag"))
        // A PATCH that changes nothing answers the image and its current ETag.
        #expect(try await client.patch(path, [:]).header("ETag") == patched.header("ETag"))

        try await pushes.push("app", tag: "v2", digest: "sha256:one")  // a new tag on a known manifest: same size
        let tagged = try await client.get(path)
        #expect(tagged.json["tags"] as? [String] == ["v1", "v2"])
        try expectNew(tagged.header("ETag"), "new tag")

        let tagPath = "\(base)/tags/\(try await pushes.tagID(id, "v1"))"
        let tagBefore = try #require(try await client.get(tagPath).header("ETag"))
        try await pushes.push("app", tag: "v1", digest: "sha256:two", size: 99)  // v1 moves: a new size
        let moved = try await client.get(path)
        #expect(moved.json["size"] as? Int == 109)
        try expectNew(moved.header("ETag"), "tag moved")
        let tagAfter = try await client.get(tagPath)
        #expect(tagAfter.json["digest"] as? String == "sha256:two")
        #expect(tagAfter.header("ETag") != tagBefore)

        try await pushes.untag("app", tag: "v2")  // no size change: only the tag list moves
        try expectNew(try await client.get(path).header("ETag"), "tag removed")

        let deletedTag = try await client.delete(tagPath)
        #expect(deletedTag.status == 200)
        #expect(deletedTag.header("ETag") != tagAfter.header("ETag"))
        let deleted = try await client.delete(path)
        #expect(deleted.status == 200)
        try expectNew(deleted.header("ETag"), "DELETE")
    }

    @Test func getWithAMatchingIfNoneMatchAnswers304WithoutBody() async throws {
        let service = try TestService()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "etag-304")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        for path in ["\(base)/images/\(id)", "\(base)/tags/\(try await pushes.tagID(id, "latest"))"] {
            let etag = try #require(try await client.get(path).header("ETag"))
            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let response = try await client.send("GET", path, headers: ["If-None-Match": header])
                #expect(response.status == 304, "\(path) If-None-Match: \(header)")
                #expect(response.body.isEmpty)
                #expect(response.header("ETag") == etag)
            }
            let stale = try await client.send("GET", path, headers: ["If-None-Match": "\"0\""])
            #expect(stale.status == 200)
            #expect(stale.json["id"] != nil)
        }
    }

    @Test func patchAndDeletesWithAStaleIfMatchAre412AndChangeNothing() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "etag-stale")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let path = "\(base)/images/\(id)"
        let tagID = try await pushes.tagID(id, "latest")
        let tagPath = "\(base)/tags/\(tagID)"
        let imageFirst = try #require(try await client.get(path).header("ETag"))
        let tagFirst = try #require(try await client.get(tagPath).header("ETag"))
        try await pushes.push("app", tag: "latest", digest: "sha256:two")  // moves the tag: both ETags change
        let imageNow = try #require(try await client.get(path).header("ETag"))
        let tagNow = try #require(try await client.get(tagPath).header("ETag"))

        for header in [imageFirst, "W/\(imageNow)", "\"not-a-version\""] {
            let patch = try await client.send("PATCH", path, json: ["visibility": "private"], headers: ["If-Match": header])
            #expect(patch.status == 412, "If-Match: \(header)")
            #expect(patch.json["type"] as? String == "precondition_failed")
            #expect(patch.json["resource"] as? String == "image")
            #expect(patch.json["resource_id"] as? String == id)
            #expect(try await client.send("PATCH", path, json: [:], headers: ["If-Match": header]).status == 412)
            #expect(try await client.send("DELETE", path, headers: ["If-Match": header]).status == 412)
        }
        for header in [tagFirst, "W/\(tagNow)"] {
            let delete = try await client.send("DELETE", tagPath, headers: ["If-Match": header])
            #expect(delete.status == 412, "If-Match: \(header)")
            #expect(delete.json["resource"] as? String == "tag")
            #expect(delete.json["resource_id"] as? String == tagID)
        }
        let unchanged = try await client.get(path)
        #expect(unchanged.json["visibility"] as? String == "inherit")
        #expect(unchanged.json["status"] as? String == "ready")
        #expect(unchanged.header("ETag") == imageNow)
        #expect(try await client.get(tagPath).json["status"] as? String == "ready")

        let patched = try await client.send("PATCH", path, json: ["visibility": "private"], headers: ["If-Match": "\(imageFirst), \(imageNow)"])
        #expect(patched.status == 200)
        #expect(try await client.send("DELETE", tagPath, headers: ["If-Match": tagNow]).status == 200)
        #expect(try await client.send("DELETE", path, headers: ["If-Match": "*"]).status == 200)
        for unknown in ["\(base)/images/\(UUID().uuidString.lowercased())", "\(base)/tags/\(UUID().uuidString.lowercased())"] {
            #expect(try await client.send("DELETE", unknown, headers: ["If-Match": imageFirst]).status == 404)
        }
    }

    @Test func ofConcurrentWritesWithOneIfMatchExactlyOneWins() async throws {
        let service = try TestService()
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "etag-race")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let tagPath = "\(base)/tags/\(try await pushes.tagID(id, "latest"))"
        let etag = try #require(try await client.get("\(base)/images/\(id)").header("ETag"))
        let tagETag = try #require(try await client.get(tagPath).header("ETag"))
        let visibilities = ["public", "private"]
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<12 {
                let visibility = visibilities[index % 2]
                group.addTask {
                    let response = try await client.send(
                        "PATCH", "\(base)/images/\(id)", json: ["visibility": visibility], headers: ["If-Match": etag])
                    return (response.status, visibility)
                }
            }
            return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
        }
        let winners = statuses.filter { $0.0 == 200 }
        #expect(winners.count == 1)
        #expect(statuses.filter { $0.0 == 412 }.count == 11)
        #expect(try await client.get("\(base)/images/\(id)").json["visibility"] as? String == winners.first?.1)

        let deletes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { try await client.send("DELETE", tagPath, headers: ["If-Match": tagETag]).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(deletes.sorted() == [200] + Array(repeating: 412, count: 7))
    }

    /// The race made certain, as `ConditionalRequestTests` does for namespaces: a second connection
    /// holds the image's (then the tag's) row lock while two writes with the same If-Match arrive,
    /// so both have started before either writes. A version read before the write would let both
    /// through; the check in the writing (or locking) statement lets exactly one.
    @Test func twoWritesHeldAtTheRowLockWithOneIfMatchGiveOneWinner() async throws {
        let service = try TestService(fairness: .none)
        service.purger.stop()
        let client = try service.client()
        let pushes = try await ImagePushes(service: service, client: client, namespace: "etag-held")
        try await pushes.push("app", tag: "latest", digest: "sha256:one")
        let id = try #require(try await pushes.image("app")["id"] as? String)
        let tagID = try await pushes.tagID(id, "latest")
        let imageETag = try #require(try await client.get("\(base)/images/\(id)").header("ETag"))
        let tagETag = try #require(try await client.get("\(base)/tags/\(tagID)").header("ETag"))
        let patch = try JSONSerialization.data(withJSONObject: ["visibility": "public"])
        let cases: [(lock: String, waiting: String, method: String, path: String, body: Data?, etag: String)] = [
            ("SELECT 1 FROM images WHERE id = '\(id)' FOR UPDATE", "%UPDATE images%", "PATCH", "\(base)/images/\(id)",
             patch, imageETag),
            ("SELECT 1 FROM tags WHERE id = '\(tagID)' FOR UPDATE", "%FOR UPDATE OF n, t%", "DELETE", "\(base)/tags/\(tagID)",
             nil, tagETag),
        ]
        let pool = service.database.pool
        for held in cases {
            let (lock, waiting) = (held.lock, held.waiting)
            let holding = Locked(false)
            let release = Locked(false)
            let holder = Task {
                try await blocking {
                    try pool.withConnection { connection in
                        try connection.withTransaction { connection in
                            _ = try connection.query(lock)
                            holding.withLock { $0 = true }
                            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                            while !release.withLock({ $0 }) && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
                        }
                    }
                }
            }
            #expect(await eventually { holding.withLock { $0 } })
            let data = held.body
            let headers = ["If-Match": held.etag, "Content-Type": "application/json"]
            async let first = client.send(held.method, held.path, body: data, headers: headers)
            async let second = client.send(held.method, held.path, body: data, headers: headers)
            let bothWaiting = try await eventually(timeout: .seconds(10)) {
                try await pool.run { connection in
                    try connection.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
                        [waiting]).first?.int64(0) ?? 0
                } >= 2
            }
            #expect(bothWaiting, "\(held.method) \(held.path)")
            release.withLock { $0 = true }
            try await holder.value
            let statuses = try await [first.status, second.status].sorted()
            #expect(statuses == [200, 412], "\(held.method) \(held.path)")
        }
    }
}
