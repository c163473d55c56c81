import Log
import Postgres

/// One endpoint's delivery figures for `/metrics`: the backlog (shared by every instance, read
/// from the database about once a second) and this instance's attempt counters.
public struct WebhookEndpointStatistics: Sendable {
    public let name: String
    /// Events not yet delivered to the endpoint (lag in events).
    public var pending = 0
    /// Age of the oldest of them, since its change committed (lag in seconds); 0 when none.
    public var oldestPendingAgeSeconds = 0.0
    /// POSTs answered 2xx by this instance's worker.
    public var delivered: UInt64 = 0
    /// POSTs that failed (non-2xx, timeout, unreachable) from this instance's worker.
    public var failed: UInt64 = 0
}

/// The change-event feed (issue 14, part 4): a `WebhookWorker` per configured endpoint, started
/// and stopped with the application.
public final class WebhookDispatcher: Sendable {
    private let workers: [WebhookWorker]

    /// Builds a worker per endpoint of `settings`; they connect with `connectionString`.
    public init(settings: WebhookSettings, connectionString: String, logger: Logger) {
        workers = settings.endpoints.map {
            WebhookWorker(endpoint: $0, settings: settings, connectionString: connectionString, logger: logger)
        }
    }

    /// Makes the database's endpoint list match the configuration (none without `WEBHOOK_URLS`):
    /// from then on every committed change is queued for each of them. Run at start-up, after
    /// the migrations and before serving.
    /// Endpoints no longer configured are dropped with their backlog: each is logged as a
    /// warning with the number of events it will never receive, so a misconfigured instance
    /// (one started without the others' `WEBHOOK_URLS`) is visible in its first lines.
    public static func registerEndpoints(_ settings: WebhookSettings?, pool: ConnectionPool, logger: Logger) throws {
        let names = settings?.endpoints.map(\.name) ?? []
        let dropped = try pool.withConnection { try WebhookOutbox.register(names, on: $0) }
        for endpoint in dropped {
            logger.warning("webhook endpoint dropped: not in WEBHOOK_URLS", [
                "endpoint": .string(endpoint.name), "undelivered_events": .int(Int(endpoint.pending)),
            ])
        }
    }

    public func start() {
        for worker in workers { worker.start() }
    }

    /// Stops every worker, waiting at most `timeout` for POSTs in flight (they stay pending).
    public func stop(timeout: Duration = .seconds(2)) {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        for worker in workers { worker.requestStop() }
        for worker in workers { worker.waitUntilStopped(until: deadline) }
    }

    /// Each endpoint's figures, in configuration order.
    public var statistics: [WebhookEndpointStatistics] { workers.map(\.statistics) }
}
