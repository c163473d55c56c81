import Postgres

/// How the repositories reach PostgreSQL without blocking the threads that serve HTTP.
///
/// Reads, which never wait on locks, go through the `QueryPipeline`, batched with other
/// requests' reads; writes and anything needing one connection for several statements run on
/// the `ConnectionPool`'s own threads. Without a pipeline (the command-line tools), reads run
/// on the pool too. Listings, whose cost grows with an organization's size, have a lane of their
/// own (`listings`, a second pipeline) when one is given, so that a GET by id never waits in a
/// batch behind one.
public struct DatabaseAccess: Sendable {
    public let pool: ConnectionPool
    public let pipeline: QueryPipeline?
    /// The listing lane; nil: listings go through `pipeline` like every other read.
    public let listings: QueryPipeline?

    public init(pool: ConnectionPool, pipeline: QueryPipeline? = nil, listings: QueryPipeline? = nil) {
        self.pool = pool
        self.pipeline = pipeline
        self.listings = listings
    }

    /// Runs one read-only statement.
    func read(_ sql: String, _ parameters: [(any PostgresParameter)?]) async throws -> QueryResult {
        if let pipeline { return try await pipeline.query(sql, parameters) }
        return try await pool.run { try $0.query(sql, parameters) }
    }

    /// Runs one listing statement, in the listing lane when there is one.
    func readListing(_ sql: String, _ parameters: [(any PostgresParameter)?]) async throws -> QueryResult {
        if let listings { return try await listings.query(sql, parameters) }
        return try await read(sql, parameters)
    }

    /// Runs `body` with a connection of its own, on a pool thread.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await pool.run(body)
    }
}
