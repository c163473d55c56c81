import EventLoops
import FoundationEssentials
import HTTP
import Log
import Postgres

/// The running service on top of a connection pool: the read pipeline, the routes, the HTTP
/// server and the event loops its handlers run on, the metrics, the purger and the webhook
/// dispatcher, wired together.
///
/// `registryd serve` and the tests build the service through this one type, so what is tested is
/// what runs: in particular the HTTP server and the read pipelines share one group of event loops,
/// so that a GET is parsed, queried and answered on one thread (see `QueryPipeline`), a wiring
/// that only matters for speed and would be easy to lose in a copy.
public final class RegistryApplication: Sendable {
    /// registryd's version, for `--version` and `registryd_build_info`.
    public static let version = "0.1.0"

    /// What the application needs beyond the pool.
    public struct Settings: Sendable {
        public var regions: [String]
        public var endpointTemplate: String
        public var namespaceQuota: Int
        public var authCacheLifetime: Duration
        /// How long an unknown token is answered 401 without a lookup (see `Authenticator`).
        public var authMissLifetime: Duration
        public var purgeInterval: Duration
        /// Time between two readiness probes (see `ReadinessProbe`).
        public var readinessInterval: Duration
        /// Per-organization limits and the listing lane (see `Fairness`).
        public var fairness: Fairness
        /// The token service, event receiver and reconciler; nil (no signing key) leaves them off.
        public var dataPlane: DataPlaneSettings?
        /// The webhook endpoints fed by the audit trail; nil (no `WEBHOOK_URLS`) leaves them off.
        public var webhooks: WebhookSettings?

        public init(
            regions: [String] = ["fr-par", "nl-ams", "pl-waw"],
            endpointTemplate: String = "rg.{region}.scw.cloud",
            namespaceQuota: Int = 100_000,
            authCacheLifetime: Duration = .seconds(10),
            authMissLifetime: Duration = .seconds(1),
            purgeInterval: Duration = .milliseconds(200),
            readinessInterval: Duration = .seconds(1),
            fairness: Fairness = Fairness(),
            dataPlane: DataPlaneSettings? = nil,
            webhooks: WebhookSettings? = nil
        ) {
            self.regions = regions
            self.endpointTemplate = endpointTemplate
            self.namespaceQuota = namespaceQuota
            self.authCacheLifetime = authCacheLifetime
            self.authMissLifetime = authMissLifetime
            self.purgeInterval = purgeInterval
            self.readinessInterval = readinessInterval
            self.fairness = fairness
            self.dataPlane = dataPlane
            self.webhooks = webhooks
        }
    }

    /// Every route the service answers.
    public let router: Router
    /// The second phase of deletes; started and stopped with the application.
    public let purger: NamespacePurger
    /// What `/readyz` answers from.
    public let readiness: ReadinessProbe
    /// Request, latency, pool and error metrics.
    public let metrics: ServiceMetrics
    /// The event loops: the HTTP connections and the read connections of each loop's thread.
    public let loops: EventLoopGroup
    /// The connections that batch the reads.
    public let pipeline: QueryPipeline
    /// The listing lane: a pipeline of its own for listings; nil when they share `pipeline`.
    public let listingPipeline: QueryPipeline?
    /// The per-organization limits on writes and listings.
    public let admission: TenantAdmission
    /// The HTTP server; listening once `start` returns.
    public let server: Server
    /// The read replica (`DATABASE_READ_URL`) and its probe; nil: reads go to the primary.
    public let replica: ReplicaReads?
    /// Repairs images from the registries; nil when the data plane is off.
    public let reconciler: Reconciler?
    /// Delivers change events to the webhook endpoints; nil without any.
    public let webhooks: WebhookDispatcher?

    /// Builds the application; nothing listens until `start`.
    ///
    /// Reads go through a `QueryPipeline` configured by `pipeline`, writes through `pool` (see
    /// `DatabaseAccess`); `migrator` (the migrations this build expects) feeds `/readyz`. The HTTP
    /// server and the pipelines run on `loops` (nil: `serverConfiguration.eventLoops` new ones),
    /// which `stop` shuts down; pass the same group to `replica`.
    public init(
        pool: ConnectionPool, pipeline pipelineConfiguration: QueryPipeline.Configuration,
        server serverConfiguration: Server.Configuration, settings: Settings, migrator: Migrator?, logger: Logger,
        loops: EventLoopGroup? = nil, replica: ReplicaReads? = nil
    ) {
        self.replica = replica
        let loops = loops ?? EventLoopGroup(count: serverConfiguration.eventLoops, name: "loop")
        self.loops = loops
        func makePipeline(connections: Int) -> QueryPipeline {
            var configuration = pipelineConfiguration
            configuration.connections = connections
            return QueryPipeline(configuration: configuration, loops: loops, logger: logger)
        }
        let pipeline = makePipeline(connections: pipelineConfiguration.connections)
        self.pipeline = pipeline
        let fairness = settings.fairness
        listingPipeline = fairness.listingConnections > 0 ? makePipeline(connections: fairness.listingConnections) : nil
        let admission = TenantAdmission(fairness, timeout: pool.configuration.acquireTimeout)
        self.admission = admission
        let database = DatabaseAccess(pool: pool, pipeline: pipeline, listings: listingPipeline, replica: replica)
        let metrics = ServiceMetrics(pool: pool, pipeline: pipeline, logSink: logger.sink)
        self.metrics = metrics
        let namespaces = NamespaceRepository(database: database)
        let registrySettings = RegistrySettings(regions: settings.regions, endpointTemplate: settings.endpointTemplate)
        let authenticator = Authenticator(repository: APIKeyRepository(database: database),
                                          cacheLifetime: settings.authCacheLifetime, missLifetime: settings.authMissLifetime)
        metrics.observe(authenticator)
        let routes = RegistryRoutes(
            namespaces: NamespaceAPI(
                repository: namespaces, settings: registrySettings, quota: settings.namespaceQuota, admission: admission),
            images: ImageAPI(repository: ImageRepository(database: database), settings: registrySettings, admission: admission),
            authenticator: authenticator,
            metrics: metrics,
            logger: logger)
        var router = Router()
        routes.register(on: &router)
        // MARK: data plane (issue 11)
        if let dataPlane = settings.dataPlane {
            let content = RegistryContentRepository(database: database)
            DataPlaneRoutes(
                tokens: TokenAPI(settings: dataPlane, registry: registrySettings, authenticator: authenticator, repository: content),
                events: EventReceiverAPI(settings: dataPlane, registry: registrySettings, repository: content, logger: logger),
                metrics: metrics, logger: logger
            ).register(on: &router)
            reconciler = Reconciler(settings: dataPlane, registry: registrySettings, database: database, logger: logger)
        } else {
            reconciler = nil
        }
        let readiness = ReadinessProbe(pool: pool, pipeline: pipeline, migrator: migrator,
                                       interval: settings.readinessInterval, logger: logger)
        self.readiness = readiness
        OperationsRoutes(probe: readiness, metrics: metrics).register(on: &router)
        self.router = router
        purger = NamespacePurger(repository: namespaces, interval: settings.purgeInterval, logger: logger)
        webhooks = settings.webhooks.map {
            WebhookDispatcher(settings: $0, connectionString: pool.configuration.connectionString, logger: logger)
        }
        metrics.observe(webhooks: webhooks)
        server = Server(configuration: serverConfiguration, router: router, logger: logger, loops: loops,
                        onCompletion: { metrics.record($0) })
        metrics.observe(server)
        metrics.observe(admission: admission, listings: listingPipeline)
    }

    /// Runs the first readiness probe, starts listening, then the purger, the reconciler and the
    /// webhook workers.
    public func start() throws(ServerError) {
        replica?.start()
        readiness.start()
        try server.start()
        purger.start()
        reconciler?.start()
        webhooks?.start()
    }

    /// Stops listening and lets requests in flight finish for up to `gracePeriod`, then stops the
    /// purger, the admissions and the pipelines; returns false, having stopped nothing more, when requests were
    /// still in flight (the caller should then exit, see `Server.shutdown`).
    @discardableResult
    public func stop(gracePeriod: Duration) -> Bool {
        guard server.shutdown(gracePeriod: gracePeriod) else { return false }
        readiness.stop()
        purger.stop()
        admission.close()
        reconciler?.stop()
        webhooks?.stop()
        pipeline.close()
        listingPipeline?.close()
        replica?.stop()
        loops.shutdown()
        return true
    }
}
