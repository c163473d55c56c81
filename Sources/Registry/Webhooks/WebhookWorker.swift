import FoundationEssentials
import HTTPClient
import Log
import Postgres
import Threads

/// Delivers one endpoint's change events, on a thread and a database connection of its own, so
/// that a slow or dead endpoint delays nobody else (README, "Change events (webhooks)").
///
/// Each round claims a batch (`WebhookOutbox.claim`, rows locked in a transaction held while the
/// batch is posted), POSTs the events one by one, deletes the delivered rows and postpones the
/// failed one with exponential backoff, then commits. The first failure ends the round: the rest
/// of the batch is released untouched, and the worker itself waits a backoff of its own before the
/// next round, so a dead endpoint is not hammered once per pending event.
final class WebhookWorker: @unchecked Sendable {
    let endpoint: WebhookSettings.Endpoint
    private let settings: WebhookSettings
    private let connectionString: String
    private let logger: Logger
    private let backoff: RetryBackoff
    /// Guards `isStopping` and `isRunning`; its timed waits are on the monotonic clock.
    private let condition = ConditionLock()
    private var isStopping = false
    private var isRunning = false
    private let counters: Locked<WebhookEndpointStatistics>
    /// The worker thread's libcurl handle: its connection to the endpoint (and TLS session) is kept
    /// from one delivery to the next. Touched by that thread only.
    private var session: HTTPClient.Session?

    /// Longest response body read from a receiver; the rest is not even received.
    static let maxResponseBytes = 64 * 1024
    /// Planner settings of the worker's own connection, so that the claim always walks the indexes
    /// in id order with a per-row index probe for the earlier-event check. With statistics taken
    /// while the backlog was empty (a backlog grows in seconds, autovacuum analyses in minutes) the
    /// planner chose a nested loop over a materialized scan instead: 0.3 s per claim at 2,500
    /// pending events, growing with their square (a 10,000-event backlog took 74 s to drain).
    static let planSettings = """
        SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_material = off;
        SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_sort = off
        """
    /// How long one round keeps posting before it commits what was delivered and claims anew.
    static let maxRoundDuration = Duration.seconds(10)
    /// The pause after a partial batch (see `run`).
    static let streamingPause = Duration.milliseconds(50)
    /// How often the backlog gauges are refreshed from the database.
    static let backlogRefreshInterval = Duration.seconds(1)

    /// `@unchecked Sendable`: `isStopping` and `isRunning` are guarded by `condition`, the
    /// statistics by their own lock, `session` is the worker thread's own, the rest is immutable.
    init(endpoint: WebhookSettings.Endpoint, settings: WebhookSettings, connectionString: String, logger: Logger) {
        self.endpoint = endpoint
        self.settings = settings
        self.connectionString = connectionString
        self.logger = logger
        backoff = RetryBackoff(base: settings.retryDelay, cap: settings.maxRetryDelay)
        counters = Locked(WebhookEndpointStatistics(name: endpoint.name))
    }

    /// The endpoint's counters and backlog as last seen.
    var statistics: WebhookEndpointStatistics { counters.withLock { $0 } }

    func start() {
        condition.withLock { isRunning = true }
        DetachedThread.start(name: "webhook-\(endpoint.name)") { [self] in run() }
    }

    /// Asks the thread to stop after the POST in flight, if any.
    func requestStop() {
        condition.withLock {
            isStopping = true
            condition.broadcast()
        }
    }

    /// Waits until `deadline` for the thread to stop; a POST still in flight then is abandoned:
    /// its transaction never commits, so the event stays pending (at least once).
    func waitUntilStopped(until deadline: ContinuousClock.Instant) {
        condition.withLock {
            while isRunning && condition.wait(until: deadline) {}
        }
    }

    private var stopping: Bool { condition.withLock { isStopping } }

    // MARK: - The loop

    private func run() {
        var connection: Connection?
        var failuresInARow = 0
        var databaseFailing = false  // log an outage once, and its end
        var nextRefresh = ContinuousClock.now
        while !stopping {
            var pause = settings.pollInterval
            do {
                if connection?.isReusable != true {
                    let opened = try Connection(connectionString: connectionString, connectTimeoutSeconds: 5,
                                                statementTimeout: .seconds(30))
                    try opened.execute(Self.planSettings)
                    connection = opened
                }
                guard let connection else { continue }
                if ContinuousClock.now >= nextRefresh {
                    refreshBacklog(on: connection)
                    nextRefresh = ContinuousClock.now.advanced(by: Self.backlogRefreshInterval)
                }
                let round = try deliverBatch(on: connection)
                if databaseFailing { logger.info("webhook delivery reaches the database again", ["endpoint": .string(endpoint.name)]) }
                databaseFailing = false
                if round.failed {
                    failuresInARow += 1
                    pause = backoff.delay(afterFailures: failuresInARow, jitter: Double.random(in: 0..<1))
                } else {
                    if round.delivered > 0 { failuresInARow = 0 }
                    // A full batch: more is waiting, claim again at once. A partial one under a
                    // steady stream: a short pause (at most 50 ms) keeps the delivery delay well
                    // under the poll interval while letting events gather into fewer transactions.
                    if round.claimed == settings.batchSize {
                        pause = .zero
                    } else if round.claimed > 0 {
                        pause = min(settings.pollInterval, Self.streamingPause)
                    }
                }
            } catch {
                if !databaseFailing {
                    logger.warning("webhook delivery cannot use the database; retrying quietly", [
                        "endpoint": .string(endpoint.name), "error": .string(Self.describe(error))])
                }
                databaseFailing = true
                connection = nil
                pause = .seconds(1)
            }
            wait(pause, refreshingOn: connection, nextRefresh: &nextRefresh)
        }
        condition.withLock {
            isRunning = false
            condition.broadcast()
        }
    }

    /// Sleeps `pause` (or until stopped), refreshing the backlog gauges meanwhile: an endpoint in
    /// a long backoff still shows its lag growing.
    private func wait(_ pause: Duration, refreshingOn connection: Connection?, nextRefresh: inout ContinuousClock.Instant) {
        guard pause > .zero else { return }
        let end = ContinuousClock.now.advanced(by: pause)
        while ContinuousClock.now < end {
            let next = min(end, nextRefresh)
            let stopped = condition.withLock {
                while !isStopping && condition.wait(until: next) {}
                return isStopping
            }
            if stopped { return }
            if ContinuousClock.now >= nextRefresh, let connection, connection.isReusable {
                refreshBacklog(on: connection)
                nextRefresh = ContinuousClock.now.advanced(by: Self.backlogRefreshInterval)
            }
        }
    }

    private func refreshBacklog(on connection: Connection) {
        guard let backlog = try? WebhookOutbox.backlog(endpoint: endpoint.name, on: connection) else { return }
        counters.withLock {
            $0.pending = backlog.pending
            $0.oldestPendingAgeSeconds = Double(backlog.oldestAgeMilliseconds) / 1000
        }
    }

    private struct Round {
        var claimed = 0
        var delivered = 0
        var failed = false
    }

    private func deliverBatch(on connection: Connection) throws -> Round {
        try connection.withTransaction { connection in
            let events = try WebhookOutbox.claim(endpoint: endpoint.name, limit: settings.batchSize, on: connection)
            var round = Round(claimed: events.count)
            var delivered: [Int64] = []
            let started = ContinuousClock.now
            for event in events {
                // A slow receiver must not keep the claim's transaction open for a whole batch of
                // timeouts (it would hold back vacuum, and a crash would repeat more deliveries).
                if stopping || ContinuousClock.now - started > Self.maxRoundDuration { break }
                if let reason = post(event) {
                    round.failed = true
                    let delay = backoff.delay(afterFailures: event.attempts + 1, jitter: Double.random(in: 0..<1))
                    try WebhookOutbox.postpone(endpoint: endpoint.name, event: event.id, delay: delay, reason: reason, on: connection)
                    logger.warning("webhook delivery failed; retrying later", [
                        "endpoint": .string(endpoint.name), "event_id": .int(Int(event.id)),
                        "attempts": .int(event.attempts + 1), "retry_in_ms": .int(Int(delay / .milliseconds(1))),
                        "error": .string(reason)])
                    break
                }
                delivered.append(event.id)
            }
            try WebhookOutbox.settle(endpoint: endpoint.name, delivered: delivered, on: connection)
            round.delivered = delivered.count
            return round
        }
    }

    /// POSTs one event, signed; nil when the endpoint answered 2xx, else why not.
    private func post(_ event: WebhookOutbox.PendingEvent) -> String? {
        let timestamp = Int64(Date().timeIntervalSince1970)
        let headers = [
            "Content-Type: application/json",
            "User-Agent: registryd/\(RegistryApplication.version)",
            "\(WebhookSignature.eventHeaderName): \(event.id)",
            "\(WebhookSignature.headerName): \(WebhookSignature.value(secret: endpoint.secret, timestamp: timestamp, body: event.body))",
        ]
        let outcome: String?
        do {
            if session == nil { session = try HTTPClient.Session() }
            let response = try session!.send("POST", endpoint.url, headers: headers, body: event.body,
                                             timeout: settings.timeout, maxBodyBytes: Self.maxResponseBytes)
            outcome = (200..<300).contains(response.status) ? nil : "HTTP \(response.status)"
        } catch {
            outcome = error.description
        }
        counters.withLock {
            if outcome == nil { $0.delivered += 1 } else { $0.failed += 1 }
        }
        return outcome
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return error.detail }
        return String(describing: error)
    }
}
