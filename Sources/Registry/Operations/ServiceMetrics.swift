import FoundationEssentials
import HTTP
import Log
import Postgres
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// What `/metrics` reports, in the Prometheus text exposition format (version 0.0.4).
///
/// Requests are counted by route pattern (never by raw path) and method (`other` for a method
/// outside the standard ones), the two labels a client could otherwise grow without bound, and by
/// status; latency is a histogram by route and method. Pool and server gauges are read at scrape time.
public final class ServiceMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// One route and method: its answers by status, and its latency histogram.
    private struct SeriesKey: Hashable {
        let route: String
        let method: String
    }

    private struct Series {
        var statuses: [Int: UInt64] = [:]
        var buckets = [UInt64](repeating: 0, count: ServiceMetrics.latencyBuckets.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func add(status: Int, seconds: Double) {
            statuses[status, default: 0] += 1
            if let bucket = ServiceMetrics.latencyBuckets.firstIndex(where: { seconds <= $0 }) { buckets[bucket] += 1 }
            count += 1
            sum += seconds
        }

        mutating func add(_ other: Series) {
            statuses.merge(other.statuses, uniquingKeysWith: +)
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            count += other.count
            sum += other.sum
        }
    }

    private struct State {
        var series: [SeriesKey: Series] = [:]
        var databaseErrors: [String: UInt64] = [:]
    }

    /// The methods a label may name; any other, which a client chooses freely, counts as `other`,
    /// so that clients cannot grow the set of series without bound.
    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private let stripes = (0..<16).map { _ in Locked(State()) }
    private let pool: ConnectionPool
    private let pipeline: QueryPipeline?
    private let logSink: LogSink?
    private let startedAt = Date()
    /// Reads the HTTP server's gauges (open connections, requests in flight) once it exists.
    private let authenticator = Locked<Authenticator?>(nil)
    private let serverGauges = Locked<(@Sendable () -> (connections: Int, inFlight: Int))?>(nil)
    /// The listing lane and the per-organization admissions, once the application exists.
    let fairness = Locked<(admission: TenantAdmission, listings: QueryPipeline?)?>(nil)
    /// The webhook dispatcher, for `renderWebhooks`; nil without endpoints.
    let webhooks = Locked<WebhookDispatcher?>(nil)

    /// Metrics of `pool`, `pipeline` and `logSink` (its dropped and aggregated lines), read at scrape time.
    public init(pool: ConnectionPool, pipeline: QueryPipeline? = nil, logSink: LogSink? = nil) {
        self.pool = pool
        self.pipeline = pipeline
        self.logSink = logSink
    }

    // MARK: - Recording

    /// Records one answered request (`Server`'s completion callback).
    public func record(_ completion: Server.Completion) {
        let key = SeriesKey(route: completion.route ?? "unmatched",
                            method: Self.knownMethods.contains(completion.method) ? completion.method : "other")
        let seconds = completion.seconds
        stripe().withLock { $0.series[key, default: Series()].add(status: completion.status, seconds: seconds) }
    }

    /// Records a database failure seen by a request: `unavailable` or `query`.
    func recordDatabaseError(kind: String) {
        stripe().withLock { $0.databaseErrors[kind, default: 0] += 1 }
    }

    private func stripe() -> Locked<State> {
        // Thread descriptors sit at stack boundaries, so mix the bits before picking a stripe.
        let mixed = UInt64(UInt(pthread_self())) &* 0x9E37_79B9_7F4A_7C15
        return stripes[Int(mixed >> 60) % stripes.count]
    }

    /// Every stripe added up.
    private func merged() -> State {
        var total = State()
        for stripe in stripes {
            stripe.withLock { state in
                total.databaseErrors.merge(state.databaseErrors, uniquingKeysWith: +)
                for (key, series) in state.series { total.series[key, default: Series()].add(series) }
            }
        }
        return total
    }

    /// Counts `authenticator`'s database lookups.
    func observe(_ authenticator: Authenticator) {
        self.authenticator.withLock { $0 = authenticator }
    }

    /// Connects the HTTP server's gauges, once the server exists.
    public func observe(_ server: Server) {
        serverGauges.withLock { $0 = { [weak server] in (server?.openConnections ?? 0, server?.requestsInFlight ?? 0) } }
    }

    // MARK: - Exposition

    /// The metrics in the Prometheus text format.
    public func render() -> String {
        let snapshot = merged()
        let pool = pool.statistics
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ type: String, _ help: String, _ value: some CustomStringConvertible) {
            family(name, type, help)
            text += "\(name) \(value)\n"
        }

        let series = snapshot.series.sorted { ($0.key.route, $0.key.method) < ($1.key.route, $1.key.method) }
        family("registryd_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.")
        for (key, series) in series {
            for (status, count) in series.statuses.sorted(by: { $0.key < $1.key }) {
                text += "registryd_http_requests_total{route=\"\(Self.escape(key.route))\",method=\"\(key.method)\",status=\"\(status)\"} \(count)\n"
            }
        }

        family("registryd_http_request_duration_seconds", "histogram", "Time from the first byte of a request to its answer, by route pattern and method.")
        for (key, series) in series {
            let labels = "route=\"\(Self.escape(key.route))\",method=\"\(key.method)\""
            var cumulative: UInt64 = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += series.buckets[index]
                text += "registryd_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "registryd_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(series.count)\n"
            text += "registryd_http_request_duration_seconds_sum{\(labels)} \(series.sum)\n"
            text += "registryd_http_request_duration_seconds_count{\(labels)} \(series.count)\n"
        }

        if let gauges = serverGauges.withLock({ $0 })?() {
            sample("registryd_http_connections_open", "gauge", "HTTP connections open.", gauges.connections)
            sample("registryd_http_requests_in_flight", "gauge", "Requests received and not yet answered.", gauges.inFlight)
        }

        family("registryd_db_pool_connections", "gauge", "Database connections by state: the pool's capacity, those open, those lent out.")
        text += "registryd_db_pool_connections{state=\"capacity\"} \(pool.capacity)\n"
        text += "registryd_db_pool_connections{state=\"open\"} \(pool.open)\n"
        text += "registryd_db_pool_connections{state=\"in_use\"} \(pool.inUse)\n"
        sample("registryd_db_pool_waiting", "gauge", "Writes waiting for a database connection or thread.", pool.waiting)

        if let pipeline = pipeline?.statistics {
            sample("registryd_db_pipeline_connections", "gauge", "Connections that batch read statements in pipeline mode.",
                   pipeline.connections)
            sample("registryd_db_pipeline_queued", "gauge", "Read statements waiting to be sent.", pipeline.queued)
            sample("registryd_db_pipeline_statements_total", "counter", "Read statements sent through the pipeline.",
                   pipeline.statements)
            sample("registryd_db_pipeline_batches_total", "counter", "Batches sent; statements per batch is the ratio of the two.",
                   pipeline.batches)
        }

        text += renderFairness()
        text += renderWebhooks()

        family("registryd_db_errors_total", "counter", "Database failures answered to clients: unavailable (503) or query (500).")
        for kind in ["unavailable", "query"] {
            text += "registryd_db_errors_total{kind=\"\(kind)\"} \(snapshot.databaseErrors[kind] ?? 0)\n"
        }

        if let authenticator = authenticator.withLock({ $0 }) {
            sample("registryd_auth_lookups_total", "counter",
                   "API keys looked up in the database: neither a cached key nor a recently seen unknown token.",
                   authenticator.databaseLookups)
            sample("registryd_auth_misses_remembered", "gauge", "Unknown tokens answered 401 without a lookup for now.",
                   authenticator.rememberedMisses)
        }

        if let logSink {
            sample("registryd_log_lines_dropped_total", "counter",
                   "Log lines dropped because standard error was not read fast enough.", logSink.droppedLines)
            sample("registryd_log_lines_aggregated_total", "counter",
                   "Repeated warnings and errors counted in a once-a-second line instead of written.", logSink.aggregatedLines)
        }

        family("registryd_build_info", "gauge", "Always 1; the labels say what is running.")
        text += "registryd_build_info{version=\"\(Self.escape(RegistryApplication.version))\",http_parser=\"\(Self.escape(Server.libraryVersion))\"} 1\n"
        sample("process_start_time_seconds", "gauge", "When the process started, in seconds since the Unix epoch.",
               Int(startedAt.timeIntervalSince1970))
        if let resident = Self.residentMemoryBytes() {
            sample("process_resident_memory_bytes", "gauge", "Resident memory of the process.", resident)
        }
        return text
    }

    private static func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n")
    }

    /// Resident set size from `/proc/self/statm` (Linux), in bytes.
    private static func residentMemoryBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
