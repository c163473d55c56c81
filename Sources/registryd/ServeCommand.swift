import Foundation
import HTTP
import Log
import Postgres
import Registry

/// `registryd serve`: migrate, then serve until SIGTERM or SIGINT, then stop gracefully.
enum ServeCommand {
    static func run(_ configuration: Configuration) -> Int32 {
        // Before any thread exists, so that every thread inherits the mask and only sigwait sees them.
        let signals = Signals.blockTermination()
        let logger = Logger(label: "registryd", level: configuration.logLevel)
        let pool = Database.pool(configuration, logger: logger)
        defer { pool.close() }

        let migrator: Migrator
        do {
            migrator = try Database.migrator(configuration, logger: logger)
            try Database.waitUntilReachable(pool, timeout: .seconds(configuration.startupTimeoutSeconds), logger: logger)
            let applied = try migrator.migrate(on: pool)
            logger.info("schema is current", ["applied_now": .int(applied.count)])
        } catch {
            logger.error("start-up failed", ["error": .string(Database.describe(error))])
            return 1
        }

        // Handlers resumed by the database run on the pipeline's threads right after each batch.
        let executor = HandlerExecutor(threads: ProcessInfo.processInfo.activeProcessorCount)
        let pipeline = Database.pipeline(configuration, logger: logger, afterBatch: { executor.runQueuedJobs() })
        defer { pipeline.close() }
        let application = RegistryApplication(
            pool: pool,
            pipeline: pipeline,
            settings: .init(
                regions: configuration.regions,
                endpointTemplate: configuration.endpointTemplate,
                namespaceQuota: configuration.namespaceQuota,
                authCacheLifetime: .milliseconds(configuration.authCacheMilliseconds),
                purgeInterval: .milliseconds(configuration.purgeIntervalMilliseconds)),
            migrator: migrator,
            logger: logger)
        let metrics = application.metrics
        let server = Server(
            configuration: .init(
                host: configuration.listenAddress,
                port: configuration.port,
                connectionLimit: configuration.connectionLimit,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds,
                threadModel: configuration.threadModel),
            router: application.router,
            logger: logger,
            executor: executor,
            onCompletion: { metrics.record($0) })
        do {
            try server.start()
        } catch {
            logger.error("start-up failed", ["error": .string(error.description)])
            return 1
        }
        metrics.observe(server)
        application.purger.start()
        logger.info("listening", [
            "address": .string(configuration.listenAddress), "port": .int(Int(server.port)),
            "regions": .string(configuration.regions.joined(separator: ",")), "libmicrohttpd": .string(Server.libraryVersion),
        ])

        let received = signals.wait()
        logger.info("stopping", ["signal": .string(received), "grace_s": .int(configuration.shutdownGraceSeconds)])
        if !server.shutdown(gracePeriod: .seconds(configuration.shutdownGraceSeconds)) {
            logger.warning("requests still in flight after the grace period are dropped",
                           ["in_flight": .int(server.requestsInFlight)])
            exit(0)  // without stopping libmicrohttpd, which must not stop with suspended connections
        }
        application.purger.stop()
        logger.info("stopped")
        return 0
    }
}
