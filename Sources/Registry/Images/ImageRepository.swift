import FoundationEssentials
import Postgres

/// Images and tags as the API reads and changes them; the registries' events and the reconciler
/// write them (`RegistryContentRepository`).
///
/// An image belongs to its namespace's organization and project: every statement joins the
/// namespace and keeps the caller to it (`scope`), so that another organization's image or tag
/// is not found, exactly like one that does not exist.
public struct ImageRepository: Sendable {
    let database: DatabaseAccess

    /// Reads through `database`'s pipeline (listings in its listing lane), writes on its pool.
    public init(database: DatabaseAccess) {
        self.database = database
    }

    /// The columns of an image, alias `i`, in the order `Image.init(row:)` reads them. Tag names
    /// are joined with `,`, which the registry never lets into a tag (`[\w][\w.-]{0,127}`).
    static let imageColumns = """
        i.id, i.name, i.namespace_id, i.status, i.status_message, i.visibility, i.size, i.created_at, i.updated_at, \
        (SELECT string_agg(t.name, ',' ORDER BY t.name) FROM tags t WHERE t.image_id = i.id) AS tags, i.version
        """

    /// The columns of a tag, alias `t`, in the order `Tag.init(row:)` reads them.
    static let tagColumns = "t.id, t.name, t.image_id, t.status, t.digest, t.created_at, t.updated_at, t.version"

    /// Keeps the caller to its namespaces of the region, alias `n`: parameters $2 (region), $3
    /// (organization) and $4 (project or NULL).
    static let scope = "n.region = $2 AND n.organization_id = $3 AND ($4::uuid IS NULL OR n.project_id = $4)"

    static func scopeParameters(_ region: String, _ caller: Caller) -> [(any PostgresParameter)?] {
        [region, caller.organizationID, caller.projectID]
    }

    // MARK: - Reading

    /// The image `id` in `region`, if it exists and `caller` may see it.
    public func findImage(id: UUID, region: String, caller: Caller) async throws -> Image? {
        let result = try await database.read(
            Self.findImageStatement, [id] + Self.scopeParameters(region, caller), organization: caller.organizationID)
        return try result.first.map { try Image(row: $0) }
    }

    static let findImageStatement = """
        SELECT \(imageColumns) FROM images i JOIN namespaces n ON n.id = i.namespace_id WHERE i.id = $1 AND \(scope)
        """

    /// The tag `id` in `region`, if it exists and `caller` may see its image.
    public func findTag(id: UUID, region: String, caller: Caller) async throws -> Tag? {
        let result = try await database.read(
            """
            SELECT \(Self.tagColumns) FROM tags t JOIN images i ON i.id = t.image_id JOIN namespaces n ON n.id = i.namespace_id
             WHERE t.id = $1 AND \(Self.scope)
            """, [id] + Self.scopeParameters(region, caller), organization: caller.organizationID)
        return try result.first.map { try Tag(row: $0) }
    }
}

extension Image {
    /// Reads the columns of `ImageRepository.imageColumns`, the first at column `offset`.
    init(row: Row, offset: Int = 0) throws {
        let tags = try row.optionalString(offset + 9) ?? ""
        self.init(
            id: try row.uuid(offset),
            name: try row.string(offset + 1),
            namespaceID: try row.uuid(offset + 2),
            status: Status(rawValue: try row.string(offset + 3)) ?? .unknown,
            statusMessage: try row.string(offset + 4),
            visibility: Visibility(rawValue: try row.string(offset + 5)) ?? .inherit,
            size: try row.int64(offset + 6),
            createdAt: try row.timestamp(offset + 7),
            updatedAt: try row.timestamp(offset + 8),
            tags: tags.isEmpty ? [] : tags.split(separator: ",").map(String.init),
            version: try row.int64(offset + 10))
    }
}

extension Tag {
    /// Reads the columns of `ImageRepository.tagColumns`, the first at column `offset`.
    init(row: Row, offset: Int = 0) throws {
        self.init(
            id: try row.uuid(offset),
            name: try row.string(offset + 1),
            imageID: try row.uuid(offset + 2),
            status: Image.Status(rawValue: try row.string(offset + 3)) ?? .unknown,
            digest: try row.string(offset + 4),
            createdAt: try row.timestamp(offset + 5),
            updatedAt: try row.timestamp(offset + 6),
            version: try row.int64(offset + 7))
    }
}
