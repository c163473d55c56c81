import Foundation
import Log
import Postgres
import Testing
import TestSupport

/// A PostgreSQL that stops answering without closing its sockets (SIGSTOP on every process, as a
/// frozen VM): each wait of registryd's must still end by its own deadline.
@Suite struct FrozenServerTests {
    let logger = Logger(label: "test", level: .error, sink: LogSink.memory())

    /// Runs `body` on threads of the tests' own (other suites' load must not count) and returns
    /// what it threw, as a `PostgresError` (nil if it threw nothing or something else), and how long it took.
    private func failure(of body: @escaping @Sendable () async throws -> Void) async -> (error: PostgresError?, elapsed: Duration) {
        await onDedicatedThreads {
            let started = ContinuousClock.now
            var thrown: PostgresError?
            do { try await body() } catch { thrown = error as? PostgresError ?? .unexpectedResult("not a PostgresError: \(error)") }
            return (thrown, ContinuousClock.now - started)
        }
    }

    @Test func connectionPoolAndPipelineFailByTheirDeadlinesAndRecoverOnThaw() async throws {
        // initdb and start take seconds: off the cooperative threads the other suites share.
        let cluster = try await blocking { try PrivateCluster() }
        let url = cluster.adminURL
        let statementTimeout = Duration.milliseconds(400)
        let connection = try Connection(connectionString: url, statementTimeout: statementTimeout)
        let pool = ConnectionPool(
            configuration: .init(connectionString: url, size: 2, acquireTimeout: .milliseconds(500), connectTimeoutSeconds: 2,
                                 statementTimeout: statementTimeout),
            logger: logger)
        defer { pool.close() }
        let pipeline = QueryPipeline(
            configuration: .init(connectionString: url, connections: 1, queueTimeout: .milliseconds(500), connectTimeoutSeconds: 2,
                                 statementTimeout: statementTimeout),
            logger: logger)
        defer { pipeline.close() }
        // Everything connected and prepared before the freeze.
        #expect(try connection.query("SELECT 1::bigint")[0].int64(0) == 1)
        #expect(try pool.withConnection { try $0.query("SELECT 2::bigint")[0].int64(0) } == 2)
        #expect(try await pipeline.query("SELECT 3::bigint")[0].int64(0) == 3)

        let frozen = try cluster.freeze()
        var thawed = false
        defer { if !thawed { cluster.thaw(frozen) } }

        // A statement on an open connection: `timedOut` at statement timeout + margin, connection given up.
        let bound = statementTimeout + Connection.serverTimeoutMargin + .seconds(1)
        nonisolated(unsafe) let unsafeConnection = connection
        let direct = await failure { try unsafeConnection.query("SELECT 1::bigint") }
        #expect(direct.error?.isUnavailable == true)
        #expect(direct.error?.description == "the database did not answer in time")
        #expect(direct.elapsed < bound)
        #expect(!connection.isOpen)

        // A new connection: the postmaster accepts the socket but never answers.
        let opening = await failure { _ = try Connection(connectionString: url, connectTimeoutSeconds: 1) }
        #expect(opening.error?.isUnavailable == true)
        #expect(opening.elapsed < .seconds(2))

        // The pool (its idle connection hangs) and the pipeline (its open connection hangs).
        let pooled = await failure { try await pool.run { try $0.execute("SELECT 2") } }
        #expect(pooled.error?.isUnavailable == true)
        #expect(pooled.elapsed < .milliseconds(500) + bound)
        let piped = await failure { _ = try await pipeline.query("SELECT 3::bigint").rowCount }
        #expect(piped.error?.isUnavailable == true)
        #expect(piped.elapsed < .milliseconds(500) + bound)

        cluster.thaw(frozen)
        thawed = true
        let recovered = await eventually(timeout: .seconds(3)) {
            let viaPool = try? await pool.run { try $0.query("SELECT 2::bigint")[0].int64(0) }
            let viaPipeline = try? await pipeline.query("SELECT 3::bigint")[0].int64(0)
            return viaPool == 2 && viaPipeline == 3
        }
        #expect(recovered)
    }

    @Test func theMigratorGivesUpOnALockHeldTooLong() async throws {
        let database = try TestDatabase(migrated: false)
        let migrator = Migrator(migrations: try Migration.load(from: TestPostgres.migrationsDirectory), logger: logger)
        // Another instance holds the migration lock and never lets go.
        let holder = try Connection(connectionString: database.url)
        try holder.query("SELECT pg_advisory_lock($1)", [Int64(0x7265_6769_7374_7279)])
        let waiting = await failure { try migrator.migrate(on: database.pool, timeout: .milliseconds(500)) }
        #expect(waiting.error?.isUnavailable == true)
        #expect(waiting.elapsed < .milliseconds(1500))
        try holder.query("SELECT pg_advisory_unlock($1)", [Int64(0x7265_6769_7374_7279)])
        #expect(try migrator.migrate(on: database.pool, timeout: .seconds(30)).count == migrator.migrations.count)
    }
}
