import FoundationEssentials
import Postgres

/// The statements of the second phase of a delete, run by `NamespacePurger` on the pool.
///
/// They touch only `namespaces` (and, by cascade, `images`): a namespace stopped counting towards
/// its organization's quota when it was marked `deleting`, so removing it changes no usage row,
/// and a purger never waits on a lock that a create or a delete holds while waiting on it
/// (migration 0004 gives the lock order). `FOR UPDATE SKIP LOCKED` lets several service instances
/// purge at once without waiting on, or deleting twice, the same rows.
extension NamespaceRepository {
    /// Removes up to `limit` namespaces marked `deleting`, oldest marks first, in one statement;
    /// returns how many. One row that cannot be deleted fails the whole statement: see `purgeOne`.
    public func purgeDeleting(limit: Int = 500) throws -> Int {
        try pool.withConnection { connection in
            try connection.query(
                """
                DELETE FROM namespaces WHERE id IN (
                    SELECT id FROM namespaces WHERE status = 'deleting'
                     ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                """,
                [limit]).affectedRows
        }
    }

    /// The ids of up to `limit` namespaces marked `deleting`, oldest marks first (not locked).
    func deletingIDs(limit: Int) throws -> [UUID] {
        try pool.withConnection { connection in
            try connection.query(
                "SELECT id FROM namespaces WHERE status = 'deleting' ORDER BY updated_at LIMIT $1", [limit]
            ).rows.map { try $0.uuid(0) }
        }
    }

    /// Removes the namespace `id` if it is still `deleting` and no other purger holds it; returns
    /// whether it did. One statement of its own, so that its failure is only its own.
    func purgeOne(id: UUID) throws -> Bool {
        try pool.withConnection { connection in
            try connection.query(
                """
                DELETE FROM namespaces WHERE id IN (
                    SELECT id FROM namespaces WHERE id = $1 AND status = 'deleting' FOR UPDATE SKIP LOCKED)
                """,
                [id]).affectedRows == 1
        }
    }

    /// Marks a `deleting` namespace that cannot be removed `error`, with `message` for its owner:
    /// it leaves the purger's queue (a row failing every pass would otherwise fail every batch)
    /// and counts again towards the quota, since it exists; a DELETE marks it for another try.
    /// Returns whether it was still `deleting`. The usage row is locked first, as everywhere.
    func markPurgeFailed(id: UUID, message: String) throws -> Bool {
        try pool.withConnection { connection in
            try connection.query(
                """
                WITH usage AS (
                    SELECT u.organization_id FROM organization_usage AS u
                      JOIN namespaces AS n ON n.organization_id = u.organization_id
                     WHERE n.id = $1 FOR UPDATE OF u
                )
                UPDATE namespaces AS n
                   SET status = 'error', status_message = $2, updated_at = clock_timestamp()
                  FROM usage
                 WHERE n.id = $1 AND n.status = 'deleting' AND n.organization_id = usage.organization_id
                """,
                [id, message]).affectedRows == 1
        }
    }
}
