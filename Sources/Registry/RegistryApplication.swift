import Foundation
import HTTP
import Log
import Postgres

/// Everything the service runs on top of a connection pool: the routes and the purger.
///
/// `registryd serve` and the tests build the service through this one type, so what is tested is
/// what runs.
public final class RegistryApplication: Sendable {
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

    public init(pool: ConnectionPool, settings: Settings, logger: Logger) {
        let namespaces = NamespaceRepository(pool: pool)
        let routes = RegistryRoutes(
            namespaces: NamespaceAPI(
                repository: namespaces,
                settings: RegistrySettings(regions: settings.regions, endpointTemplate: settings.endpointTemplate),
                quota: settings.namespaceQuota),
            authenticator: Authenticator(repository: APIKeyRepository(pool: pool), cacheLifetime: settings.authCacheLifetime),
            logger: logger)
        var router = Router()
        routes.register(on: &router)
        self.router = router
        purger = NamespacePurger(repository: namespaces, interval: settings.purgeInterval, logger: logger)
    }
}
