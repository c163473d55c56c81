import FoundationEssentials
import Postgres

extension Reconciler {
    /// How often the queue of registry deletions is worked off (a full reconcile runs less often).
    static let deletionInterval: Duration = .seconds(1)

    /// Deletes, in the registries, the manifests `registry_deletions` queues (those of removed
    /// images and namespaces); returns how many are done. Rows of regions without a registry URL
    /// wait. Several instances share the queue: each takes rows the others have not locked.
    @discardableResult
    public func deleteQueuedManifests(limit: Int = 200) -> Int {
        let regions = settings.registryURLs
        guard !regions.isEmpty else { return 0 }
        do {
            return try pool.withConnection { connection in
                try connection.withTransaction { connection in
                    let rows = try connection.query(
                        """
                        SELECT id, region, repository, digest FROM registry_deletions
                         WHERE region = ANY (string_to_array($1, ','))
                         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
                        """, [regions.keys.sorted().joined(separator: ","), limit]).rows
                    var done = 0
                    for row in rows {
                        let (id, region, repository, digest) = (try row.int64(0), try row.string(1), try row.string(2), try row.string(3))
                        guard let url = regions[region] else { continue }
                        let client = RegistryClient(baseURL: url, region: region, issuer: issuer)
                        let deleted = (try? client.deleteManifest(repository: repository, digest: digest)) ?? false
                        if deleted {
                            _ = try connection.query("DELETE FROM registry_deletions WHERE id = $1", [id])
                            done += 1
                        } else {
                            _ = try connection.query("UPDATE registry_deletions SET attempts = attempts + 1 WHERE id = $1", [id])
                        }
                    }
                    return done
                }
            }
        } catch {
            logger.warning("deleting removed manifests from the registries failed", ["error": .string(Self.describe(error))])
            return 0
        }
    }
}
