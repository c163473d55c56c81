import FoundationEssentials
import Postgres

extension ImageRepository {
    /// What a change to an image found.
    public enum ChangeOutcome<Value: Sendable & Equatable>: Sendable, Equatable {
        case changed(Value)
        case notFound
        /// Being deleted: it cannot change.
        case deleting(Value)
        /// `If-Match` named no version it is at; it is returned as it is.
        case preconditionFailed(Value)
    }

    /// The image as it is, on `connection` (inside the write's transaction).
    static func findImage(id: UUID, region: String, caller: Caller, on connection: Connection) throws -> Image? {
        try connection.query(findImageStatement, [id] + scopeParameters(region, caller)).first.map { try Image(row: $0) }
    }

    /// Sets the image's visibility and bumps `updated_at`, unless it is being deleted or is at no
    /// version `condition` allows. The token service reads the visibility on every token it
    /// signs, so the next pull follows it. `nil` changes nothing: the image is answered as it is,
    /// still subject to `condition`.
    ///
    /// The version is compared in the UPDATE itself, as `NamespaceRepository.update` does: of two
    /// writers holding one ETag, the second re-reads the row after the first's lock and no longer
    /// matches.
    static func updateVisibility(
        id: UUID, region: String, caller: Caller, to visibility: Image.Visibility?,
        condition: EntityTag.Condition, on connection: Connection
    ) throws -> ChangeOutcome<Image> {
        if let visibility {
            let result = try connection.query(
                """
                UPDATE images i SET visibility = $5, updated_at = clock_timestamp()
                  FROM namespaces n
                 WHERE i.id = $1 AND n.id = i.namespace_id AND \(Self.scope) AND i.status <> 'deleting'
                   AND ($6::bigint[] IS NULL OR i.version = ANY($6::bigint[]))
                RETURNING \(Self.imageColumns)
                """, [id] + Self.scopeParameters(region, caller) + [visibility.rawValue, condition.sqlArray])
            if let row = result.first { return .changed(try Image(row: row)) }
        }
        guard let existing = try findImage(id: id, region: region, caller: caller, on: connection) else { return .notFound }
        if !condition.allows(existing.version) { return .preconditionFailed(existing) }
        if visibility == nil { return .changed(existing) }
        return existing.status == .deleting ? .deleting(existing) : .preconditionFailed(existing)
    }

    /// Marks the image `deleting`, only while it is at a version `condition` allows. The
    /// reconciler's thread then deletes every manifest of the image in the registry, then the rows
    /// (`Reconciler+ContentDeletions`). Marking twice is harmless: the image keeps the
    /// `updated_at` (and version) of its first mark.
    static func markImageDeleting(
        id: UUID, region: String, caller: Caller, condition: EntityTag.Condition, on connection: Connection
    ) throws -> ChangeOutcome<Image> {
        let result = try connection.query(
            """
            UPDATE images i
               SET status = 'deleting',
                   updated_at = CASE WHEN i.status = 'deleting' THEN i.updated_at ELSE clock_timestamp() END
              FROM namespaces n
             WHERE i.id = $1 AND n.id = i.namespace_id AND \(Self.scope)
               AND ($5::bigint[] IS NULL OR i.version = ANY($5::bigint[]))
            RETURNING \(Self.imageColumns)
            """, [id] + Self.scopeParameters(region, caller) + [condition.sqlArray])
        if let row = result.first { return .changed(try Image(row: row)) }
        guard condition != .none, let existing = try findImage(id: id, region: region, caller: caller, on: connection) else {
            return .notFound
        }
        return .preconditionFailed(existing)
    }

    /// What `markTagDeleting` did.
    public enum TagDeletion: Sendable, Equatable {
        case marked(Tag)
        case notFound
        /// Other tags of the image name the same digest, and `force` was not given.
        case sharedDigest(Tag, siblings: [String])
        /// `If-Match` named no version the tag is at; it is returned as it is.
        case preconditionFailed(Tag)
    }

    /// Marks the tag `deleting` (with `force`, also the image's other tags on the same digest),
    /// unless another tag shares its digest and `force` is false, or the tag is at no version
    /// `condition` allows. Runs inside the caller's transaction (`ChangeTransaction`).
    ///
    /// The first statement locks the namespace row, as the registry's events lock it, so that two
    /// deletes of sibling tags see each other, and the tag row itself: its version, compared
    /// there, cannot move before the UPDATE that marks it (every writer of tags locks the
    /// namespace first, and the row lock holds off any other).
    static func markTagDeleting(
        id: UUID, region: String, caller: Caller, force: Bool, condition: EntityTag.Condition, on connection: Connection
    ) throws -> TagDeletion {
        guard let row = try connection.query(
            """
            SELECT \(Self.tagColumns) FROM tags t JOIN images i ON i.id = t.image_id JOIN namespaces n ON n.id = i.namespace_id
             WHERE t.id = $1 AND \(Self.scope) FOR UPDATE OF n, t
            """, [id] + Self.scopeParameters(region, caller)).first else { return .notFound }
        let tag = try Tag(row: row)
        if !condition.allows(tag.version) { return .preconditionFailed(tag) }
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
