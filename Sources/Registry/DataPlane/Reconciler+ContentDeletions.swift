import FoundationEssentials
import Postgres

extension Reconciler {
    /// Carries out, in the registries, the tag and image deletions the API marked (`status =
    /// 'deleting'`), then removes their rows; returns how many are done. Run every second on the
    /// reconciler's thread. A deletion the registry cannot do now (registry down) leaves its row
    /// `deleting` for the next pass, and since the mark is in the database, a restart loses nothing.
    /// One instance at a time (a session advisory lock, tried): two would untag the same tag twice.
    @discardableResult
    public func carryOutMarkedDeletions(limit: Int = 50) -> Int {
        let regions = settings.registryURLs
        guard !regions.isEmpty else { return 0 }
        let regionList = regions.keys.sorted().joined(separator: ",")
        do {
            return try pool.withConnection { connection in
                let locked = try connection.query("SELECT pg_try_advisory_lock(hashtext('registryd.content-deletions'))")
                guard try locked.first?.bool(0) == true else { return 0 }
                defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtext('registryd.content-deletions'))") }
                var done = 0
                let tags = try connection.query(
                    """
                    SELECT t.id, t.name, t.image_id, n.region, n.name || '/' || i.name
                      FROM tags t JOIN images i ON i.id = t.image_id JOIN namespaces n ON n.id = i.namespace_id
                     WHERE t.status = 'deleting' AND n.region = ANY (string_to_array($1, ','))
                     ORDER BY t.updated_at LIMIT $2
                    """, [regionList, limit]).rows
                for row in tags {
                    let (id, tag, imageID, region, repository) = (try row.uuid(0), try row.string(1), try row.uuid(2), try row.string(3), try row.string(4))
                    guard let url = regions[region] else { continue }
                    do {
                        try RegistryClient(baseURL: url, region: region, issuer: issuer).untag(repository: repository, tag: tag)
                    } catch {
                        logger.warning("deleting a tag in the registry failed; retrying", ["repository": .string(repository), "tag": .string(tag), "error": .string(String(describing: error))])
                        continue
                    }
                    try Self.removeTagRow(id: id, imageID: imageID, on: connection)
                    done += 1
                }
                done += try deleteMarkedImages(regions: regions, regionList: regionList, limit: limit, on: connection)
                return done
            }
        } catch {
            logger.warning("carrying out tag and image deletions failed", ["error": .string(String(describing: error))])
            return 0
        }
    }

    /// Deletes every manifest the image ever recorded (and every digest its tags name) in the
    /// registry, then, all of them gone, the image's rows.
    private func deleteMarkedImages(regions: [String: String], regionList: String, limit: Int, on connection: Connection) throws -> Int {
        let images = try connection.query(
            """
            SELECT i.id, n.region, n.name || '/' || i.name
              FROM images i JOIN namespaces n ON n.id = i.namespace_id
             WHERE i.status = 'deleting' AND n.region = ANY (string_to_array($1, ','))
             ORDER BY i.updated_at LIMIT $2
            """, [regionList, limit]).rows
        var done = 0
        for row in images {
            let (imageID, region, repository) = (try row.uuid(0), try row.string(1), try row.string(2))
            guard let url = regions[region] else { continue }
            let digests = try connection.query(
                "SELECT digest FROM manifests WHERE image_id = $1 UNION SELECT digest FROM tags WHERE image_id = $1",
                [imageID]).rows.map { try $0.string(0) }
            let client = RegistryClient(baseURL: url, region: region, issuer: issuer)
            let failed = digests.filter { digest in !((try? client.deleteManifest(repository: repository, digest: digest)) ?? false) }
            if !failed.isEmpty {
                logger.warning("deleting an image in the registry failed; retrying", ["repository": .string(repository), "failed": .int(failed.count)])
                continue
            }
            try Self.removeImageRows(id: imageID, deleted: digests, on: connection)
            done += 1
        }
        return done
    }

    /// Removes a tag the registry no longer has, and recomputes its image's size; the namespace
    /// row is locked first, as the events lock it.
    static func removeTagRow(id: UUID, imageID: UUID, on connection: Connection) throws {
        try connection.withTransaction { connection in
            _ = try connection.query(
                "SELECT 1 FROM namespaces WHERE id = (SELECT namespace_id FROM images WHERE id = $1) FOR UPDATE", [imageID])
            _ = try connection.query("DELETE FROM tags WHERE id = $1 AND status = 'deleting'", [id])
            try RegistryContentRepository.refreshSize(imageID: imageID, on: connection)
        }
    }

    /// Removes an image whose `deleted` digests the registry has deleted. Their manifest rows go
    /// first, so the image trigger (0006) queues only manifests recorded since (a push with a
    /// token issued before the mark), which the deletion queue then removes.
    static func removeImageRows(id: UUID, deleted: [String], on connection: Connection) throws {
        try connection.withTransaction { connection in
            _ = try connection.query(
                "SELECT 1 FROM namespaces WHERE id = (SELECT namespace_id FROM images WHERE id = $1) FOR UPDATE", [id])
            _ = try connection.query(
                "DELETE FROM manifests WHERE image_id = $1 AND digest = ANY (string_to_array($2, ','))",
                [id, deleted.joined(separator: ",")])
            _ = try connection.query("DELETE FROM images WHERE id = $1 AND status = 'deleting'", [id])
        }
    }
}
