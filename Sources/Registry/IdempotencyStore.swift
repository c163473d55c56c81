import FoundationEssentials
import HTTP
import Postgres

/// The responses stored under Idempotency-Keys (table `idempotency_keys`, migration 0009).
///
/// Every method runs on the connection of the write's transaction (`ChangeTransaction`), so a
/// stored response commits with its change, or neither does.
enum IdempotencyStore {
    /// The class of the advisory locks that serialise the requests of one key (the second key of
    /// the two-`int4` form; the migrator's single-`bigint` locks live in another space).
    static let lockClass = 0x1D3

    /// The expression that takes the key `$4` of organization `$5` for the transaction, true when
    /// taken (and when there is no key), for `ChangeTransaction`'s first statement.
    ///
    /// The advisory lock is tried, not waited for: a second request with a key whose first request
    /// is still running gets `idempotency_key_in_use` (409, `Retry-After: 1`) at once instead of
    /// holding a connection while it waits. Two keys whose hashes collide only ever cost a
    /// spurious 409 on one of them.
    static let tryLock = "($4::text IS NULL OR pg_try_advisory_xact_lock($3::int, hashtext($5::text || '/' || $4::text)))"

    /// The response stored under the key, which this transaction holds (`tryLock`), if any.
    ///
    /// The lookup is a statement of its own, after the lock, so that its snapshot sees what the
    /// previous holder committed (READ COMMITTED).
    static func lookup(_ key: IdempotencyKey, organization: UUID, on connection: Connection) throws -> Response? {
        let stored = try connection.query(
            """
            SELECT fingerprint, status, body, etag FROM idempotency_keys
             WHERE organization_id = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3)
            """,
            [organization, key.value, IdempotencyKey.lifetimeSeconds])
        guard let row = stored.first else { return nil }
        guard try row.string(0) == key.fingerprint else { throw APIError.idempotencyKeyReused }
        var headers = [(name: IdempotencyKey.replayedHeader, value: "true")]
        if let etag = try row.optionalString(3) { headers.append((name: "ETag", value: etag)) }
        return Response(status: Int(try row.int64(1)), headers: headers, body: Array(try row.string(2).utf8))
    }

    /// Stores `response` under the key; replaces an expired row the purger has not pruned yet.
    static func save(_ key: IdempotencyKey, organization: UUID, response: Response, on connection: Connection) throws {
        let etag = response.headers.first { $0.name == "ETag" }?.value
        _ = try connection.query(
            """
            INSERT INTO idempotency_keys (organization_id, key, fingerprint, status, body, etag)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (organization_id, key) DO UPDATE
               SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
                   etag = EXCLUDED.etag, created_at = EXCLUDED.created_at
            """,
            [organization, key.value, key.fingerprint, response.status,
             String(decoding: response.body, as: UTF8.self), etag])
    }

    /// Deletes up to `limit` keys past their lifetime, oldest first; returns how many.
    static func prune(limit: Int, on connection: Connection) throws -> Int {
        let result = try connection.query(
            """
            WITH expired AS (
                SELECT organization_id, key FROM idempotency_keys
                 WHERE created_at <= now() - make_interval(secs => $1)
                 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            DELETE FROM idempotency_keys k USING expired
             WHERE k.organization_id = expired.organization_id AND k.key = expired.key
            RETURNING 1
            """,
            [IdempotencyKey.lifetimeSeconds, limit])
        return result.rowCount
    }
}
