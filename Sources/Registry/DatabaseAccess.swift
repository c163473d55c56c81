import FoundationEssentials
import Postgres

/// How the repositories reach PostgreSQL without blocking the threads that serve HTTP.
///
/// Reads, which never wait on locks, go through the `QueryPipeline`, batched with other
/// requests' reads; writes and anything needing one connection for several statements run on
/// the `ConnectionPool`'s own threads. Without a pipeline (the command-line tools), reads run
/// on the pool too. Listings, whose cost grows with an organization's size, have a lane of their
/// own (`listings`, a second pipeline) when one is given, so that a GET by id never waits in a
/// batch behind one. With a replica (`DATABASE_READ_URL`), gets, lists and API-key lookups go to
/// it whenever `ReplicaReads` says it holds what the caller must see, else to the primary.
public struct DatabaseAccess: Sendable {
    public let pool: ConnectionPool
    public let pipeline: QueryPipeline?
    /// The listing lane; nil: listings go through `pipeline` like every other read.
    public let listings: QueryPipeline?

    /// The read replica; nil: every read goes to the primary.
    public let replica: ReplicaReads?

    public init(pool: ConnectionPool, pipeline: QueryPipeline? = nil, listings: QueryPipeline? = nil, replica: ReplicaReads? = nil) {
        self.pool = pool
        self.pipeline = pipeline
        self.listings = listings
        self.replica = replica
    }

    /// Runs one read-only statement for `organization` (nil: a read not tied to one), on the
    /// replica when it may serve it (see `ReplicaReads`). With `primaryWhenEmpty`, an empty answer
    /// from the replica is asked again of the primary (an API key created a moment ago).
    func read(
        _ sql: String, _ parameters: [(any PostgresParameter)?], organization: UUID?, primaryWhenEmpty: Bool = false
    ) async throws -> QueryResult {
        if let result = try await onReplica(sql, parameters, organization: organization, primaryWhenEmpty: primaryWhenEmpty) {
            return result
        }
        return try await onPrimary(sql, parameters)
    }

    /// Runs one listing statement for `organization`, on the replica when it may serve it, else
    /// in the listing lane when there is one.
    func readListing(_ sql: String, _ parameters: [(any PostgresParameter)?], organization: UUID?) async throws -> QueryResult {
        if let result = try await onReplica(sql, parameters, organization: organization, primaryWhenEmpty: false) { return result }
        if let listings { return try await listings.query(sql, parameters) }
        return try await onPrimary(sql, parameters)
    }

    /// The primary's answer, through the read pipeline (or the pool without one).
    private func onPrimary(_ sql: String, _ parameters: [(any PostgresParameter)?]) async throws -> QueryResult {
        if let pipeline { return try await pipeline.query(sql, parameters) }
        return try await pool.run { try $0.query(sql, parameters) }
    }

    /// The replica's answer, or nil when the primary must answer: the replica may not serve this
    /// caller now, failed (a replica that fails must not fail reads), or found nothing and
    /// `primaryWhenEmpty` is set.
    private func onReplica(
        _ sql: String, _ parameters: [(any PostgresParameter)?], organization: UUID?, primaryWhenEmpty: Bool
    ) async throws -> QueryResult? {
        guard let replica, replica.serves(organization: organization) else { return nil }
        do {
            let result = try await replica.pipeline.query(sql, parameters)
            return primaryWhenEmpty && result.rowCount == 0 ? nil : result
        } catch let error as PostgresError where error.isUnavailable {
            return nil
        }
    }

    /// Runs `body` with a connection of its own, on a pool thread. `organization`: whose write
    /// this is, so that its next reads go to the primary until the replica has it (nil: a write
    /// no caller reads back at once, such as the purger's).
    func write<T: Sendable>(organization: UUID? = nil, _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        defer { if let organization { replica?.noteWrite(organization: organization) } }
        return try await pool.run(body)
    }
}
