import Foundation
import Postgres
import Testing
import TestSupport

/// Health, readiness and metrics: what orchestrators and Prometheus see.
@Suite struct OperationsTests {
    @Test func healthAndReadinessNeedNoToken() async throws {
        let service = try TestService()
        let anonymous = TestClient(baseURL: service.baseURL)
        let health = try await anonymous.get("/healthz")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")
        let ready = try await anonymous.get("/readyz")
        #expect(ready.status == 200)
        #expect(ready.json["status"] as? String == "ready")
        #expect((ready.json["checks"] as? [String: String]) == ["database": "ok", "reads": "ok", "schema": "ok", "probe": "ok"])
    }

    @Test func readinessFailsWhenTheSchemaIsNotCurrent() async throws {
        let service = try TestService()
        try service.database.pool.withConnection { connection in
            try connection.execute("DELETE FROM registryd_schema_migrations WHERE version = (SELECT max(version) FROM registryd_schema_migrations)")
        }
        // The next background probe sees it.
        let anonymous = TestClient(baseURL: service.baseURL)
        #expect(await eventually(timeout: .seconds(10)) { (try? await anonymous.get("/readyz").status) == 503 })
        let ready = try await anonymous.get("/readyz")
        #expect(ready.status == 503)
        #expect(ready.json["status"] as? String == "unavailable")
        let schema = (ready.json["checks"] as? [String: String])?["schema"] ?? ""
        #expect(schema.hasPrefix("not current"))
    }

    @Test func metricsAreValidPrometheusTextAndCountRequests() async throws {
        let service = try TestService()
        let client = try service.client()
        for _ in 0..<3 { _ = try await client.get("/registry/v1/regions/fr-par/namespaces") }
        _ = try await client.get("/registry/v1/regions/fr-par/namespaces/\(UUID().uuidString)")
        _ = try await client.get("/no/such/route")

        let response = try await TestClient(baseURL: service.baseURL).get("/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = try PrometheusText.parse(response.text)

        let listRoute = "/registry/v1/regions/{region}/namespaces"
        #expect(samples.value("registryd_http_requests_total", ["route": listRoute, "method": "GET", "status": "200"]) == 3)
        #expect(samples.value("registryd_http_requests_total",
                              ["route": listRoute + "/{namespace_id}", "method": "GET", "status": "404"]) == 1)
        #expect(samples.value("registryd_http_requests_total", ["route": "unmatched", "method": "GET", "status": "404"]) == 1)

        let buckets = samples.all("registryd_http_request_duration_seconds_bucket", ["route": listRoute, "method": "GET"])
        #expect(buckets.count == 15)
        #expect(buckets.map(\.value) == buckets.map(\.value).sorted())
        #expect(samples.value("registryd_http_request_duration_seconds_bucket", ["route": listRoute, "method": "GET", "le": "+Inf"]) == 3)
        #expect(samples.value("registryd_http_request_duration_seconds_count", ["route": listRoute, "method": "GET"]) == 3)

        #expect(samples.value("registryd_db_pool_connections", ["state": "capacity"]) == 10)
        #expect((samples.value("registryd_db_pool_connections", ["state": "open"]) ?? 0) >= 1)
        #expect(samples.value("registryd_db_pool_connections", ["state": "in_use"]) != nil)
        #expect(samples.value("registryd_db_pool_waiting", [:]) == 0)
        #expect(samples.value("registryd_db_errors_total", ["kind": "unavailable"]) == 0)
        #expect(samples.value("registryd_build_info", ["version": "0.1.0"]) == 1)
        #expect((samples.value("registryd_http_connections_open", [:]) ?? 0) >= 1)
        #expect((samples.value("process_resident_memory_bytes", [:]) ?? 0) > 1_000_000)
    }
}

extension OperationsTests {
    @Test func methodsClientsMakeUpShareOneLabel() async throws {
        let service = try TestService()
        for method in ["FROB", "XYZZY", "GETX"] {
            let answer = try await service.raw("\(method) /no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(RawHTTPConnection.statusCode(of: answer) == 404)
        }
        let samples = try PrometheusText.parse(try await TestClient(baseURL: service.baseURL).get("/metrics").text)
        #expect(samples.value("registryd_http_requests_total", ["route": "unmatched", "method": "other", "status": "404"]) == 3)
        #expect(samples.all("registryd_http_requests_total", ["method": "FROB"]).isEmpty)
    }
}

/// A strict reader of the Prometheus text format, enough to check what `/metrics` writes.
struct PrometheusText {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]

    static func parse(_ text: String) throws -> PrometheusText {
        var samples: [Sample] = []
        var typed: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw TestFailure("bad TYPE line: \(line)")
                }
                typed.insert(String(parts[2]))
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            guard let match = line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/), let value = Double(match.4) else {
                throw TestFailure("bad sample line: \(line)")
            }
            var labels: [String: String] = [:]
            if let body = match.3 {
                for pair in body.matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/) {
                    labels[String(pair.1)] = String(pair.2)
                }
            }
            let name = String(match.1)
            let family = ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
            guard typed.contains(name) || typed.contains(family) else { throw TestFailure("sample before its TYPE: \(line)") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return PrometheusText(samples: samples)
    }

    /// Samples of `name` whose labels include `labels`.
    func all(_ name: String, _ labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The value of the one sample of `name` with exactly-matching `labels` (a subset).
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        all(name, labels).first?.value
    }
}
