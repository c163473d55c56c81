import FoundationEssentials
import Postgres

extension ImageRepository {
    /// What a change to an image or tag found.
    public enum ChangeOutcome<Value: Sendable & Equatable>: Sendable, Equatable {
        case changed(Value)
        case notFound
        /// Being deleted: it cannot change.
        case deleting(Value)
    }

    /// Sets the image's visibility and bumps `updated_at`, unless it is being deleted. The token
    /// service reads the visibility on every token it signs, so the next pull follows it.
    public func updateVisibility(id: UUID, region: String, caller: Caller, to visibility: Image.Visibility) async throws -> ChangeOutcome<Image> {
        try await database.write(organization: caller.organizationID) { connection in
            let result = try connection.query(
                """
                UPDATE images i SET visibility = $5, updated_at = clock_timestamp()
                  FROM namespaces n
                 WHERE i.id = $1 AND n.id = i.namespace_id AND \(Self.scope) AND i.status <> 'deleting'
                RETURNING \(Self.imageColumns)
                """, [id] + Self.scopeParameters(region, caller) + [visibility.rawValue])
            if let row = result.first { return .changed(try Image(row: row)) }
            guard let existing = try connection.query(Self.findImageStatement, [id] + Self.scopeParameters(region, caller)).first else {
                return .notFound
            }
            return .deleting(try Image(row: existing))
        }
    }

    /// Marks the image `deleting` and returns it; nil when not found. The reconciler's thread then
    /// deletes every manifest of the image in the registry, then the rows (`Reconciler+ContentDeletions`).
    /// Marking twice is harmless: the image keeps the `updated_at` of its first mark.
    public func markImageDeleting(id: UUID, region: String, caller: Caller) async throws -> Image? {
        try await database.write(organization: caller.organizationID) { connection in
            try connection.query(
                """
                UPDATE images i
                   SET status = 'deleting',
                       updated_at = CASE WHEN i.status = 'deleting' THEN i.updated_at ELSE clock_timestamp() END
                  FROM namespaces n
                 WHERE i.id = $1 AND n.id = i.namespace_id AND \(Self.scope)
                RETURNING \(Self.imageColumns)
                """, [id] + Self.scopeParameters(region, caller)).first.map { try Image(row: $0) }
        }
    }

    /// What `markTagDeleting` did.
    public enum TagDeletion: Sendable, Equatable {
        case marked(Tag)
        case notFound
        /// Other tags of the image name the same digest, and `force` was not given.
        case sharedDigest(Tag, siblings: [String])
    }

    /// Marks the tag `deleting` (with `force`, also the image's other tags on the same digest),
    /// unless another tag shares its digest and `force` is false. The namespace row is locked
    /// first, as the registry's events lock it, so that two deletes of sibling tags see each other.
    public func markTagDeleting(id: UUID, region: String, caller: Caller, force: Bool) async throws -> TagDeletion {
        try await database.write(organization: caller.organizationID) { connection in
            try connection.withTransaction { connection in
                guard let row = try connection.query(
                    """
                    SELECT \(Self.tagColumns) FROM tags t JOIN images i ON i.id = t.image_id JOIN namespaces n ON n.id = i.namespace_id
                     WHERE t.id = $1 AND \(Self.scope) FOR UPDATE OF n
                    """, [id] + Self.scopeParameters(region, caller)).first else { return .notFound }
                let tag = try Tag(row: row)
                if tag.status == .deleting { return .marked(tag) }
                let siblings = try connection.query(
                    """
                    SELECT name FROM tags WHERE image_id = $1 AND digest = $2 AND id <> $3 AND status <> 'deleting' ORDER BY name
                    """, [tag.imageID, tag.digest, tag.id]).rows.map { try $0.string(0) }
                if !siblings.isEmpty && !force { return .sharedDigest(tag, siblings: siblings) }
                let marked = try connection.query(
                    """
                    UPDATE tags t SET status = 'deleting', updated_at = clock_timestamp()
                     WHERE t.image_id = $1 AND (t.id = $2 OR (t.digest = $3 AND $4::boolean)) AND t.status <> 'deleting'
                    RETURNING \(Self.tagColumns)
                    """, [tag.imageID, tag.id, tag.digest, force]).rows.map { try Tag(row: $0) }
                return .marked(marked.first { $0.id == tag.id } ?? tag)
            }
        }
    }
}
