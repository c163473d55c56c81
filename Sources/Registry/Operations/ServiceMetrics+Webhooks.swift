extension ServiceMetrics {
    /// Connects the webhook dispatcher, when there is one.
    func observe(webhooks: WebhookDispatcher?) {
        self.webhooks.withLock { $0 = webhooks }
    }

    /// Per endpoint: the backlog (events pending, age of the oldest) and this instance's delivered
    /// and failed attempts. A growing age with a rising failure count is an endpoint down.
    func renderWebhooks() -> String {
        guard let endpoints = webhooks.withLock({ $0 })?.statistics, !endpoints.isEmpty else { return "" }
        var text = ""
        func family(_ name: String, _ type: String, _ help: String, _ value: (WebhookEndpointStatistics) -> String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for endpoint in endpoints { text += "\(name){endpoint=\"\(endpoint.name)\"} \(value(endpoint))\n" }
        }
        family("registryd_webhook_pending_events", "gauge",
               "Change events not yet delivered to the endpoint, all instances together (lag in events).") { "\($0.pending)" }
        family("registryd_webhook_oldest_pending_age_seconds", "gauge",
               "Age of the oldest change event not yet delivered to the endpoint (lag in seconds; 0 when none).") {
            "\($0.oldestPendingAgeSeconds)"
        }
        family("registryd_webhook_deliveries_total", "counter",
               "POSTs to the endpoint answered 2xx, by this instance.") { "\($0.delivered)" }
        family("registryd_webhook_failed_attempts_total", "counter",
               "POSTs to the endpoint that failed (not 2xx, timeout, unreachable), by this instance; each is retried.") { "\($0.failed)" }
        return text
    }
}
