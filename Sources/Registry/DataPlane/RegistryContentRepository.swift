import FoundationEssentials
import JSON
import Postgres

/// Images, manifests and tags in PostgreSQL, as the registries' events and the reconciler report them.
///
/// Every change to one image runs in one transaction that first locks its namespace row (for an
/// event, inside `registry_apply_event`; for the reconciler, `lockNamespace`): the
/// namespace's counters (kept by the 0002 trigger) change with the image, and concurrent events for
/// one namespace apply one after the other instead of deadlocking on it.
struct RegistryContentRepository: Sendable {
    let database: DatabaseAccess

    /// What the grant matrix needs about `namespace/image` in `region`; nil when no such namespace.
    func facts(region: String, namespace: String, image: String) async throws -> RepositoryFacts? {
        let result = try await database.read(
            """
            SELECT n.organization_id, n.project_id, n.status, n.is_public, i.visibility, i.status,
                   EXISTS (SELECT 1 FROM registry_deletions d WHERE d.region = $1 AND d.repository = $2 || '/' || $3)
              FROM namespaces n LEFT JOIN images i ON i.namespace_id = n.id AND i.name = $3
             WHERE n.region = $1 AND n.name = $2
            """, [region, namespace, image], organization: nil)  // any caller's token, anonymous ones too: within DB_READ_MAX_LAG_MS
        guard let row = result.first else { return nil }
        return RepositoryFacts(
            organizationID: try row.uuid(0), projectID: try row.uuid(1), namespaceStatus: try row.string(2),
            isPublic: try row.bool(3), imageVisibility: try row.optionalString(4), imageStatus: try row.optionalString(5),
            hasPendingDeletions: try row.bool(6))
    }

    /// What applying one event did.
    enum Outcome: Sendable, Equatable {
        case applied
        /// Its id was applied before.
        case duplicate
        /// It names no `ready` namespace of the region, or a repository outside any namespace.
        case ignored
    }

    /// Applies `event` once: a repeated id changes nothing. One round trip: `registry_apply_event`
    /// (migration 0006) dedupes, locks the namespace and applies the change in one statement.
    func apply(_ event: RegistryEvent, region: String) async throws -> Outcome {
        guard let path = RepositoryName.split(event.repository) else { return .ignored }
        var action = "delete", digest: String?, mediaType: String?, tag: String?, references = "[]"
        switch event.change {
        case .pushManifest(let pushed, let type, let pushedTag, let referenced):
            (action, digest, mediaType, tag) = ("push", pushed, type, pushedTag)
            references = Self.json(referenced)
        case .deleteManifest(let deleted):
            digest = deleted
        case .deleteTag(let deleted):
            tag = deleted
        }
        let parameters: [(any PostgresParameter)?] = [
            event.id, region, path.namespace, path.image, action, digest, mediaType, tag, references, event.timestamp,
            event.actor ?? "", event.requestID ?? event.id,
        ]
        // One statement, its own transaction: one round trip (the function turns synchronous_commit off).
        // The sub-query sets who pushed, for the audit triggers (migration 0011), before the
        // function runs: it holds volatile calls, so it is scanned, not folded into the outer list.
        let outcome = try await database.write { connection in
            try connection.query(
                """
                SELECT registry_apply_event($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, to_timestamp($10::bigint / 1e6))
                  FROM (SELECT set_config('registryd.event_actor', $11, true),
                               set_config('registryd.event_request_id', $12, true)) AS pusher
                """,
                parameters).first?.string(0)
        }
        switch outcome {
        case "applied": return .applied
        case "duplicate": return .duplicate
        default: return .ignored
        }
    }

    /// The references as the JSON array `registry_apply_event` reads.
    static func json(_ references: [RegistryEvent.Reference]) -> String {
        var json = JSONWriter(capacity: 64 + references.count * 160)
        json.beginArray()
        for reference in references {
            json.beginObject()
            json.field("digest", reference.digest)
            json.field("media_type", reference.mediaType)
            json.field("size", reference.size)
            json.field("is_manifest", reference.isManifest)
            json.endObject()
        }
        json.endArray()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    // MARK: - Statements shared with the reconciler

    /// Locks the `ready` namespace `name` of `region` for the transaction; nil when there is none.
    static func lockNamespace(region: String, name: String, on connection: Connection) throws -> UUID? {
        try connection.query(
            "SELECT id FROM namespaces WHERE region = $1 AND name = $2 AND status = 'ready' FOR UPDATE",
            [region, name]).first?.uuid(0)
    }

    static func imageID(namespaceID: UUID, name: String, on connection: Connection) throws -> UUID? {
        try connection.query("SELECT id FROM images WHERE namespace_id = $1 AND name = $2", [namespaceID, name]).first?.uuid(0)
    }

    static func upsertImage(namespaceID: UUID, name: String, on connection: Connection) throws -> UUID {
        let result = try connection.query(
            """
            INSERT INTO images (namespace_id, name) VALUES ($1, $2)
            ON CONFLICT (namespace_id, name) DO UPDATE SET updated_at = now()
            RETURNING id
            """, [namespaceID, name])
        guard let row = result.first else { throw PostgresError.unexpectedResult("image upsert returned no row") }
        return try row.uuid(0)
    }

    static func insertManifest(
        imageID: UUID, digest: String, mediaType: String, references: [RegistryEvent.Reference], on connection: Connection
    ) throws {
        _ = try connection.query(
            "INSERT INTO manifests (image_id, digest, media_type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [imageID, digest, mediaType])
        for reference in references {
            _ = try connection.query(
                """
                INSERT INTO manifest_references (image_id, manifest_digest, digest, media_type, size, is_manifest)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                """, [imageID, digest, reference.digest, reference.mediaType, reference.size, reference.isManifest])
        }
    }

    static func setTag(imageID: UUID, name: String, digest: String, on connection: Connection) throws {
        _ = try connection.query(
            """
            INSERT INTO tags (image_id, name, digest) VALUES ($1, $2, $3)
            ON CONFLICT (image_id, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()
             WHERE tags.digest <> EXCLUDED.digest
            """, [imageID, name, digest])
    }

    /// Recomputes the image's size from its tags; the 0002 trigger carries the change into the namespace.
    static func refreshSize(imageID: UUID, on connection: Connection) throws {
        _ = try connection.query(
            """
            UPDATE images SET size = s.size, updated_at = now()
              FROM (SELECT image_content_size($1::uuid) AS size) s
             WHERE images.id = $1 AND images.size <> s.size
            """, [imageID])
    }
}
