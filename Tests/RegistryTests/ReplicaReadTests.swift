import Foundation
import Postgres
import Testing
import TestSupport

/// Reads on a hot standby (`DATABASE_READ_URL`, README "High availability"): a client reads its own
/// writes even when the standby stopped replaying, other readers see writes within the documented
/// bound (`DB_READ_MAX_LAG_MS`), and a dead standby does not fail reads.
@Suite struct ReplicaReadTests {
    let path = "/registry/v1/regions/fr-par/namespaces"
    let maxLag = Duration.milliseconds(500)

    func services(_ cluster: ReplicatedCluster) throws -> TestService {
        try TestService(poolTimeout: .seconds(2), statementTimeout: .seconds(2),
                        admin: cluster.primaryURL, replicaAdmin: cluster.standbyURL, replicaMaxLag: maxLag)
    }

    @Test func aClientReadsItsOwnWritesWhileReplayIsPausedAndOthersWithinTheBound() async throws {
        let cluster = try await blocking { try ReplicatedCluster() }
        let service = try await blocking { try self.services(cluster) }
        let replica = try #require(service.application.replica)
        let writer = try service.client()
        let first = try #require(try await writer.post(path, ["name": "before-pause"]).json["id"] as? String)

        // A healthy standby carries reads: another organization's reads, and the writer's own once
        // the standby has its write.
        let reader = try service.client()
        #expect(await eventually(timeout: .seconds(10)) { replica.serves(organization: nil) })
        let before = replica.pipeline.statistics.statements
        #expect(try await reader.get(path).status == 200)
        #expect(try await writer.get("\(path)/\(first)").status == 200)
        #expect(replica.pipeline.statistics.statements > before, "no read went to the standby")

        try await blocking { try cluster.setReplayPaused(true) }
        defer { try? cluster.setReplayPaused(false) }
        // The writer reads every write back at once: from the primary while the standby lacks it.
        for index in 0..<5 {
            let created = try await writer.post(path, ["name": "paused-\(index)"])
            #expect(created.status == 200)
            let id = try #require(created.json["id"] as? String)
            #expect(try await writer.get("\(path)/\(id)").status == 200, "own write \(index) not read back")
            let listed = try await writer.get("\(path)?name=paused-\(index)")
            #expect((listed.json["namespaces"] as? [Any])?.count == 1, "own write \(index) not listed")
            let renamed = try await writer.patch("\(path)/\(id)", ["description": "changed \(index)"])
            #expect(renamed.status == 200)
            #expect(try await writer.get("\(path)/\(id)").json["description"] as? String == "changed \(index)")
        }
        // The standby stopped replaying: past the bound it serves nobody, so a second instance,
        // which never saw the writes, reads them from the primary.
        #expect(await eventually(timeout: maxLag * 4) { !replica.serves(organization: nil) })
    }

    @Test func aDeadStandbyDoesNotFailReads() async throws {
        let cluster = try await blocking { try ReplicatedCluster() }
        let service = try await blocking { try self.services(cluster) }
        let replica = try #require(service.application.replica)
        let client = try service.client()
        let id = try #require(try await client.post(path, ["name": "survives"]).json["id"] as? String)
        #expect(await eventually(timeout: .seconds(10)) { replica.serves(organization: nil) })

        let reader = try service.client()
        // (The standby is also the primary's synchronous one: from now on writes wait for it and
        // are answered 503; reads must not.)
        try await blocking { _ = try TestPostgres.runScript(["kill", cluster.standbyDirectory]) }
        for _ in 0..<10 {
            #expect(try await client.get("\(path)/\(id)").status == 200)
            #expect(try await reader.get(path).status == 200)
        }
        #expect(await eventually(timeout: maxLag * 4) { !replica.serves(organization: nil) })
        #expect(try await client.get("\(path)?name=survives").status == 200)
    }
}
