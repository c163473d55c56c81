import Foundation
import Postgres
import Testing
import TestSupport

/// PostgreSQL frozen without closing its sockets (SIGSTOP on the postmaster and every backend, as
/// a hung VM): every request still gets its answer by a deadline of ours, service resumes as soon
/// as PostgreSQL does, and SIGTERM keeps to the grace period.
@Suite struct FrozenDatabaseTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func everyRequestIsAnswered503InTimeAndServiceResumesWithinASecondOfThaw() async throws {
        // initdb and start take seconds: off the cooperative threads the other suites share.
        let cluster = try await blocking { try PrivateCluster() }
        let poolTimeout = Duration.seconds(1)
        let statementTimeout = Duration.seconds(1)
        let service = try await blocking {
            // /readyz answers from a background probe: with a probe every 250 ms it turns 503 at the
            // latest once a probe started after the freeze has missed its statement deadline.
            try TestService(readinessInterval: .milliseconds(250), poolSize: 4, poolTimeout: poolTimeout,
                            statementTimeout: statementTimeout, cluster: cluster)
        }
        let client = try service.client()
        let anonymous = TestClient(baseURL: service.baseURL)
        var created: [String] = []
        for index in 0..<3 {
            created.append(try #require(try await client.post(path, ["name": "before-freeze-\(index)"]).json["id"] as? String))
        }
        let ids = created
        #expect(try await client.get("\(path)/\(ids[0])").status == 200)
        #expect(try await anonymous.get("/readyz").status == 200)

        let frozen = try cluster.freeze()
        var thawed = false
        defer { if !thawed { cluster.thaw(frozen) } }
        // The issue's target: DB_POOL_TIMEOUT_MS + DB_STATEMENT_TIMEOUT_MS, plus one second.
        let bound = poolTimeout + statementTimeout + .seconds(1)
        typealias Request = (label: String, send: @Sendable () async throws -> TestResponse)
        var requests: [Request] = []
        for id in ids { requests.append(("GET by id", { try await client.get("\(path)/\(id)") })) }
        for index in 0..<2 { requests.append(("list", { try await client.get("\(path)?name=x\(index)") })) }
        for index in 0..<3 { requests.append(("POST", { try await client.post(path, ["name": "while-frozen-\(index)"]) })) }
        requests.append(("PATCH", { try await client.patch("\(path)/\(ids[1])", ["description": "while frozen"]) }))
        requests.append(("DELETE", { try await client.send("DELETE", "\(path)/\(ids[2])") }))
        // /readyz answers from its background probe's last result: it may say 200 for a moment
        // after the freeze, and must say 503 once the probe's own bounded wait has failed.
        let readiness: @Sendable () async throws -> TestResponse = {
            let started = ContinuousClock.now
            while true {
                let response = try await anonymous.get("/readyz")
                if response.status != 200 || ContinuousClock.now - started > bound { return response }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        requests.append(("readyz", readiness))
        let sending = requests
        let answers = await onDedicatedThreads {
            await withTaskGroup(of: (String, Int, String?, Duration).self) { group in
                for request in sending {
                    group.addTask {
                        let started = ContinuousClock.now
                        let response = try? await request.send()
                        let type = response?.json["type"] as? String ?? response.map { String(decoding: $0.body, as: UTF8.self) }
                        return (request.label, response?.status ?? 0, type, ContinuousClock.now - started)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(answers.count == requests.count)
        for (label, status, type, elapsed) in answers {
            #expect(status == 503, "\(label) answered \(status) while PostgreSQL was frozen: \(type ?? "")")
            if label != "readyz" { #expect(type == "service_unavailable", "\(label)") }
            #expect(elapsed < bound, "\(label) took \(elapsed)")
        }

        // The purger, running every 50 ms, is inside a batch against the frozen server: stopping it
        // waits for that batch, which ends by its statement deadline.
        let purger = service.purger
        let stopping = try await blocking { () -> Duration in
            let started = ContinuousClock.now
            purger.stop()
            return ContinuousClock.now - started
        }
        #expect(stopping < statementTimeout + Connection.serverTimeoutMargin + .seconds(1))

        cluster.thaw(frozen)
        thawed = true
        let resumed = await onDedicatedThreads {
            await eventually(timeout: .seconds(1)) {
                let read = try? await client.get("\(path)/\(ids[0])").status
                let write = try? await client.patch("\(path)/\(ids[0])", ["description": "thawed"]).status
                let ready = try? await anonymous.get("/readyz").status
                return read == 200 && write == 200 && ready == 200
            }
        }
        #expect(resumed)
    }

    @Test func sigtermWhilePostgreSQLIsFrozenEndsWithinTheGracePeriod() async throws {
        // initdb and start take seconds: off the cooperative threads the other suites share.
        let cluster = try await blocking { try PrivateCluster() }
        let url = try TestPostgres.createDatabase(admin: cluster.adminURL)
        let grace = Duration.seconds(2)
        let service = try RegistrydProcess(["serve"], environment: [
            "DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1", "SHUTDOWN_GRACE_S": "2", "PURGE_INTERVAL_MS": "50",
        ])
        let port = try await service.waitUntilListening()
        #expect(try await TestClient(baseURL: "http://127.0.0.1:\(port)").get("/readyz").status == 200)

        let frozen = try cluster.freeze()
        defer { cluster.thaw(frozen) }
        // The purger runs every 50 ms: give it a few turns to start a batch against the frozen
        // server (before the fix it then waited forever, and so did SIGTERM).
        try await Task.sleep(for: .milliseconds(300))
        let exited = try await blocking { () -> (Int32, Duration) in
            let started = ContinuousClock.now
            service.terminate()
            let status = service.waitForExit()
            return (status, ContinuousClock.now - started)
        }
        #expect(exited.0 == 0, "\(service.text)")
        #expect(exited.1 < grace + .seconds(1), "SIGTERM took \(exited.1)")
    }
}
