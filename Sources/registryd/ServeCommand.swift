import FoundationEssentials
#if canImport(Glibc)
import EventLoops
import Glibc
#endif
import HTTP
import Log
import Postgres
import Registry

/// `registryd serve`: migrate, then serve until SIGTERM, SIGINT or SIGQUIT, then stop gracefully.
///
/// Exits 0 when every request in flight was answered within the grace period, 1 when some were
/// dropped (or start-up failed), so that a supervisor can tell a clean stop from a lossy one.
enum ServeCommand {
    static func run(_ configuration: Configuration) -> Int32 {
        // Before any thread exists, so that every thread inherits the mask and only sigwait sees them.
        let signals = Signals.block()
        let logger = Logger(label: "registryd", level: configuration.logLevel)
        let pool = Database.pool(configuration, logger: logger)
        defer { pool.close() }

        let migrator: Migrator
        do {
            migrator = try Database.migrator(configuration, logger: logger)
            try Database.waitUntilReachable(pool, timeout: .seconds(configuration.startupTimeoutSeconds), logger: logger)
            let applied = try migrator.migrate(on: pool, timeout: .seconds(configuration.startupTimeoutSeconds))
            logger.info("schema is current", ["applied_now": .int(applied.count)])
            try WebhookDispatcher.registerEndpoints(configuration.webhooks, pool: pool, logger: logger)
            if let webhooks = configuration.webhooks {
                logger.info("webhook endpoints registered", ["endpoints": .string(webhooks.endpoints.map(\.name).joined(separator: ","))])
            }
        } catch {
            logger.error("start-up failed", ["error": .string(Database.describe(error))])
            return 1
        }

        // One loop per core, shared by the HTTP connections and the read connections (replica's too).
        let loops = EventLoopGroup(
            count: configuration.eventLoops > 0 ? configuration.eventLoops : ProcessInfo.processInfo.activeProcessorCount,
            name: "loop")
        let application = RegistryApplication(
            pool: pool,
            pipeline: configuration.pipeline,
            server: .init(
                host: configuration.listenAddress,
                port: configuration.port,
                connectionLimit: configuration.connectionLimit,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds,
                headTimeout: .seconds(configuration.headTimeoutSeconds),
                eventLoops: configuration.eventLoops > 0 ? configuration.eventLoops : ProcessInfo.processInfo.activeProcessorCount),
            settings: .init(
                regions: configuration.regions,
                endpointTemplate: configuration.endpointTemplate,
                namespaceQuota: configuration.namespaceQuota,
                authCacheLifetime: .milliseconds(configuration.authCacheMilliseconds),
                authMissLifetime: .milliseconds(configuration.authMissCacheMilliseconds),
                purgeInterval: .milliseconds(configuration.purgeIntervalMilliseconds),
                readinessInterval: .milliseconds(configuration.readinessIntervalMilliseconds),
                fairness: configuration.fairness,
                dataPlane: configuration.dataPlane,
                webhooks: configuration.webhooks),
            migrator: migrator,
            logger: logger,
            loops: loops,
            replica: configuration.replicaPipeline.map {
                ReplicaReads(replica: $0, primaryURL: configuration.databaseURL,
                             maxLag: .milliseconds(configuration.readMaxLagMilliseconds), loops: loops, logger: logger)
            })
        do {
            try application.start()
        } catch {
            logger.error("start-up failed", ["error": .string(error.description)])
            return 1
        }
        logger.info("listening", [
            "address": .string(configuration.listenAddress), "port": .int(Int(application.server.port)),
            "regions": .string(configuration.regions.joined(separator: ",")), "http_parser": .string(Server.libraryVersion),
        ])

        var received = signals.wait()
        while received.action == .ignore {
            logger.info("signal ignored: nothing to reload; SIGTERM, SIGINT or SIGQUIT stop gracefully",
                        ["signal": .string(received.name)])
            received = signals.wait()
        }
        logger.info("stopping", ["signal": .string(received.name), "grace_s": .int(configuration.shutdownGraceSeconds)])
        let watchdog = ShutdownWatchdog(gracePeriod: .seconds(configuration.shutdownGraceSeconds), logger: logger) {
            application.server.requestsInFlight
        }
        if !application.stop(gracePeriod: .seconds(configuration.shutdownGraceSeconds)) {
            logger.error("requests still in flight after the grace period are dropped",
                         ["in_flight": .int(application.server.requestsInFlight)])
            LogSink.standardError.flush(timeout: .seconds(1))
            exit(1)  // without waiting for the handlers still running
        }
        pool.close()  // here rather than in the deferred close, so that the watchdog covers it
        watchdog.finish()
        logger.info("stopped")
        return 0
    }
}
