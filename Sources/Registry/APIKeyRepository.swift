import FoundationEssentials
import Postgres

/// API keys in PostgreSQL. Secrets are never stored, only their SHA-256.
public struct APIKeyRepository: Sendable {
    let database: DatabaseAccess
    var pool: ConnectionPool { database.pool }

    private static let columns = "access_key, organization_id, project_id, description, created_at, expires_at, revoked_at"

    /// Keys through `database`: its pipeline, when it has one, serves the lookups of authentication.
    public init(database: DatabaseAccess) {
        self.database = database
    }

    /// Keys through `pool` alone (the command-line tools).
    public init(pool: ConnectionPool) {
        self.init(database: DatabaseAccess(pool: pool))
    }

    /// Creates a key for `organizationID` (scoped to `projectID` when given) and returns its secret.
    ///
    /// - Parameter expiresIn: how long the key stays valid; nil for a key that never expires.
    public func create(
        organizationID: UUID, projectID: UUID?, description: String, expiresIn: Duration?
    ) throws -> CreatedAPIKey {
        let secret = APIKeyFormat.newSecretKey()
        let expirySeconds = expiresIn.map { Int64($0.components.seconds) }
        let result = try pool.withConnection { connection in
            try connection.query(
                """
                INSERT INTO api_keys (access_key, secret_sha256, organization_id, project_id, description, expires_at)
                VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::bigint))
                RETURNING \(Self.columns)
                """,
                [APIKeyFormat.newAccessKey(), APIKeyFormat.digest(ofSecret: secret),
                 organizationID, projectID, description, expirySeconds])
        }
        guard let row = result.first else { throw PostgresError.unexpectedResult("INSERT returned no row") }
        return CreatedAPIKey(key: try APIKey(row: row), secretKey: secret)
    }

    /// Every key, or those of one organization, oldest first.
    public func list(organizationID: UUID? = nil) throws -> [APIKey] {
        try pool.withConnection { connection in
            let result = try connection.query(
                "SELECT \(Self.columns) FROM api_keys WHERE ($1::uuid IS NULL OR organization_id = $1) ORDER BY created_at, access_key",
                [organizationID])
            return try result.rows.map { try APIKey(row: $0) }
        }
    }

    /// Revokes the key; returns it, or nil when there is no such key. Revoking twice keeps the first time.
    public func revoke(accessKey: String) throws -> APIKey? {
        try pool.withConnection { connection in
            let result = try connection.query(
                """
                UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
                 WHERE access_key = $1 RETURNING \(Self.columns)
                """,
                [accessKey])
            return try result.first.map { try APIKey(row: $0) }
        }
    }

    /// The key whose secret has `digest`, with the digest stored for it.
    func find(secretDigest digest: String) async throws -> (key: APIKey, storedDigest: String)? {
        let result = try await database.read(
            "SELECT \(Self.columns), secret_sha256 FROM api_keys WHERE secret_sha256 = $1", [digest], organization: nil, primaryWhenEmpty: true)  // not tied to an organization: a new key is found on the primary
        guard let row = result.first else { return nil }
        return (try APIKey(row: row), try row.string(7))
    }
}

extension APIKey {
    init(row: Row) throws {
        self.init(
            accessKey: try row.string(0),
            organizationID: try row.uuid(1),
            projectID: try row.optionalUUID(2),
            description: try row.string(3),
            createdAt: try row.timestamp(4),
            expiresAt: try row.optionalTimestamp(5),
            revokedAt: try row.optionalTimestamp(6))
    }
}
