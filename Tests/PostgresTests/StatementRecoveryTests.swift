import Foundation
import Log
import Postgres
import Testing
import TestSupport

/// Prepared statements another instance's schema change made stale, transactions whose ROLLBACK
/// fails, and the connection options registryd adds to every connection string.
@Suite struct StatementRecoveryTests {
    let database: TestDatabase
    let logger = Logger(label: "test", level: .error, sink: LogSink.memory())

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    @Test func aStatementWhoseTableChangedIsPreparedAgain() throws {
        let connection = try Connection(connectionString: database.url)
        let otherInstance = try Connection(connectionString: database.url)
        try connection.execute("CREATE TABLE reshaped (a int)")
        try connection.query("INSERT INTO reshaped VALUES ($1)", [1])
        #expect(try connection.query("SELECT * FROM reshaped")[0].int64(0) == 1)
        // The cached plan's result type changes (0A000 "cached plan must not change result type").
        try otherInstance.execute("ALTER TABLE reshaped ADD COLUMN b text DEFAULT 'added'")
        let row = try connection.query("SELECT * FROM reshaped")[0]
        #expect(try row.string(1) == "added")
        // Inside a transaction, which the error aborts, the whole body runs again.
        try otherInstance.execute("ALTER TABLE reshaped ADD COLUMN c int DEFAULT 3")
        let c = try connection.withTransaction { try $0.query("SELECT * FROM reshaped")[0].int64(2) }
        #expect(c == 3)
        #expect(connection.isReusable)
    }

    @Test func aStatementTheServerForgotIsPreparedAgain() throws {
        let connection = try Connection(connectionString: database.url)
        #expect(try connection.query("SELECT $1::bigint + 1", [1])[0].int64(0) == 2)
        try connection.execute("DEALLOCATE ALL")  // as a pooler's DISCARD ALL would (26000 next)
        #expect(try connection.query("SELECT $1::bigint + 1", [2])[0].int64(0) == 3)
    }

    @Test func thePipelinePreparesAStaleStatementAgain() async throws {
        let pipeline = QueryPipeline(configuration: .init(connectionString: database.url, connections: 1), logger: logger)
        defer { pipeline.close() }
        let otherInstance = try Connection(connectionString: database.url)
        try otherInstance.execute("CREATE TABLE piped (a int); INSERT INTO piped VALUES (1)")
        #expect(try await pipeline.query("SELECT * FROM piped")[0].int64(0) == 1)
        try otherInstance.execute("ALTER TABLE piped ADD COLUMN b text DEFAULT 'added'")
        #expect(try await pipeline.query("SELECT * FROM piped")[0].string(1) == "added")
    }

    @Test func aFailedRollbackDiscardsTheConnectionAndIsLogged() throws {
        let logs = LogSink.memory()
        let pool = ConnectionPool(configuration: .init(connectionString: database.url, size: 1),
                                  logger: Logger(label: "test", level: .warning, sink: logs))
        defer { pool.close() }
        let admin = try Connection(connectionString: database.url)
        struct BodyFailed: Error {}
        #expect(throws: BodyFailed.self) {
            try pool.withTransaction { connection in
                let pid = try connection.query("SELECT pg_backend_pid()")[0].int64(0)
                try admin.query("SELECT pg_terminate_backend($1::int)", [Int(pid)])
                throw BodyFailed()  // the body's error stands, whatever ROLLBACK does
            }
        }
        #expect(pool.statistics.open == 0)
        #expect(logs.lines.contains { $0.contains("ROLLBACK failed") })
        #expect(try pool.withConnection { try $0.query("SELECT 1::int")[0].int64(0) } == 1)
    }

    @Test func keepaliveDefaultsApplyUnlessTheURLSetsThem() throws {
        let defaults = try Connection(connectionString: database.url)
        #expect(defaults.option("keepalives") == "1")
        #expect(defaults.option("keepalives_idle") == "10")
        #expect(defaults.option("keepalives_interval") == "3")
        #expect(defaults.option("keepalives_count") == "3")
        #expect(defaults.option("tcp_user_timeout") == "10000")
        #expect(defaults.option("connect_timeout") == "5")
        #expect(defaults.option("application_name") == "registryd")
        let separator = database.url.contains("?") ? "&" : "?"
        let custom = try Connection(
            connectionString: database.url + separator + "keepalives_idle=42&tcp_user_timeout=7000&connect_timeout=9")
        #expect(custom.option("keepalives_idle") == "42")
        #expect(custom.option("tcp_user_timeout") == "7000")
        #expect(custom.option("connect_timeout") == "9")
        #expect(custom.option("keepalives_count") == "3")
    }
}
