import Postgres

/// The SQL of the webhook backlog (`webhook_deliveries`, migration 0012): one row per change event
/// and endpoint, inserted by a trigger in the change's transaction, deleted once delivered.
enum WebhookOutbox {
    /// One event claimed for delivery: its id (the audit row's), its resource, how often it failed
    /// before, and the JSON body every attempt sends unchanged.
    struct PendingEvent {
        let id: Int64
        let resourceType: String
        let resourceID: String
        let attempts: Int
        let body: [UInt8]
    }

    /// Makes the registered endpoints exactly `names`: new names start receiving the changes
    /// committed from now on; a name no longer configured is dropped with its backlog.
    /// Answers the dropped names with the number of undelivered events each lost, for the log.
    static func register(_ names: [String], on connection: Connection) throws -> [(name: String, pending: Int64)] {
        let array = "{" + names.joined(separator: ",") + "}"  // names are [a-z0-9_-]: no quoting
        return try connection.withTransaction { connection in
            try connection.query("INSERT INTO webhook_endpoints (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", [array])
            let dropped = try connection.query("""
                WITH gone AS (DELETE FROM webhook_endpoints WHERE NOT (name = ANY($1::text[])) RETURNING name),
                     lost AS (DELETE FROM webhook_deliveries WHERE NOT (endpoint = ANY($1::text[])) RETURNING endpoint)
                SELECT g.name, (SELECT count(*) FROM lost WHERE lost.endpoint = g.name) FROM gone g ORDER BY g.name
                """, [array])
            return try dropped.rows.map { (name: try $0.string(0), pending: try $0.int64(1)) }
        }
    }

    /// Locks up to `limit` due events of `endpoint` in id order. First the heads: each the oldest
    /// pending event of its resource for this endpoint (an event waits while an earlier one of its
    /// resource is in backoff or claimed elsewhere), skipping rows another instance holds. Then,
    /// with room left, the events that follow those heads in their resources: nobody else can claim
    /// them while the heads are locked here, so a busy resource moves a batch per round, not one
    /// event. Call in a transaction: the locks last until it ends.
    static func claim(endpoint: String, limit: Int, on connection: Connection) throws(PostgresError) -> [PendingEvent] {
        let heads = try events(connection.query("""
            SELECT \(columns)
            FROM webhook_deliveries d JOIN audit_log a ON a.id = d.event_id
            WHERE d.endpoint = $1 AND d.next_attempt_at <= clock_timestamp()
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                              WHERE e.endpoint = d.endpoint AND e.resource_type = d.resource_type
                                AND e.resource_id = d.resource_id AND e.event_id < d.event_id)
            ORDER BY d.event_id
            LIMIT $2
            FOR UPDATE OF d SKIP LOCKED
            """, [endpoint, limit]))
        guard !heads.isEmpty, heads.count < limit else { return heads }
        // No SKIP LOCKED here: skipping one follower and taking the next would break the order.
        let followers = try events(connection.query("""
            SELECT \(columns)
            FROM unnest($2::text[], $3::text[], $4::bigint[]) AS h (resource_type, resource_id, event_id)
            JOIN webhook_deliveries d
              ON d.endpoint = $1 AND d.resource_type = h.resource_type AND d.resource_id = h.resource_id
             AND d.event_id > h.event_id
            JOIN audit_log a ON a.id = d.event_id
            ORDER BY d.event_id
            LIMIT $5
            FOR UPDATE OF d
            """, [endpoint, textArray(heads.map(\.resourceType)), textArray(heads.map(\.resourceID)),
                  textArray(heads.map { String($0.id) }), limit - heads.count]))
        return (heads + followers).sorted { $0.id < $1.id }
    }

    /// The claimed rows' columns, the body built from the audit row.
    private static let columns = """
        d.event_id, d.resource_type, d.resource_id, d.attempts,
        jsonb_build_object(
            'id', a.id::text, 'action', a.action,
            'resource_type', a.resource_type, 'resource_id', a.resource_id,
            'organization_id', a.organization_id,
            'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'access_key', a.access_key, 'request_id', a.request_id,
            'before', a.before, 'after', a.after)::text
        """

    private static func events(_ rows: QueryResult) throws(PostgresError) -> [PendingEvent] {
        var events: [PendingEvent] = []
        events.reserveCapacity(rows.rowCount)
        for row in rows.rows {
            events.append(PendingEvent(id: try row.int64(0), resourceType: try row.string(1), resourceID: try row.string(2),
                                       attempts: Int(try row.int64(3)), body: Array(try row.string(4).utf8)))
        }
        return events
    }

    /// A PostgreSQL array literal of `values`, each quoted (resource ids are not ours to trust).
    static func textArray(_ values: [String]) -> String {
        let quoted = values.map { value in
            "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }

    /// Deletes the rows of events `endpoint` has acknowledged.
    static func settle(endpoint: String, delivered: [Int64], on connection: Connection) throws(PostgresError) {
        guard !delivered.isEmpty else { return }
        let array = "{" + delivered.map(String.init).joined(separator: ",") + "}"
        try connection.query("DELETE FROM webhook_deliveries WHERE endpoint = $1 AND event_id = ANY($2::bigint[])", [endpoint, array])
    }

    /// Records a failed attempt: the event (and every later one of its resource) waits `delay`.
    static func postpone(endpoint: String, event: Int64, delay: Duration, reason: String,
                         on connection: Connection) throws(PostgresError) {
        try connection.query("""
            UPDATE webhook_deliveries
            SET attempts = attempts + 1, last_error = left($4, 500),
                next_attempt_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
            WHERE endpoint = $1 AND event_id = $2
            """, [endpoint, event, Int(delay / .milliseconds(1)), reason])
    }

    /// The backlog of `endpoint`: events pending, and the age of the oldest in milliseconds (0 when
    /// none). The oldest is taken as the one with the lowest id (an index lookup; ids follow insert
    /// time), the count scans the endpoint's rows of the primary key.
    static func backlog(endpoint: String, on connection: Connection) throws(PostgresError) -> (pending: Int, oldestAgeMilliseconds: Int) {
        let row = try connection.query("""
            SELECT (SELECT count(*) FROM webhook_deliveries WHERE endpoint = $1),
                   COALESCE((SELECT (EXTRACT(EPOCH FROM clock_timestamp() - a.at) * 1000)::bigint
                             FROM webhook_deliveries d JOIN audit_log a ON a.id = d.event_id
                             WHERE d.endpoint = $1 ORDER BY d.event_id LIMIT 1), 0)
            """, [endpoint])[0]
        return (Int(try row.int64(0)), Int(try row.int64(1)))
    }
}
