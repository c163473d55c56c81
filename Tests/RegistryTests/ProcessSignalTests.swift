import Foundation
import Postgres
import Testing
import TestSupport

/// The signals an operator sends by habit, to the executable as operators run it: none drops a
/// request, and a stop that had to drop some says so in its exit status.
@Suite struct ProcessSignalTests {
    private let path = "/registry/v1/regions/fr-par/namespaces"

    /// A running registryd, a key, and a client holding it.
    private func serve(_ extra: [String: String] = [:]) async throws -> (RegistrydProcess, TestClient, String) {
        let url = try TestPostgres.createDatabase()
        let environment = ["DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1"].merging(extra) { $1 }
        let process = try RegistrydProcess(["serve"], environment: environment)
        let port = try await process.waitUntilListening()
        let key = try await RegistrydProcess.run(["api-key", "create", "--organization-id", UUID().uuidString], environment: environment)
        let secret = try #require(key.output.firstMatch(of: /secret_key:\s+([0-9a-f-]{36})/)?.1)
        return (process, TestClient(baseURL: "http://127.0.0.1:\(port)", token: String(secret)), url)
    }

    /// Holds `namespaces` locked from a second connection: listings wait, in flight, until `COMMIT`.
    private func lockNamespaces(_ url: String) throws -> Connection {
        let holder = try Connection(connectionString: url)
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE namespaces IN ACCESS EXCLUSIVE MODE")
        return holder
    }

    /// Waits until `count` requests besides the asking one are in flight (`/metrics` counts itself).
    private static func inFlight(_ client: TestClient, count: Int) async -> Bool {
        let anonymous = TestClient(baseURL: client.baseURL)
        return await eventually(timeout: .seconds(30)) {
            (try? await anonymous.get("/metrics").text)?.contains("registryd_http_requests_in_flight \(count + 1)\n") == true
        }
    }

    @Test func hangUpAndUserSignalsAreIgnoredAndQuitStopsGracefully() async throws {
        let (process, client, url) = try await serve(["DB_STATEMENT_TIMEOUT_MS": "60000"])
        #expect(try await client.get(path).status == 200)
        let holder = try lockNamespaces(url)
        let waiting = Task { try await client.get(path).status }
        #expect(await Self.inFlight(client, count: 1))
        for signal in [SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE] { process.send(signal) }
        let logged = await eventually(timeout: .seconds(10)) { process.text.components(separatedBy: "\"msg\":\"signal ignored").count - 1 == 3 }
        #expect(logged, "\(process.text)")
        #expect(process.isRunning)

        process.send(SIGQUIT)
        #expect(await eventually(timeout: .seconds(10)) { process.text.contains("\"signal\":\"SIGQUIT\"") })
        try holder.execute("COMMIT")
        // The request in flight when SIGQUIT came is answered, then the process exits cleanly.
        #expect(try await waiting.value == 200)
        #expect(try await blocking { process.waitForExit() } == 0)
        #expect(process.text.contains("\"msg\":\"stopped\""))
    }

    @Test func interruptStopsGracefullyToo() async throws {
        let (process, client, _) = try await serve()
        #expect(try await client.get(path).status == 200)
        process.send(SIGINT)
        #expect(try await blocking { process.waitForExit() } == 0)
        #expect(process.text.contains("\"signal\":\"SIGINT\""))
    }

    @Test func droppingRequestsPastTheGracePeriodExitsNonZero() async throws {
        let (process, client, url) = try await serve(["SHUTDOWN_GRACE_S": "1", "DB_STATEMENT_TIMEOUT_MS": "60000"])
        let holder = try lockNamespaces(url)
        let waiting = Task { try? await client.get(path).status }
        #expect(await Self.inFlight(client, count: 1))
        process.terminate()
        #expect(try await blocking { process.waitForExit() } == 1)
        #expect(process.text.contains("requests still in flight after the grace period are dropped"))
        try holder.execute("ROLLBACK")
        _ = await waiting.value
    }
}
