import FoundationEssentials
import Postgres

/// Namespaces in PostgreSQL: every statement the API runs on the `namespaces` table.
///
/// All statements are prepared once per connection and take their values as parameters.
/// Methods that address one namespace take its region and the caller: a namespace of another
/// organization (or, for a project-scoped key, another project) is not found, exactly like one
/// that does not exist. Reads go through the query pipeline, writes through the pool's threads
/// (see `DatabaseAccess`).
public struct NamespaceRepository: Sendable {
    let database: DatabaseAccess
    var pool: ConnectionPool { database.pool }

    /// The columns every statement returns, in the order `Namespace.init(row:)` reads them.
    static let columns = """
        id, name, description, organization_id, project_id, status, status_message, \
        is_public, size, image_count, created_at, updated_at, region, version
        """

    public init(database: DatabaseAccess) {
        self.database = database
    }

    // MARK: - Reading

    /// The namespace `id` in `region`, if it exists and `caller` may see it.
    public func find(id: UUID, region: String, caller: Caller) async throws -> Namespace? {
        let result = try await database.read(
            Self.findStatement, [id, region, caller.organizationID, caller.projectID], organization: caller.organizationID)
        return try result.first.map { try Namespace(row: $0) }
    }

    static func find(id: UUID, region: String, caller: Caller, on connection: Connection) throws -> Namespace? {
        let result = try connection.query(findStatement, [id, region, caller.organizationID, caller.projectID])
        return try result.first.map { try Namespace(row: $0) }
    }

    static let findStatement = "SELECT \(columns) FROM namespaces WHERE id = $1 AND region = $2 AND \(scope)"

    /// The condition that keeps a caller to its organization, and to its project when its key is
    /// scoped to one: parameters $3 (organization) and $4 (project or NULL).
    static let scope = "organization_id = $3 AND ($4::uuid IS NULL OR project_id = $4)"

    /// Whether `project` is known to belong to an organization other than `organization`: it is
    /// another organization's default project (an organization with namespaces or keys has the
    /// id), or another organization's key is scoped to it. Projects are not stored anywhere else,
    /// so a project nobody has used yet is anyone's to take.
    public func projectBelongsToAnotherOrganization(_ project: UUID, organization: UUID) async throws -> Bool {
        let result = try await database.read(
            """
            SELECT $1::uuid <> $2::uuid AND (
                   EXISTS (SELECT 1 FROM organization_usage WHERE organization_id = $1)
                OR EXISTS (SELECT 1 FROM api_keys WHERE organization_id = $1)
                OR EXISTS (SELECT 1 FROM api_keys WHERE project_id = $1 AND organization_id <> $2))
            """,
            [project, organization], organization: nil)  // other organizations' rows: no write of the caller's to wait for
        return try result.first?.bool(0) ?? false
    }

    // MARK: - Writing

    /// What `create` did.
    public enum CreateOutcome: Sendable, Equatable {
        case created(Namespace)
        /// Another namespace of the region has the name.
        case nameTaken
        /// The organization already holds `current` namespaces, the quota or more.
        case quotaExceeded(current: Int)
    }

    /// Inserts `namespace` unless its name is taken in the region or its organization is at `quota`.
    ///
    /// One statement, so one round trip: it locks the organization's row of `organization_usage`
    /// (creating it if needed) and inserts only while the count is below the quota. Concurrent
    /// creates of one organization queue on that row lock and each sees the count the previous
    /// one committed, so the quota holds exactly; the count itself (namespaces not `deleting`) is
    /// kept by triggers on `namespaces` (migration 0004). The usage row is locked before the
    /// namespace, the order every writer follows (see 0004), so waiting on a purger's pending
    /// delete of the same name cannot deadlock.
    public func create(_ namespace: NewNamespace, quota: Int) async throws -> CreateOutcome {
        try await database.write(organization: namespace.organizationID) { try Self.create(namespace, quota: quota, on: $0) }
    }

    /// `create` on `connection`, inside the caller's transaction when it has one (a name taken
    /// then aborts that transaction: the caller rolls it back).
    static func create(_ namespace: NewNamespace, quota: Int, on connection: Connection) throws -> CreateOutcome {
        let inserted: Result<QueryResult, PostgresError> = Result { () throws(PostgresError) in
            try connection.query(
                """
                WITH usage AS (
                    INSERT INTO organization_usage AS u (organization_id) VALUES ($4)
                    ON CONFLICT (organization_id) DO UPDATE SET namespace_count = u.namespace_count
                    RETURNING namespace_count
                )
                INSERT INTO namespaces (region, name, description, organization_id, project_id, is_public)
                SELECT $1, $2, $3, $4, $5, $6 FROM usage WHERE usage.namespace_count < $7
                RETURNING \(Self.columns)
                """,
                [namespace.region, namespace.name, namespace.description,
                 namespace.organizationID, namespace.projectID, namespace.isPublic, quota])
        }
        if case .failure(let error) = inserted, error.isUniqueViolation { return .nameTaken }
        let result = try inserted.get()
        if let row = result.first { return .created(try Namespace(row: row)) }
        let usage = try connection.query(
            "SELECT namespace_count FROM organization_usage WHERE organization_id = $1", [namespace.organizationID])
        return .quotaExceeded(current: Int(try usage.first?.int64(0) ?? 0))
    }

    /// What `update` found.
    public enum UpdateOutcome: Sendable, Equatable {
        case updated(Namespace)
        case notFound
        /// The namespace is being deleted and cannot change.
        case deleting(Namespace)
        /// `If-Match` named no version the namespace is at; it is returned as it is.
        case preconditionFailed(Namespace)
    }

    /// Applies `changes` and bumps `updated_at`, unless the namespace is being deleted.
    public func update(id: UUID, region: String, caller: Caller, changes: NamespaceChanges) async throws -> UpdateOutcome {
        try await database.write(organization: caller.organizationID) {
            try Self.update(id: id, region: region, caller: caller, changes: changes, condition: .none, on: $0)
        }
    }

    /// `update` on `connection`, only while the namespace is at a version `condition` allows.
    ///
    /// The version is compared in the UPDATE itself: of two writers holding the same ETag, the
    /// second waits on the first's row lock, then re-reads the row (READ COMMITTED re-checks the
    /// WHERE clause on the newest version) and finds the version moved on: exactly one wins.
    static func update(
        id: UUID, region: String, caller: Caller, changes: NamespaceChanges,
        condition: EntityTag.Condition, on connection: Connection
    ) throws -> UpdateOutcome {
        let result = try connection.query(
            """
            UPDATE namespaces
               SET description = COALESCE($5, description),
                   is_public = COALESCE($6::boolean, is_public),
                   updated_at = clock_timestamp()
             WHERE id = $1 AND region = $2 AND \(Self.scope) AND status <> 'deleting'
               AND ($7::bigint[] IS NULL OR version = ANY($7::bigint[]))
            RETURNING \(Self.columns)
            """,
            [id, region, caller.organizationID, caller.projectID, changes.description, changes.isPublic,
             condition.sqlArray])
        if let row = result.first { return .updated(try Namespace(row: row)) }
        guard let existing = try Self.find(id: id, region: region, caller: caller, on: connection) else {
            return .notFound
        }
        return existing.status == .deleting ? .deleting(existing) : .preconditionFailed(existing)
    }

    /// What `markDeleting` did.
    public enum DeleteOutcome: Sendable, Equatable {
        case marked(Namespace)
        case notFound
        /// `If-Match` named no version the namespace is at; it is returned as it is.
        case preconditionFailed(Namespace)
    }

    /// Marks the namespace `deleting` (first phase of a delete) and returns it; nil when not found.
    public func markDeleting(id: UUID, region: String, caller: Caller) async throws -> Namespace? {
        let outcome = try await database.write(organization: caller.organizationID) {
            try Self.markDeleting(id: id, region: region, caller: caller, condition: .none, on: $0)
        }
        if case .marked(let namespace) = outcome { return namespace }
        return nil
    }

    /// Marks the namespace `deleting`, only while it is at a version `condition` allows.
    ///
    /// Marking twice is harmless: a namespace already `deleting` keeps its `updated_at` (and its
    /// version), which records when it was marked; the purger removes it on its next pass, oldest
    /// marks first. A `deleting` namespace no longer counts towards the quota: the trigger that
    /// decrements the organization's usage row fires with this update, so the statement locks
    /// that row first (the CTE is scanned before any namespace row reaches the update), in the
    /// order creates take them (migration 0004). The version is compared in the same statement,
    /// as `update` does.
    static func markDeleting(
        id: UUID, region: String, caller: Caller, condition: EntityTag.Condition, on connection: Connection
    ) throws -> DeleteOutcome {
        let result = try connection.query(
            """
            WITH usage AS (
                SELECT organization_id FROM organization_usage WHERE organization_id = $3 FOR UPDATE
            )
            UPDATE namespaces AS n
               SET status = 'deleting',
                   updated_at = CASE WHEN n.status = 'deleting' THEN n.updated_at ELSE clock_timestamp() END
              FROM usage
             WHERE n.id = $1 AND n.region = $2 AND n.organization_id = usage.organization_id
               AND ($4::uuid IS NULL OR n.project_id = $4)
               AND ($5::bigint[] IS NULL OR n.version = ANY($5::bigint[]))
            RETURNING \(Self.qualifiedColumns)
            """,
            [id, region, caller.organizationID, caller.projectID, condition.sqlArray])
        if let row = result.first { return .marked(try Namespace(row: row)) }
        guard condition != .none,
              let existing = try Self.find(id: id, region: region, caller: caller, on: connection) else {
            return .notFound
        }
        return .preconditionFailed(existing)
    }
}

extension Namespace {
    /// Reads the columns of `NamespaceRepository.columns`, the first at column `offset`.
    init(row: Row, offset: Int = 0) throws {
        let statusText = try row.string(offset + 5)
        self.init(
            id: try row.uuid(offset),
            name: try row.string(offset + 1),
            description: try row.string(offset + 2),
            organizationID: try row.uuid(offset + 3),
            projectID: try row.uuid(offset + 4),
            status: Status(rawValue: statusText) ?? .unknown,
            statusMessage: try row.string(offset + 6),
            isPublic: try row.bool(offset + 7),
            size: try row.int64(offset + 8),
            imageCount: try row.int64(offset + 9),
            createdAt: try row.timestamp(offset + 10),
            updatedAt: try row.timestamp(offset + 11),
            region: try row.string(offset + 12),
            version: try row.int64(offset + 13))
    }
}
