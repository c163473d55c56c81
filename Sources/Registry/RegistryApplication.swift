import Foundation
import HTTP
import Log
import Postgres

/// Everything the service runs on top of a connection pool: the routes and the purger.
///
/// `registryd serve` and the tests build the service through this one type, so what is tested is
/// what runs.
public final class RegistryApplication: Sendable {
    /// registryd's version, for `--version` and `registryd_build_info`.
    public static let version = "0.1.0"

    /// What the application needs beyond the pool.
    public struct Settings: Sendable {
        public var regions: [String]
        public var endpointTemplate: String
        public var namespaceQuota: Int
        public var authCacheLifetime: Duration
        public var purgeInterval: Duration

        public init(
            regions: [String] = ["fr-par", "nl-ams", "pl-waw"],
            endpointTemplate: String = "rg.{region}.scw.cloud",
            namespaceQuota: Int = 100_000,
            authCacheLifetime: Duration = .seconds(10),
            purgeInterval: Duration = .milliseconds(200)
        ) {
            self.regions = regions
            self.endpointTemplate = endpointTemplate
            self.namespaceQuota = namespaceQuota
            self.authCacheLifetime = authCacheLifetime
            self.purgeInterval = purgeInterval
        }
    }

    /// Every route the service answers.
    public let router: Router
    /// The second phase of deletes; `start()` it once the server is up.
    public let purger: NamespacePurger
    /// Request, latency, pool and error metrics; pass `metrics.record` to the server.
    public let metrics: ServiceMetrics

    /// Builds the application; `migrator` (the migrations this build expects) feeds `/readyz`.
    /// Reads go through `pipeline` and writes through `pool` (see `DatabaseAccess`).
    public init(pool: ConnectionPool, pipeline: QueryPipeline, settings: Settings, migrator: Migrator?, logger: Logger) {
        let database = DatabaseAccess(pool: pool, pipeline: pipeline)
        let metrics = ServiceMetrics(pool: pool, pipeline: pipeline)
        self.metrics = metrics
        let namespaces = NamespaceRepository(database: database)
        let routes = RegistryRoutes(
            namespaces: NamespaceAPI(
                repository: namespaces,
                settings: RegistrySettings(regions: settings.regions, endpointTemplate: settings.endpointTemplate),
                quota: settings.namespaceQuota),
            authenticator: Authenticator(repository: APIKeyRepository(database: database), cacheLifetime: settings.authCacheLifetime),
            metrics: metrics,
            logger: logger)
        var router = Router()
        routes.register(on: &router)
        OperationsRoutes(pool: pool, migrator: migrator, metrics: metrics, logger: logger).register(on: &router)
        self.router = router
        purger = NamespacePurger(repository: namespaces, interval: settings.purgeInterval, logger: logger)
    }
}
