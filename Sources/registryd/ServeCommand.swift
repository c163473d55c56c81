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

        let application = RegistryApplication(
            pool: pool,
            pipeline: configuration.pipeline,
            server: .init(
                host: configuration.listenAddress,
                port: configuration.port,
                connectionLimit: configuration.connectionLimit,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds,
                threadModel: configuration.threadModel),
            settings: .init(
                regions: configuration.regions,
                endpointTemplate: configuration.endpointTemplate,
                namespaceQuota: configuration.namespaceQuota,
                authCacheLifetime: .milliseconds(configuration.authCacheMilliseconds),
                purgeInterval: .milliseconds(configuration.purgeIntervalMilliseconds),
                dataPlane: configuration.dataPlane),
            migrator: migrator,
            logger: logger)
        do {
            try application.start()
        } catch {
            logger.error("start-up failed", ["error": .string(error.description)])
            return 1
        }
        logger.info("listening", [
            "address": .string(configuration.listenAddress), "port": .int(Int(application.server.port)),
            "regions": .string(configuration.regions.joined(separator: ",")), "libmicrohttpd": .string(Server.libraryVersion),
        ])

        let received = signals.wait()
        logger.info("stopping", ["signal": .string(received), "grace_s": .int(configuration.shutdownGraceSeconds)])
        if !application.stop(gracePeriod: .seconds(configuration.shutdownGraceSeconds)) {
            logger.warning("requests still in flight after the grace period are dropped",
                           ["in_flight": .int(application.server.requestsInFlight)])
            exit(0)  // without stopping libmicrohttpd, which must not stop with suspended connections
        }
        logger.info("stopped")
        return 0
    }
}
