import FoundationEssentials
import Postgres

/// Reads the audit trail; the triggers of migration 0010 write it.
public struct AuditRepository: Sendable {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// What to list; nil fields do not filter.
    public struct Filter: Sendable {
        public var organizationID: UUID?
        /// Records at or after this time: any timestamp PostgreSQL reads (RFC 3339 included).
        public var since: String?
        public var resourceID: String?
        /// The most records returned, oldest first.
        public var limit: Int

        public init(organizationID: UUID? = nil, since: String? = nil, resourceID: String? = nil, limit: Int = 1000) {
            self.organizationID = organizationID
            self.since = since
            self.resourceID = resourceID
            self.limit = limit
        }
    }

    /// The records matching `filter`, oldest first (commit order within one resource, since a
    /// resource's changes are serialised by its row lock).
    public func list(_ filter: Filter) throws -> [AuditRecord] {
        try pool.withConnection { connection in
            let result = try connection.query(
                """
                SELECT id, (extract(epoch FROM at) * 1000000)::bigint, access_key, organization_id, request_id,
                       action, resource_type, resource_id, before::text, after::text
                  FROM audit_log
                 WHERE ($1::uuid IS NULL OR organization_id = $1)
                   AND ($2::timestamptz IS NULL OR at >= $2::timestamptz)
                   AND ($3::text IS NULL OR resource_id = $3)
                 ORDER BY at, id LIMIT $4
                """,
                [filter.organizationID, filter.since, filter.resourceID, filter.limit])
            return try result.rows.map { row in
                AuditRecord(
                    id: try row.int64(0), at: try row.int64(1), accessKey: try row.optionalString(2),
                    organizationID: try row.uuid(3), requestID: try row.optionalString(4), action: try row.string(5),
                    resourceType: try row.string(6), resourceID: try row.string(7),
                    before: try row.optionalString(8), after: try row.optionalString(9))
            }
        }
    }
}
