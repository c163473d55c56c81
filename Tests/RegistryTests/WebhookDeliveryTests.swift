import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Log
import Postgres
import Registry
import Testing
import TestSupport

/// Change events delivered to webhook receivers by real registryd processes (issue 14, part 4):
/// every committed change reaches a live endpoint at least once, in order per namespace, through a
/// SIGKILL of registryd and an outage of the receiver, while a second endpoint that never answers
/// delays nothing; two instances on one database deliver each event once.
@Suite(.serialized) struct WebhookDeliveryTests {
    let path = "/registry/v1/regions/fr-par/namespaces"
    let liveSecret = "live-secret-0123456789"
    let deadSecret = "dead-secret-0123456789"

    @Test func everyChangeReachesTheLiveEndpointInOrderThroughAKillAndAnOutage() async throws {
        let (url, pool, token) = try await prepareDatabase()
        defer { pool.close() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let blackHole = try BlackHoleListener()  // accepts connections into its backlog, never answers
        defer { blackHole.close() }
        let port = try RegistrydProcess.freePort()
        let environment = [
            "DATABASE_URL": url, "PORT": "\(port)", "LISTEN_ADDRESS": "127.0.0.1", "LOG_LEVEL": "warning",
            "WEBHOOK_URLS": "live=http://127.0.0.1:\(receiver.port)/hooks, dead=http://127.0.0.1:\(blackHole.port)/hooks",
            "WEBHOOK_SECRET_LIVE": liveSecret, "WEBHOOK_SECRET_DEAD": deadSecret,
            "WEBHOOK_TIMEOUT_MS": "500", "WEBHOOK_RETRY_MS": "50", "WEBHOOK_RETRY_MAX_MS": "500",
        ]
        var instance = try RegistrydProcess(["serve"], environment: environment)
        try await waitUntilHealthy(port: port, instance)

        // 1,000 changes: ten namespaces, each created, patched 98 times and deleted, side by side.
        let client = TestClient(baseURL: "http://127.0.0.1:\(port)", token: token)
        let progress = Progress()
        let burst = Task { try await Self.burst(client, path: path, namespaces: 10, patches: 98, progress: progress) }
        #expect(await eventually(timeout: .seconds(60)) { await progress.count >= 500 })
        instance.send(SIGKILL)
        #expect(instance.waitForExit() == 128 + SIGKILL)
        receiver.stop()  // and the receiver goes down while registryd comes back
        instance = try RegistrydProcess(["serve"], environment: environment)
        defer { instance.terminate(); _ = instance.waitForExit() }
        try await waitUntilHealthy(port: port, instance)
        let metrics = TestClient(baseURL: "http://127.0.0.1:\(port)")
        #expect(await eventually(timeout: .seconds(20)) {
            (try? await Self.metric(metrics, "registryd_webhook_failed_attempts_total", endpoint: "live")) ?? 0 > 0
        }, "the restarted registryd tries the live endpoint while it is down")
        try receiver.start()
        try await burst.value

        // Every committed change, as the audit trail has it, reaches the live endpoint.
        let expected = try pool.withConnection { connection in
            try connection.query("SELECT id, resource_id FROM audit_log WHERE resource_type = 'namespace' ORDER BY id").rows
                .map { (try $0.int64(0), try $0.string(1)) }
        }
        #expect(expected.count >= 1000)
        let delivered = await eventually(timeout: .seconds(30)) {
            Set(receiver.deliveries.map(\.eventID)).isSuperset(of: expected.map { String($0.0) })
        }
        #expect(delivered, "\(Set(expected.map { String($0.0) }).subtracting(receiver.deliveries.map(\.eventID)).count) events missing")

        // In order per namespace: no event arrives for the first time before an earlier event of its
        // namespace has arrived. (A batch cut short by the kill is sent again whole, so a repeat
        // may follow later events of its namespace: receivers deduplicate on the event id.) Signed.
        let deliveries = receiver.deliveries
        var lastByNamespace: [String: Int64] = [:]
        var seen: Set<String> = []
        var outOfOrder = 0, badSignatures = 0, wrongSecretAccepted = 0
        for delivery in deliveries {
            let json = delivery.json
            let id = Int64(delivery.eventID) ?? -1
            #expect(json["id"] as? String == delivery.eventID)
            let namespace = json["resource_id"] as? String ?? ""
            if seen.insert(delivery.eventID).inserted {
                if let last = lastByNamespace[namespace], last > id { outOfOrder += 1 }
                lastByNamespace[namespace] = id
            }
            let timestamp = Int64(delivery.signature.firstMatch(of: /t=(\d+)/).map { String($0.1) } ?? "") ?? 0
            if delivery.signature != WebhookSignature.value(secret: liveSecret, timestamp: timestamp, body: delivery.body) { badSignatures += 1 }
            if delivery.signature == WebhookSignature.value(secret: deadSecret, timestamp: timestamp, body: delivery.body) { wrongSecretAccepted += 1 }
        }
        #expect(outOfOrder == 0)
        #expect(badSignatures == 0)
        #expect(wrongSecretAccepted == 0)
        let actions = Set(deliveries.compactMap { $0.json["action"] as? String })
        #expect(actions == ["namespace.create", "namespace.update", "namespace.delete"])
        print("webhooks: \(expected.count) events, \(deliveries.count) deliveries (\(deliveries.count - Set(deliveries.map(\.eventID)).count) repeats)")

        // The dead endpoint delayed nothing and lost nothing: its whole backlog is still pending,
        // and /metrics shows it; the live endpoint's backlog is gone, rows included.
        let pending = try pool.withConnection { connection in
            try connection.query("SELECT endpoint, count(*) FROM webhook_deliveries GROUP BY endpoint ORDER BY endpoint").rows
                .map { (try $0.string(0), try $0.int64(1)) }
        }
        #expect(pending.count == 1 && pending.first?.0 == "dead" && pending.first?.1 == Int64(expected.count), "\(pending)")
        #expect(await eventually(timeout: .seconds(5)) {
            (try? await Self.metric(metrics, "registryd_webhook_pending_events", endpoint: "live")) == 0
        })
        #expect(await eventually(timeout: .seconds(5)) {  // the gauges are refreshed about once a second
            (try? await Self.metric(metrics, "registryd_webhook_pending_events", endpoint: "dead")) == Double(expected.count)
        })
        #expect(try await Self.metric(metrics, "registryd_webhook_oldest_pending_age_seconds", endpoint: "dead") ?? 0 > 0)
        #expect(try await Self.metric(metrics, "registryd_webhook_failed_attempts_total", endpoint: "dead") ?? 0 > 0)
        #expect(try await Self.metric(metrics, "registryd_webhook_deliveries_total", endpoint: "live") ?? 0 > 0)
    }

    @Test func twoInstancesOnOneDatabaseDeliverEachEventOnce() async throws {
        let (url, pool, token) = try await prepareDatabase()
        defer { pool.close() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let environment = [
            "DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1",
            "WEBHOOK_URLS": "live=http://127.0.0.1:\(receiver.port)/hooks", "WEBHOOK_SECRET_LIVE": liveSecret,
            "WEBHOOK_BATCH": "10",
        ]
        let instances = try (0..<2).map { _ in try RegistrydProcess(["serve"], environment: environment) }
        defer { for instance in instances { instance.terminate(); _ = instance.waitForExit() } }
        var clients: [TestClient] = []
        for instance in instances {
            clients.append(TestClient(baseURL: "http://127.0.0.1:\(try await instance.waitUntilListening())", token: token))
        }
        try await Self.burst(clients, path: path, namespaces: 20, patches: 8, progress: Progress())

        let expected = try pool.withConnection { try $0.query("SELECT count(*) FROM audit_log WHERE resource_type = 'namespace'")[0].int64(0) }
        #expect(expected == 200)
        #expect(await eventually(timeout: .seconds(30)) { Set(receiver.deliveries.map(\.eventID)).count == Int(expected) })
        let deliveries = receiver.deliveries.map(\.eventID)
        #expect(deliveries.count == Set(deliveries).count, "\(deliveries.count - Set(deliveries).count) events delivered twice")
        var perInstance: [Double] = []
        for client in clients {
            perInstance.append(try await Self.metric(client.with(token: nil), "registryd_webhook_deliveries_total", endpoint: "live") ?? 0)
        }
        #expect(perInstance.reduce(0, +) == Double(expected), "deliveries by instance: \(perInstance)")
        print("webhooks: deliveries by instance \(perInstance)")
    }

    @Test func aDeliveryCutShortByAKillIsRepeatedPromptlyAfterTheRestart() async throws {
        let (url, pool, token) = try await prepareDatabase()
        defer { pool.close() }
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        receiver.answerDelay = .seconds(30)  // records the POST, then keeps registryd waiting
        let port = try RegistrydProcess.freePort()
        let environment = [
            "DATABASE_URL": url, "PORT": "\(port)", "LISTEN_ADDRESS": "127.0.0.1",
            "WEBHOOK_URLS": "live=http://127.0.0.1:\(receiver.port)/hooks", "WEBHOOK_SECRET_LIVE": liveSecret,
            "WEBHOOK_TIMEOUT_MS": "60000",
        ]
        let first = try RegistrydProcess(["serve"], environment: environment)
        try await waitUntilHealthy(port: port, first)
        let client = TestClient(baseURL: "http://127.0.0.1:\(port)", token: token)
        #expect(try await client.post(path, ["name": "interrupted"]).status == 200)
        #expect(await eventually(timeout: .seconds(10)) { receiver.deliveries.count == 1 })
        first.send(SIGKILL)
        _ = first.waitForExit()
        receiver.answerDelay = .zero

        // The killed process's claim went with its connection: no lease to wait out.
        let restarted = ContinuousClock.now
        let second = try RegistrydProcess(["serve"], environment: environment)
        defer { second.terminate(); _ = second.waitForExit() }
        try await waitUntilHealthy(port: port, second)
        #expect(await eventually(timeout: .seconds(10)) { receiver.deliveries.count >= 2 })
        let deliveries = receiver.deliveries
        #expect(deliveries.count == 2 && deliveries[0].eventID == deliveries[1].eventID && deliveries[0].body == deliveries[1].body)
        #expect(await eventually(timeout: .seconds(5)) {
            (try? pool.withConnection { try $0.query("SELECT count(*) FROM webhook_deliveries")[0].int64(0) }) == 0
        })
        print("webhooks: the interrupted delivery was repeated \(ContinuousClock.now - restarted) after the restart began")
    }

    // MARK: - Helpers

    /// A fresh, migrated database, a pool on it and an API key made before any endpoint exists
    /// (so the audit trail's namespace rows are exactly the burst's).
    private func prepareDatabase() async throws -> (String, ConnectionPool, String) {
        let url = try TestPostgres.createDatabase()
        #expect(try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url]).status == 0)
        let pool = ConnectionPool(configuration: .init(connectionString: url, size: 2),
                                  logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        let key = try APIKeyRepository(pool: pool).create(organizationID: UUID(), projectID: nil, description: "hooks", expiresIn: nil)
        return (url, pool, key.secretKey)
    }

    private func waitUntilHealthy(port: UInt16, _ instance: RegistrydProcess) async throws {
        let client = TestClient(baseURL: "http://127.0.0.1:\(port)")
        let up = await eventually(timeout: .seconds(30)) {
            guard instance.isRunning else { return true }
            return (try? await client.get("/healthz").status) == 200
        }
        guard up, instance.isRunning else { throw TestFailure("registryd did not start: \(instance.text)") }
    }

    /// Counts the changes the burst got answered.
    actor Progress {
        private(set) var count = 0
        func add() { count += 1 }
    }

    /// Each namespace: created, patched `patches` times, deleted, by a task of its own, through
    /// `clients` in turn. Each request carries an Idempotency-Key and is retried until answered
    /// 200, so that a registryd killed mid-request neither loses nor doubles a change.
    private static func burst(_ clients: [TestClient], path: String, namespaces: Int, patches: Int, progress: Progress) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<namespaces {
                group.addTask {
                    var turn = index
                    func change(_ method: String, _ target: String, _ json: [String: Any]?) async throws -> [String: Any] {
                        let key = UUID().uuidString
                        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
                        while ContinuousClock.now < deadline {
                            turn += 1
                            let client = clients[turn % clients.count]
                            if let response = try? await client.send(method, target, json: json, headers: ["Idempotency-Key": key]),
                               response.status == 200 {
                                await progress.add()
                                return response.json
                            }
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        throw TestFailure("\(method) \(target) was never answered 200")
                    }
                    let created = try await change("POST", path, ["name": "hooks-\(index)"])
                    let id = created["id"] as? String ?? ""
                    for patch in 0..<patches { _ = try await change("PATCH", "\(path)/\(id)", ["description": "version \(patch)"]) }
                    _ = try await change("DELETE", "\(path)/\(id)", nil)
                }
            }
            try await group.waitForAll()
        }
    }

    private static func burst(_ client: TestClient, path: String, namespaces: Int, patches: Int, progress: Progress) async throws {
        try await burst([client], path: path, namespaces: namespaces, patches: patches, progress: progress)
    }

    /// One endpoint's sample of `name` from `/metrics`.
    private static func metric(_ client: TestClient, _ name: String, endpoint: String) async throws -> Double? {
        let text = try await client.get("/metrics").text
        let prefix = "\(name){endpoint=\"\(endpoint)\"} "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return Double(line.dropFirst(prefix.count))
    }
}

/// A TCP socket that listens and never accepts: connections wait in its backlog, requests are
/// never answered, as with a receiver that hangs.
final class BlackHoleListener: @unchecked Sendable {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        (descriptor, port) = try listenOnLoopback(backlog: 1)
    }

    func close() { _ = Glibc.close(descriptor) }
}
