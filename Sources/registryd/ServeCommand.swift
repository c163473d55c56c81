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

        do {
            try Database.waitUntilReachable(pool, timeout: .seconds(configuration.startupTimeoutSeconds), logger: logger)
            let applied = try Database.migrator(configuration, logger: logger).migrate(on: pool)
            logger.info("schema is current", ["applied_now": .int(applied.count)])
        } catch {
            logger.error("start-up failed", ["error": .string(Database.describe(error))])
            return 1
        }

        let namespaces = NamespaceRepository(pool: pool)
        let routes = RegistryRoutes(
            namespaces: NamespaceAPI(
                repository: namespaces,
                settings: RegistrySettings(regions: configuration.regions, endpointTemplate: configuration.endpointTemplate),
                quota: configuration.namespaceQuota),
            authenticator: Authenticator(
                repository: APIKeyRepository(pool: pool), cacheLifetime: .milliseconds(configuration.authCacheMilliseconds)),
            logger: logger)
        var router = Router()
        routes.register(on: &router)

        let server = Server(
            configuration: .init(
                host: configuration.listenAddress,
                port: configuration.port,
                connectionLimit: configuration.connectionLimit,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds,
                threadModel: configuration.threadModel),
            router: router,
            logger: logger)
        do {
            try server.start()
        } catch {
            logger.error("start-up failed", ["error": .string(error.description)])
            return 1
        }
        let purger = NamespacePurger(
            repository: namespaces, interval: .milliseconds(configuration.purgeIntervalMilliseconds), logger: logger)
        purger.start()
        logger.info("listening", [
            "address": .string(configuration.listenAddress), "port": .int(Int(server.port)),
            "regions": .string(configuration.regions.joined(separator: ",")), "libmicrohttpd": .string(Server.libraryVersion),
        ])

        let received = signals.wait()
        logger.info("stopping", ["signal": .string(received), "grace_s": .int(configuration.shutdownGraceSeconds)])
        server.shutdown(gracePeriod: .seconds(configuration.shutdownGraceSeconds))
        purger.stop()
        logger.info("stopped")
        return 0
    }
}
