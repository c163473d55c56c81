import Foundation
import Log
import Postgres
import Registry
import Testing
import TestSupport

/// Three registryd processes on one database, as behind a load balancer (README "High
/// availability"): races between instances have exactly one winner, the quota holds exactly, the
/// purgers share the work, and a revoked key stops working everywhere within AUTH_CACHE_TTL_MS.
@Suite struct MultiInstanceTests {
    let path = "/registry/v1/regions/fr-par/namespaces"

    @Test func threeInstancesRaceQuotaPurgeAndRevokeAsOne() async throws {
        let url = try TestPostgres.createDatabase()
        #expect(try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url]).status == 0)
        let authTTL = Duration.milliseconds(1000)
        let environment = ["DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1", "NAMESPACE_QUOTA": "5",
                           "AUTH_CACHE_TTL_MS": "1000", "PURGE_INTERVAL_MS": "50", "LOG_LEVEL": "debug"]
        let instances = try (0..<3).map { _ in try RegistrydProcess(["serve"], environment: environment) }
        defer { for instance in instances { instance.terminate(); _ = instance.waitForExit() } }
        var ports: [UInt16] = []
        for instance in instances { ports.append(try await instance.waitUntilListening()) }
        let pool = ConnectionPool(configuration: .init(connectionString: url, size: 2),
                                  logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        defer { pool.close() }
        let keys = APIKeyRepository(pool: pool)
        let key = try keys.create(organizationID: UUID(), projectID: nil, description: "multi", expiresIn: nil)
        let clients = ports.map { TestClient(baseURL: "http://127.0.0.1:\($0)", token: key.secretKey) }

        // One name, four creates on each instance at once: one winner, the others 409.
        let raced = await withTaskGroup(of: Int.self) { group in
            for client in clients { for _ in 0..<4 { group.addTask { (try? await client.post(path, ["name": "raced"]).status) ?? 0 } } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(raced.filter { $0 == 200 }.count == 1, "\(raced)")
        #expect(raced.filter { $0 == 409 }.count == 11, "\(raced)")

        // Twelve distinct names across the instances with a quota of 5 (one used): exactly 4 more.
        let filled = await withTaskGroup(of: Int.self) { group in
            for (index, client) in (clients + clients + clients + clients).enumerated() {
                group.addTask { (try? await client.post(path, ["name": "quota-\(index)"]).status) ?? 0 }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(filled.filter { $0 == 200 }.count == 4, "\(filled)")
        #expect(filled.allSatisfy { [200, 403].contains($0) }, "\(filled)")
        let stored = try pool.withConnection { try $0.query("SELECT count(*) FROM namespaces")[0].int64(0) }
        #expect(stored == 5)

        // Delete everything through different instances: the three purgers remove each row once.
        let listed = try await clients[0].get("\(path)?page_size=100").json["namespaces"] as? [[String: Any]] ?? []
        for (index, namespace) in listed.enumerated() {
            #expect(try await clients[index % 3].send("DELETE", "\(path)/\(namespace["id"] as? String ?? "")").status == 200)
        }
        #expect(await eventually(timeout: .seconds(10)) {
            (try? pool.withConnection { try $0.query("SELECT count(*) FROM namespaces")[0].int64(0) }) == 0
        })
        let purged = instances.flatMap { $0.text.split(separator: "\n") }
            .filter { $0.contains("purged deleted namespaces") }
            .compactMap { line in line.firstMatch(of: /"?count"?[=:]"?(\d+)/).flatMap { Int($0.1) } }
        #expect(purged.reduce(0, +) == listed.count, "purge counts \(purged)")
        #expect(!instances.contains { $0.text.contains("purge batch failed") || $0.text.contains("purging deleted namespaces failed") })

        // Revocation: every instance has the key cached; each refuses it within the cache TTL.
        for client in clients { #expect(try await client.get(path).status == 200) }
        let revokedAt = ContinuousClock.now
        _ = try keys.revoke(accessKey: key.key.accessKey)
        for client in clients {
            let refused = await eventually(timeout: authTTL + .seconds(2)) { (try? await client.get(path).status) == 401 }
            #expect(refused)
        }
        print("revocation reached all three instances after \(ContinuousClock.now - revokedAt)")
    }
}
