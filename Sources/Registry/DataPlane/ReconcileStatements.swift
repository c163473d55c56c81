import FoundationEssentials
import Postgres

/// The reconciler's writes: one repository's registry content made the truth for its image.
enum ReconcileStatements {
    /// Makes image `path` of `region` hold exactly `content`'s tags (rows touched since `since`
    /// excepted); returns whether anything changed. A namespace that is not `ready` is skipped.
    static func apply(
        _ content: RepositoryContent, region: String, path: (namespace: String, image: String), since: String, on connection: Connection
    ) throws -> Bool {
        try connection.withTransaction { connection in
            guard let namespaceID = try RegistryContentRepository.lockNamespace(region: region, name: path.namespace, on: connection) else {
                return false
            }
            let existing = try RegistryContentRepository.imageID(namespaceID: namespaceID, name: path.image, on: connection)
            // An image being deleted is the deletion's to remove, not the reconciler's to refill.
            if let existing, try connection.query("SELECT status = 'deleting' FROM images WHERE id = $1", [existing]).first?.bool(0) == true {
                return false
            }
            guard existing != nil || !content.tags.isEmpty else { return false }
            let imageID = try existing ?? RegistryContentRepository.upsertImage(namespaceID: namespaceID, name: path.image, on: connection)
            var known: [String: String] = [:]
            for row in try connection.query("SELECT name, digest FROM tags WHERE image_id = $1", [imageID]).rows {
                known[try row.string(0)] = try row.string(1)
            }
            var changed = existing == nil
            for (digest, manifest) in content.manifests {
                try RegistryContentRepository.insertManifest(
                    imageID: imageID, digest: digest, mediaType: manifest.mediaType, references: manifest.references, on: connection)
            }
            for (tag, digest) in content.tags where known[tag] != digest {
                try RegistryContentRepository.setTag(imageID: imageID, name: tag, digest: digest, on: connection)
                changed = true
            }
            let gone = known.keys.filter { content.tags[$0] == nil }
            for tag in gone {
                let removed = try connection.query(
                    "DELETE FROM tags WHERE image_id = $1 AND name = $2 AND updated_at < $3::timestamptz", [imageID, tag, since])
                if removed.affectedRows > 0 { changed = true }
            }
            try RegistryContentRepository.refreshSize(imageID: imageID, on: connection)
            return changed
        }
    }

    /// Removes the images of `region` whose repository the registry no longer lists (and that no
    /// event touched since `since`); returns how many.
    static func removeImages(region: String, notIn present: Set<String>, since: String, on connection: Connection) throws -> Int {
        let rows = try connection.query(
            """
            SELECT i.id, n.name || '/' || i.name FROM images i JOIN namespaces n ON n.id = i.namespace_id
             WHERE n.region = $1 AND n.status = 'ready' AND i.updated_at < $2::timestamptz
            """, [region, since]).rows
        var removed = 0
        for row in rows where !present.contains(try row.string(1)) {
            removed += try connection.query(
                "DELETE FROM images WHERE id = $1 AND updated_at < $2::timestamptz", [try row.uuid(0), since]).affectedRows
        }
        return removed
    }
}
