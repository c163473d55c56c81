import Postgres

extension ServiceMetrics {
    /// Connects the listing lane and the per-organization admissions (see `Fairness`).
    public func observe(admission: TenantAdmission, listings: QueryPipeline?) {
        fairness.withLock { $0 = (admission, listings) }
    }

    /// The listing lane's gauges, and per lane the requests waiting for their organization's turn
    /// and those answered 503 for waiting too long: a tenant hitting its limit shows here.
    func renderFairness() -> String {
        guard let (admission, listings) = fairness.withLock({ $0 }) else { return "" }
        var text = ""
        if let lane = listings?.statistics {
            text += "# HELP registryd_db_listing_connections Connections of the listing lane (pipeline mode).\n"
            text += "# TYPE registryd_db_listing_connections gauge\n"
            text += "registryd_db_listing_connections \(lane.connections)\n"
            text += "# HELP registryd_db_listing_queued Listing statements waiting to be sent.\n"
            text += "# TYPE registryd_db_listing_queued gauge\n"
            text += "registryd_db_listing_queued \(lane.queued)\n"
        }
        let lanes = [admission.writes, admission.listings].compactMap { $0 }
        guard !lanes.isEmpty else { return text }
        text += "# HELP registryd_admission_waiting Requests waiting for their organization's turn, by lane.\n"
        text += "# TYPE registryd_admission_waiting gauge\n"
        for lane in lanes { text += "registryd_admission_waiting{lane=\"\(lane.lane)\"} \(lane.statistics.waiting)\n" }
        text += "# HELP registryd_admission_timeouts_total Requests answered 503 after waiting longer than DB_POOL_TIMEOUT_MS for their organization's turn, by lane.\n"
        text += "# TYPE registryd_admission_timeouts_total counter\n"
        for lane in lanes { text += "registryd_admission_timeouts_total{lane=\"\(lane.lane)\"} \(lane.statistics.timedOut)\n" }
        return text
    }
}
