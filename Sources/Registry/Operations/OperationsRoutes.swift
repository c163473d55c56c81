import HTTP
import JSON
import Log
import Postgres

/// `/healthz`, `/readyz` and `/metrics`: what orchestrators and Prometheus call, without a token.
struct OperationsRoutes: Sendable {
    static let healthPath = "/healthz"
    static let readinessPath = "/readyz"
    static let metricsPath = "/metrics"

    let pool: ConnectionPool
    let migrator: Migrator?
    let metrics: ServiceMetrics
    let logger: Logger

    func register(on router: inout Router) {
        router.add("GET", Self.healthPath) { _ in
            .json { json in
                json.beginObject()
                json.field("status", "ok")
                json.endObject()
            }
        }
        router.add("GET", Self.readinessPath, async: { request in await readiness(request) })
        router.add("GET", Self.metricsPath) { _ in
            Response(status: 200, body: Array(metrics.render().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    /// Ready when the database answers and the schema is exactly what this build expects.
    private func readiness(_ request: Request) async -> Response {
        var database = "ok"
        var schema = "ok"
        do {
            let current = try await pool.run { [migrator] connection in
                try connection.execute("SELECT 1")
                return try migrator?.isCurrent(on: connection) ?? true
            }
            if !current { schema = "not current: run registryd migrate" }
        } catch let error as PostgresError {
            database = error.description
            schema = "unknown"
            logger.warning("not ready", ["request_id": .string(request.id), "error": .string(error.detail)])
        } catch {
            database = "unknown error"
            schema = "unknown"
        }
        let ready = database == "ok" && schema == "ok"
        var response = Response.json(status: ready ? 200 : 503) { json in
            json.beginObject()
            json.field("status", ready ? "ready" : "unavailable")
            json.key("checks")
            json.beginObject()
            json.field("database", database)
            json.field("schema", schema)
            json.endObject()
            json.endObject()
        }
        if !ready { response.headers.append((name: "Retry-After", value: "1")) }
        return response
    }
}
