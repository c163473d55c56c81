import Foundation
import Testing
import TestSupport

/// registryd with its standard error on a pipe that nobody reads: a stalled log collector.
@Suite struct StalledLogReaderTests {
    /// Before, the requests hung for good: the time limit turns that into a failure.
    @Test(.timeLimit(.minutes(5)))
    func everyRequestIsAnsweredAndTheDroppedLinesAreCounted() async throws {
        let url = try TestPostgres.createDatabase()
        let port = try RegistrydProcess.freePort()
        let process = try RegistrydProcess(
            ["serve"], environment: ["DATABASE_URL": url, "PORT": "\(port)", "LISTEN_ADDRESS": "127.0.0.1", "LOG_LEVEL": "info"],
            readsOutput: false)
        let anonymous = TestClient(baseURL: "http://127.0.0.1:\(port)")
        #expect(await eventually(timeout: .seconds(30)) { (try? await anonymous.get("/healthz").status) == 200 })

        // Each request writes an access-log line of about 250 bytes, and each 401 a warning: the
        // 64 KiB pipe is full after a few hundred (before, everything hung after 189 GETs), and the
        // 4 MiB buffer after some 16,000 more.
        let requests = 24_000
        let answered = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var count = 0
                    for index in 0..<(requests / 8) {
                        let path = index % 2 == 0 ? "/healthz" : "/registry/v1/regions/fr-par/namespaces?worker=\(worker)"
                        if let status = try? await anonymous.get(path).status, status == 200 || status == 401 { count += 1 }
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(answered == requests)
        #expect(try await anonymous.get("/healthz").status == 200)
        let metrics = try await anonymous.get("/metrics").text
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("registryd_log_lines_dropped_total ") }
        #expect((dropped?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0, "\(dropped ?? "no sample")")
        #expect(metrics.contains("registryd_log_lines_aggregated_total"))
        print("stalled log reader: \(answered) of \(requests) answered; \(dropped ?? "")")
        process.terminate()
        // Stopping does not wait for the stalled reader either: the last lines are given 2 s.
        #expect(try await blocking { process.waitForExit() } == 0)
    }
}
