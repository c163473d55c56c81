import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

/// A database that dies under load, a pool that runs dry, and crowds of connections.
@Suite struct ResilienceTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func databaseOutageIsAnswered503AndRecoveredFromWithoutLosingAcknowledgedWrites() async throws {
        let cluster = try PrivateCluster()
        let service = try TestService(poolSize: 4, poolTimeout: .seconds(1), cluster: cluster)
        let client = try service.client()
        let anonymous = TestClient(baseURL: service.baseURL)
        let acknowledged = Mutex<[String]>([])
        let unexpected = Mutex<[String]>([])
        let running = Atomic<Bool>(true)

        // Load: creates and reads, counting what the service acknowledged.
        let load = Task {
            var index = 0
            while running.load(ordering: .relaxed) {
                index += 1
                do {
                    let created = try await client.post(path, ["name": "outage-\(index)"])
                    switch created.status {
                    case 200: acknowledged.withLock { $0.append(created.json["id"] as? String ?? "") }
                    case 503: #expect(created.json["type"] as? String == "service_unavailable")
                    default: unexpected.withLock { $0.append("POST \(created.status) \(created.text)") }
                    }
                    let listed = try await client.get(path)
                    if ![200, 503].contains(listed.status) { unexpected.withLock { $0.append("GET \(listed.status)") } }
                } catch {
                    unexpected.withLock { $0.append("transport: \(error)") }
                }
            }
        }
        // Deadlines are generous: the whole suite shares two cores with this test.
        let warmedUp = await eventually(timeout: .seconds(30)) { acknowledged.withLock { $0.count } >= 5 }
        #expect(warmedUp)

        try await blocking { try cluster.kill() }
        // During the outage: quick JSON 503s, readiness down, liveness up.
        let (during, elapsed) = try await onDedicatedThreads {
            let started = ContinuousClock.now
            let response = try await client.get("\(path)?name=anything")
            return (response, ContinuousClock.now - started)
        }
        #expect(during.status == 503)
        #expect(during.header("Content-Type") == "application/json")
        #expect(during.header("Retry-After") == "1")
        #expect(!during.text.lowercased().contains("postgres"))
        #expect(elapsed < .seconds(3))
        #expect(await eventually(timeout: .seconds(10)) { (try? await anonymous.get("/readyz").status) == 503 })
        #expect(try await anonymous.get("/healthz").status == 200)
        let acknowledgedBeforeRestart = acknowledged.withLock { $0.count }

        try await blocking { try cluster.start() }
        let recovered = await eventually(timeout: .seconds(30)) {
            let listing = try? await client.get(path).status
            let readiness = try? await anonymous.get("/readyz").status
            return listing == 200 && readiness == 200
        }
        #expect(recovered)
        let growing = await eventually(timeout: .seconds(30)) { acknowledged.withLock { $0.count } > acknowledgedBeforeRestart + 3 }
        #expect(growing)
        running.store(false, ordering: .relaxed)
        await load.value

        #expect(unexpected.withLock { $0 } == [])
        let ids = acknowledged.withLock { $0 }
        let stored: Set<String> = try service.database.pool.withConnection { connection in
            Set(try connection.query("SELECT id FROM namespaces").rows.map { try $0.uuid(0).uuidString.lowercased() })
        }
        #expect(Set(ids).isSubset(of: stored), "acknowledged namespaces lost: \(Set(ids).subtracting(stored).count)")
        let metrics = try await anonymous.get("/metrics").text
        #expect(!metrics.contains("registryd_db_errors_total{kind=\"unavailable\"} 0\n"))

        // The purger, which ran every 50 ms through the outage, logged it once and its end.
        let purgerRecovered = await eventually(timeout: .seconds(10)) {
            service.logs.lines.contains { $0.contains("purging deleted namespaces works again") }
        }
        #expect(purgerRecovered)
        #expect(service.logs.lines.filter { $0.contains("purging deleted namespaces failed") }.count == 1)
    }

    @Test func requestsBeyondThePoolWaitBoundedThenGet503() async throws {
        let service = try TestService(poolSize: 2, poolTimeout: .milliseconds(300))
        let client = try service.client()
        let id = try #require(try await client.post(path, ["name": "locked-row"]).json["id"] as? String)

        // Hold the row: PATCHes block inside the database, each holding one pooled connection.
        let holder = try Connection(connectionString: service.database.url)
        try holder.execute("BEGIN")
        try holder.query("SELECT 1 FROM namespaces WHERE id = $1::uuid FOR UPDATE", [id])

        let patches = (0..<4).map { index in
            Task { try await client.patch("\(path)/\(id)", ["description": "attempt \(index)"]) }
        }
        let refused = await eventually(timeout: .seconds(5)) {
            (try? await service.metricsText())?.contains("registryd_db_errors_total{kind=\"unavailable\"} 2") == true
        }
        #expect(refused)
        try holder.execute("COMMIT")
        var statuses: [Int] = []
        for patch in patches { statuses.append(try await patch.value.status) }
        #expect(statuses.sorted() == [200, 200, 503, 503])
        #expect(try await client.get("\(path)/\(id)").status == 200)
    }

    @Test func aStatementStuckOnALockIsCancelledAndAnswered503() async throws {
        let service = try TestService(statementTimeout: .milliseconds(300))
        let client = try service.client()
        let id = try #require(try await client.post(path, ["name": "stuck-row"]).json["id"] as? String)
        let holder = try Connection(connectionString: service.database.url)
        try holder.execute("BEGIN")
        try holder.query("SELECT 1 FROM namespaces WHERE id = $1::uuid FOR UPDATE", [id])
        let (stuck, elapsed) = try await onDedicatedThreads {
            let started = ContinuousClock.now
            let response = try await client.patch("\(path)/\(id)", ["description": "waits for the lock"])
            return (response, ContinuousClock.now - started)
        }
        #expect(stuck.status == 503)
        #expect(stuck.json["type"] as? String == "service_unavailable")
        #expect(elapsed < .seconds(5))
        try holder.execute("ROLLBACK")
        #expect(try await client.patch("\(path)/\(id)", ["description": "free again"]).status == 200)
    }

    @Test func fiveHundredOpenConnectionsDoNotStopAnotherClient() async throws {
        let service = try TestService()
        let client = try service.client()
        let port = service.port
        let crowd = try await blocking { () -> [RawHTTPConnection] in
            let connections = try (0..<500).map { _ in try RawHTTPConnection(port: port) }
            for (index, connection) in connections.enumerated() where index % 2 == 0 {
                connection.write("GET /registry/v1/regions/fr-par/namespaces HTTP/1.1\r\nHost: x\r\n")  // never finished
            }
            return connections
        }
        // Generous: under the whole suite (floods of TenantFairnessTests included) accepting 500
        // connections on two shared cores took longer than 5 s.
        let open = await eventually(timeout: .seconds(30)) {
            let metrics = (try? await service.metricsText()) ?? ""
            return Int(metrics.firstMatch(of: /registryd_http_connections_open (\d+)/)?.1 ?? "0") ?? 0 >= 500
        }
        #expect(open)
        for index in 0..<20 {
            let created = try await client.post(path, ["name": "beside-the-crowd-\(index)"])
            #expect(created.status == 200)
            let fetched = try await client.get("\(path)/\(created.json["id"] as? String ?? "")")
            #expect(fetched.json["name"] as? String == "beside-the-crowd-\(index)")
        }
        #expect(try await client.get(path).json["total_count"] as? Int == 20)
        withExtendedLifetime(crowd) {}
    }
}

extension TestService {
    /// The `/metrics` page.
    func metricsText() async throws -> String {
        try await TestClient(baseURL: baseURL).get("/metrics").text
    }
}
