import HTTP
import Log
import Postgres
import Registry

/// Everything registryd reads from its environment, validated once at start-up.
struct Configuration: Sendable {
    var databaseURL: String
    /// The read replica(s); nil: every read goes to the primary.
    var databaseReadURL: String?
    var readMaxLagMilliseconds: Int
    var listenAddress: String
    var port: UInt16
    var regions: [String]
    var endpointTemplate: String
    var poolSize: Int
    var readConnections: Int
    var fairness: Fairness
    var poolTimeoutMilliseconds: Int
    var connectTimeoutSeconds: Int
    var startupTimeoutSeconds: Int
    var statementTimeoutMilliseconds: Int
    var migrationsDirectory: String
    var migrationLockTimeoutMilliseconds: Int
    var logLevel: Logger.Level
    var connectionLimit: Int
    var connectionTimeoutSeconds: Int
    var eventLoops: Int
    var headTimeoutSeconds: Int
    var namespaceQuota: Int
    var authCacheMilliseconds: Int
    var authMissCacheMilliseconds: Int
    var purgeIntervalMilliseconds: Int
    var shutdownGraceSeconds: Int
    var readinessIntervalMilliseconds: Int
    /// Token service, event receiver and reconciler; nil without REGISTRY_TOKEN_KEY.
    var dataPlane: DataPlaneSettings? = nil
    /// Change-event webhooks; nil without WEBHOOK_URLS.
    var webhooks: WebhookSettings? = nil

    /// One documented variable: its name, default and meaning, for `--help` and the README.
    struct Variable {
        let name: String
        let defaultValue: String?
        let help: String
    }

    static let variables: [Variable] = [
        Variable(name: "DATABASE_URL", defaultValue: nil, help: "PostgreSQL URL or libpq connection string (required)"),
        Variable(name: "DATABASE_READ_URL", defaultValue: nil,
                 help: "optional replica(s) for gets, lists and API-key lookups, used while they lag at most DB_READ_MAX_LAG_MS"),
        Variable(name: "DB_READ_MAX_LAG_MS", defaultValue: "1000",
                 help: "reads leave the replica when it lags more (a write is read back from the primary until the replica has it)"),
        Variable(name: "LISTEN_ADDRESS", defaultValue: "0.0.0.0", help: "numeric IPv4 or IPv6 address to listen on"),
        Variable(name: "PORT", defaultValue: "8080", help: "TCP port to listen on"),
        Variable(name: "REGIONS", defaultValue: "fr-par,nl-ams,pl-waw", help: "comma-separated regions served"),
        Variable(name: "ENDPOINT_TEMPLATE", defaultValue: "rg.{region}.scw.cloud", help: "registry host of a region; {region} is replaced"),
        Variable(name: "DB_POOL_SIZE", defaultValue: "10", help: "connections for writes, each with a thread (1-1000)"),
        Variable(name: "DB_READ_CONNECTIONS", defaultValue: "0", help: "connections that batch reads in pipeline mode, spread over the event loops (0: one per loop; 0-64)"),
        Variable(name: "DB_LIST_CONNECTIONS", defaultValue: "1", help: "connections of the listing lane, so GET by id never waits behind a listing (0: share the read connections)"),
        Variable(name: "DB_WRITES_PER_ORG", defaultValue: "2", help: "writes of one organization holding pool connections at once; more wait their turn (0: no limit)"),
        Variable(name: "DB_LISTINGS_PER_ORG", defaultValue: "2", help: "listings of one organization in the listing lane at once; more wait their turn (0: no limit)"),
        Variable(name: "DB_POOL_TIMEOUT_MS", defaultValue: "2000", help: "longest a request waits for the database to take its statement, then 503"),
        Variable(name: "DB_CONNECT_TIMEOUT_S", defaultValue: "5", help: "time allowed to open one database connection"),
        Variable(name: "DB_STATEMENT_TIMEOUT_MS", defaultValue: "5000", help: "longest a statement may run, lock waits included (0: no limit)"),
        Variable(name: "DB_STARTUP_TIMEOUT_S", defaultValue: "60", help: "at start-up, how long to wait for the database to answer"),
        Variable(name: "MIGRATIONS_DIR", defaultValue: "migrations", help: "directory of the NNNN_name.sql migration files"),
        Variable(name: "MIGRATION_LOCK_TIMEOUT_MS", defaultValue: "1000",
                 help: "longest a migration waits for a table lock (and holds up traffic queued behind it) before it retries"),
        Variable(name: "LOG_LEVEL", defaultValue: "info", help: "debug, info, warning or error (info logs every request)"),
        Variable(name: "HTTP_CONNECTION_LIMIT", defaultValue: "1024", help: "open HTTP connections at most"),
        Variable(name: "HTTP_CONNECTION_TIMEOUT_S", defaultValue: "30", help: "idle seconds before a connection is closed"),
        Variable(name: "HTTP_EVENT_LOOPS", defaultValue: "0", help: "HTTP event loops (threads), each owning its connections (0: one per core)"),
        Variable(name: "HTTP_HEAD_TIMEOUT_S", defaultValue: "10", help: "seconds a client has to send a whole request head, however it trickles (408 after)"),
        Variable(name: "NAMESPACE_QUOTA", defaultValue: "100000", help: "namespaces one organization may hold, all regions together"),
        Variable(name: "AUTH_CACHE_TTL_MS", defaultValue: "10000", help: "how long an accepted API key is trusted without a lookup"),
        Variable(name: "AUTH_NEGATIVE_CACHE_TTL_MS", defaultValue: "1000",
                 help: "how long an unknown token is refused without a lookup (a key created meanwhile works after it)"),
        Variable(name: "PURGE_INTERVAL_MS", defaultValue: "200", help: "how often namespaces marked deleting are removed"),
        Variable(name: "SHUTDOWN_GRACE_S", defaultValue: "10", help: "on SIGTERM, how long requests in flight may finish"),
        Variable(name: "READINESS_PROBE_INTERVAL_MS", defaultValue: "1000",
                 help: "how often /readyz's background probe checks the database; a result 3 intervals old is not ready"),
    ] + DataPlaneEnvironment.variables + WebhookEnvironment.variables

    /// Reads and checks every variable; the error names the first bad one.
    static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> Configuration {
        let reader = EnvironmentReader(environment: environment)
        guard let databaseURL = reader.value("DATABASE_URL") else {
            throw ConfigurationError(variable: "DATABASE_URL", problem: "is required (for example postgresql://registryd@localhost/registryd)")
        }
        let regions = try reader.regions("REGIONS")
        let template = try reader.string("ENDPOINT_TEMPLATE")
        guard !template.isEmpty, !template.contains("/"), !template.contains(" ") else {
            throw ConfigurationError(variable: "ENDPOINT_TEMPLATE", problem: "must be a host name such as rg.{region}.scw.cloud")
        }
        let logLevelName = try reader.string("LOG_LEVEL")
        guard let logLevel = Logger.Level(name: logLevelName) else {
            throw ConfigurationError(variable: "LOG_LEVEL", problem: "must be debug, info, warning or error, not \(logLevelName)")
        }
        return Configuration(
            databaseURL: databaseURL,
            databaseReadURL: reader.value("DATABASE_READ_URL"),
            readMaxLagMilliseconds: try reader.integer("DB_READ_MAX_LAG_MS", in: 50...600_000),
            listenAddress: try reader.string("LISTEN_ADDRESS"),
            port: UInt16(try reader.integer("PORT", in: 0...65535)),
            regions: regions,
            endpointTemplate: template,
            poolSize: try reader.integer("DB_POOL_SIZE", in: 1...1000),
            readConnections: try reader.integer("DB_READ_CONNECTIONS", in: 0...64),
            fairness: Fairness(
                writesPerOrganization: try reader.integer("DB_WRITES_PER_ORG", in: 0...1000),
                listingsPerOrganization: try reader.integer("DB_LISTINGS_PER_ORG", in: 0...1000),
                listingConnections: try reader.integer("DB_LIST_CONNECTIONS", in: 0...64)),
            poolTimeoutMilliseconds: try reader.integer("DB_POOL_TIMEOUT_MS", in: 1...600_000),
            connectTimeoutSeconds: try reader.integer("DB_CONNECT_TIMEOUT_S", in: 1...600),
            startupTimeoutSeconds: try reader.integer("DB_STARTUP_TIMEOUT_S", in: 0...3600),
            statementTimeoutMilliseconds: try reader.integer("DB_STATEMENT_TIMEOUT_MS", in: 0...3_600_000),
            migrationsDirectory: try reader.string("MIGRATIONS_DIR"),
            migrationLockTimeoutMilliseconds: try reader.integer("MIGRATION_LOCK_TIMEOUT_MS", in: 1...600_000),
            logLevel: logLevel,
            connectionLimit: try reader.integer("HTTP_CONNECTION_LIMIT", in: 1...1_000_000),
            connectionTimeoutSeconds: try reader.integer("HTTP_CONNECTION_TIMEOUT_S", in: 1...86_400),
            eventLoops: try reader.integer("HTTP_EVENT_LOOPS", in: 0...1024),
            headTimeoutSeconds: try reader.integer("HTTP_HEAD_TIMEOUT_S", in: 1...3600),
            namespaceQuota: try reader.integer("NAMESPACE_QUOTA", in: 0...Int(Int32.max)),
            authCacheMilliseconds: try reader.integer("AUTH_CACHE_TTL_MS", in: 0...3_600_000),
            authMissCacheMilliseconds: try reader.integer("AUTH_NEGATIVE_CACHE_TTL_MS", in: 0...600_000),
            purgeIntervalMilliseconds: try reader.integer("PURGE_INTERVAL_MS", in: 10...60_000),
            shutdownGraceSeconds: try reader.integer("SHUTDOWN_GRACE_S", in: 0...3600),
            readinessIntervalMilliseconds: try reader.integer("READINESS_PROBE_INTERVAL_MS", in: 10...600_000),
            dataPlane: try DataPlaneEnvironment.read(reader),
            webhooks: try WebhookEnvironment.read(reader))
    }
}

extension Configuration {
    /// How long a request waits for the database to take its statement.
    var poolTimeout: Duration { .milliseconds(poolTimeoutMilliseconds) }

    /// The statement timeout, nil when disabled (0).
    var statementTimeout: Duration? {
        statementTimeoutMilliseconds > 0 ? .milliseconds(statementTimeoutMilliseconds) : nil
    }

    /// The read pipeline's settings.
    var pipeline: QueryPipeline.Configuration {
        .init(connectionString: databaseURL, connections: readConnections, queueTimeout: poolTimeout,
              connectTimeoutSeconds: connectTimeoutSeconds, statementTimeout: statementTimeout)
    }
}

extension Configuration {
    /// The read replica's settings, when `DATABASE_READ_URL` is set.
    var replicaPipeline: QueryPipeline.Configuration? {
        guard let databaseReadURL else { return nil }
        var configuration = pipeline
        configuration.connectionString = databaseReadURL
        return configuration
    }
}

/// A bad environment variable: which one, and what is wrong with it.
struct ConfigurationError: Error, CustomStringConvertible {
    let variable: String
    let problem: String

    var description: String { "\(variable) \(problem)" }
}
