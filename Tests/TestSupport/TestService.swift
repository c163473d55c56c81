import Foundation
import EventLoops
import HTTP
import Log
import Postgres
import Registry

/// The registry API served in-process over a real socket, on a fresh database.
public final class TestService: Sendable {
    public let database: TestDatabase
    public let application: RegistryApplication
    public let logs: LogSink
    public let baseURL: String

    public var server: Server { application.server }
    public var router: Router { application.router }
    public var purger: NamespacePurger { application.purger }

    /// Starts a service with the production defaults (epoll workers, connections suspended while
    /// the database answers, reads through the pipeline, listings in their own lane, per-organization
    /// admission), a purger every 50 ms, and otherwise the settings given. `admin`, when given,
    /// is the administrative URL of the server(s) to create the database on (a failover URL);
    /// `replicaAdmin`, that of a replica of it, to read from (`DATABASE_READ_URL`).
    public init(
        regions: [String] = ["fr-par", "nl-ams", "pl-waw"],
        quota: Int = 100_000,
        authCacheLifetime: Duration = .seconds(10),
        authMissLifetime: Duration = .seconds(1),
        readinessInterval: Duration = .seconds(2),
        poolSize: Int = 10,
        poolTimeout: Duration = .seconds(5),
        statementTimeout: Duration? = nil,
        fairness: Fairness = Fairness(),
        cluster: PrivateCluster? = nil,
        admin: String? = nil,
        replicaAdmin: String? = nil,
        replicaMaxLag: Duration = .seconds(1)
    ) throws {
        database = try TestDatabase(
            poolSize: poolSize, acquireTimeout: poolTimeout, statementTimeout: statementTimeout,
            admin: admin ?? cluster?.adminURL ?? TestPostgres.adminURL)
        logs = LogSink.memory()
        let logger = Logger(label: "test", level: .info, sink: logs)
        let loops = EventLoopGroup(count: 2, name: "test-loop")
        application = RegistryApplication(
            pool: database.pool,
            pipeline: .init(connectionString: database.url, connections: 2, queueTimeout: poolTimeout,
                            statementTimeout: statementTimeout),
            server: .init(host: "127.0.0.1", port: 0, eventLoops: 2),
            settings: .init(regions: regions, namespaceQuota: quota, authCacheLifetime: authCacheLifetime,
                            authMissLifetime: authMissLifetime, purgeInterval: .milliseconds(50),
                            readinessInterval: readinessInterval, fairness: fairness),
            migrator: Migrator(migrations: try Migration.load(from: TestPostgres.migrationsDirectory), logger: logger),
            logger: logger,
            loops: loops,
            replica: replicaAdmin.map { [database] replicaAdmin in
                let databaseName = URLComponents(string: database.url)?.path.dropFirst() ?? ""
                return ReplicaReads(
                    replica: .init(connectionString: TestPostgres.url(of: replicaAdmin, database: String(databaseName)),
                                   connections: 2, queueTimeout: poolTimeout, statementTimeout: statementTimeout),
                    primaryURL: database.url, maxLag: replicaMaxLag, loops: loops, logger: logger)
            })
        try application.start()
        baseURL = "http://127.0.0.1:\(application.server.port)"
    }

    deinit {
        application.stop(gracePeriod: .seconds(1))
        database.pool.close()
    }

    /// Creates an API key and returns a client that sends its secret.
    public func client(organization: UUID = UUID(), project: UUID? = nil, expiresIn: Duration? = nil) throws -> TestClient {
        let key = try APIKeyRepository(pool: database.pool).create(
            organizationID: organization, projectID: project, description: "test", expiresIn: expiresIn)
        return TestClient(baseURL: baseURL, token: key.secretKey)
    }

    /// Creates an API key and returns it with its secret.
    public func createKey(organization: UUID, project: UUID? = nil, expiresIn: Duration? = nil) throws -> CreatedAPIKey {
        try APIKeyRepository(pool: database.pool).create(
            organizationID: organization, projectID: project, description: "test", expiresIn: expiresIn)
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs blocking work (raw sockets, processes) on its own thread, so that it never starves the
/// few threads of Swift's cooperative pool that the other tests share.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// Threads of the tests' own, outside Swift's cooperative pool (which the other tests' blocking
/// set-up can keep busy for seconds): `Task(executorPreference: dedicatedExecutor)`.
public let dedicatedExecutor = TestThreads(count: 4)

/// Runs `body` on threads of its own: for tests that time how fast something answers, so that
/// the measure is not how long the other tests kept the two cooperative threads busy.
public func onDedicatedThreads<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
    try await withTaskExecutorPreference(dedicatedExecutor) {
        try await body()
    }
}
