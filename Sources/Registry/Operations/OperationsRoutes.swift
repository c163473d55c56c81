import HTTP
import JSON

/// `/healthz`, `/readyz` and `/metrics`: what orchestrators and Prometheus call, without a token.
struct OperationsRoutes: Sendable {
    static let healthPath = "/healthz"
    static let readinessPath = "/readyz"
    static let metricsPath = "/metrics"

    let probe: ReadinessProbe
    let metrics: ServiceMetrics

    func register(on router: inout Router) {
        router.add("GET", Self.healthPath) { _ in
            .json { json in
                json.beginObject()
                json.field("status", "ok")
                json.endObject()
            }
        }
        router.add("GET", Self.readinessPath) { _ in readiness() }
        router.add("GET", Self.metricsPath) { _ in
            Response(status: 200, body: Array(metrics.render().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    /// Ready when the last background probe (see `ReadinessProbe`) found both database paths
    /// working and the schema exactly what this build expects, and is recent; no statement runs here.
    private func readiness() -> Response {
        let result = probe.lastResult
        let age = result.map { ContinuousClock.now - $0.startedAt }
        let fresh = age.map { $0 <= probe.staleAfter } ?? false
        let ready = fresh && (result?.isReady ?? false)
        var response = Response.json(status: ready ? 200 : 503) { json in
            json.beginObject()
            json.field("status", ready ? "ready" : "unavailable")
            json.key("checks")
            json.beginObject()
            json.field("database", result?.writes ?? "not probed yet")
            json.field("reads", result?.reads ?? "not probed yet")
            json.field("schema", result?.schema ?? "not probed yet")
            json.field("probe", fresh ? "ok" : (result == nil ? "not probed yet" : "stale: the last probe has not finished"))
            json.endObject()
            if let age { json.field("age_ms", Int(age / .milliseconds(1))) }
            json.endObject()
        }
        if !ready { response.headers.append((name: "Retry-After", value: "1")) }
        return response
    }
}
