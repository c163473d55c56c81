import Postgres

/// How the repositories reach PostgreSQL without blocking the threads that serve HTTP.
///
/// Reads, which never wait on locks, go through the `QueryPipeline`, batched with other
/// requests' reads; writes and anything needing one connection for several statements run on
/// the `ConnectionPool`'s own threads. Without a pipeline (the command-line tools), reads run
/// on the pool too.
public struct DatabaseAccess: Sendable {
    public let pool: ConnectionPool
    public let pipeline: QueryPipeline?

    public init(pool: ConnectionPool, pipeline: QueryPipeline? = nil) {
        self.pool = pool
        self.pipeline = pipeline
    }

    /// Runs one read-only statement.
    func read(_ sql: String, _ parameters: [(any PostgresParameter)?]) async throws -> QueryResult {
        if let pipeline { return try await pipeline.query(sql, parameters) }
        return try await pool.run { try $0.query(sql, parameters) }
    }

    /// Runs `body` with a connection of its own, on a pool thread.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await pool.run(body)
    }
}
