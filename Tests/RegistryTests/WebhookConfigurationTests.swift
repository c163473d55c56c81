import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Log
import Postgres
import Registry
import Testing
import TestSupport

/// `WEBHOOK_URLS` as operators meet it: refused at start-up with a message naming the variable
/// (never the secret), endpoints that follow the configuration, and a hostile receiver that
/// answers with an endless body costing registryd nothing.
@Suite struct WebhookConfigurationTests {
    let path = "/registry/v1/regions/fr-par/namespaces"
    let secret = "hostile-secret-0123456789"

    @Test func badConfigurationStopsStartUpNamingTheVariable() async throws {
        let base = ["DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"]
        let cases: [([String: String], String)] = [
            (["WEBHOOK_URLS": "https://no-name.example/hooks"], "WEBHOOK_URLS has a bad entry"),
            (["WEBHOOK_URLS": "a=https://x.example,a=https://y.example", "WEBHOOK_SECRET_A": secret], "used twice"),
            (["WEBHOOK_URLS": "billing=https://billing.example/hooks"], "WEBHOOK_SECRET_BILLING is required"),
            (["WEBHOOK_URLS": "billing=https://billing.example/hooks", "WEBHOOK_SECRET_BILLING": "short-secret"],
             "WEBHOOK_SECRET_BILLING must be at least 16"),
            (["WEBHOOK_URLS": "billing=https://billing.example/hooks", "WEBHOOK_SECRET_BILLING_FILE": "/nonexistent/secret"],
             "WEBHOOK_SECRET_BILLING_FILE cannot be read"),
        ]
        for (environment, message) in cases {
            let (status, output) = try await RegistrydProcess.run(["serve"], environment: base.merging(environment) { $1 })
            #expect(status != 0)
            #expect(output.contains("configuration error: ") && output.contains(message), "\(output)")
            #expect(!output.contains("short-secret"))
        }
    }

    @Test func endpointsFollowTheConfigurationAndAnEndlessAnswerCostsNothing() async throws {
        let url = try TestPostgres.createDatabase()
        let pool = ConnectionPool(configuration: .init(connectionString: url, size: 2),
                                  logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        defer { pool.close() }
        #expect(try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url]).status == 0)
        let key = try APIKeyRepository(pool: pool).create(organizationID: UUID(), projectID: nil, description: "hooks", expiresIn: nil)
        let hostile = try EndlessAnswerListener()
        defer { hostile.close() }
        var environment = ["DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1", "LOG_LEVEL": "debug",
                           "WEBHOOK_URLS": "hostile=http://127.0.0.1:\(hostile.port)/hooks", "WEBHOOK_SECRET_HOSTILE": secret,
                           "WEBHOOK_TIMEOUT_MS": "3000"]
        func count(_ table: String) throws -> Int64 {
            try pool.withConnection { try $0.query("SELECT count(*) FROM \(table)")[0].int64(0) }
        }

        // Answers of 200 followed by an endless body: cut at 64 KiB, so each counts as delivered.
        let instance = try RegistrydProcess(["serve"], environment: environment)
        var client = TestClient(baseURL: "http://127.0.0.1:\(try await instance.waitUntilListening())", token: key.secretKey)
        for index in 0..<5 { #expect(try await client.post(path, ["name": "hostile-\(index)"]).status == 200) }
        #expect(await eventually(timeout: .seconds(20)) { (try? count("webhook_deliveries")) == 0 })
        #expect(hostile.requests >= 5)
        #expect(try count("webhook_endpoints") == 1)
        instance.terminate()
        #expect(instance.waitForExit() == 0)
        #expect(!instance.text.contains(secret), "the secret was logged")

        // Without WEBHOOK_URLS the endpoint is dropped and a change stores nothing for it.
        environment["WEBHOOK_URLS"] = nil
        let plain = try RegistrydProcess(["serve"], environment: environment)
        defer { plain.terminate(); _ = plain.waitForExit() }
        client = TestClient(baseURL: "http://127.0.0.1:\(try await plain.waitUntilListening())", token: key.secretKey)
        #expect(try await client.post(path, ["name": "unheard"]).status == 200)
        #expect(try count("webhook_endpoints") == 0)
        #expect(try count("webhook_deliveries") == 0)
        // The drop is logged at start-up, with what the endpoint will never receive.
        #expect(await eventually(timeout: .seconds(5)) {
            plain.text.contains("webhook endpoint dropped") && plain.text.contains("hostile")
        }, "\(plain.text)")
        #expect(try count("audit_log WHERE action = 'namespace.create'") == 6)
    }
}

/// Answers every request with `200` and a body that never ends (a receiver gone wrong).
final class EndlessAnswerListener: @unchecked Sendable {
    private let descriptor: Int32
    let port: UInt16
    private let counter = NSLock()
    private var answered = 0

    var requests: Int { counter.withLock { answered } }

    init() throws {
        (descriptor, port) = try listenOnLoopback(backlog: 16)
        Thread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                if connection < 0 { if errno == EINTR { continue } else { return } }
                Thread { [self] in answer(connection) }.start()
            }
        }.start()
    }

    private func answer(_ connection: Int32) {
        defer { Glibc.close(connection) }
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: head, as: UTF8.self).contains("\r\n\r\n") {
            let count = read(connection, &chunk, chunk.count)
            if count <= 0 { return }
            head.append(contentsOf: chunk[0..<count])
        }
        counter.withLock { answered += 1 }
        let status = Array("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n".utf8)
        guard send(connection, status, status.count, Int32(MSG_NOSIGNAL)) == status.count else { return }
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
        while send(connection, filler, filler.count, Int32(MSG_NOSIGNAL)) > 0 {}
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
    }
}
