import Foundation
import HTTP
import Postgres
#if canImport(Glibc)
import Glibc
#endif

/// What `/metrics` reports, in the Prometheus text exposition format (version 0.0.4).
///
/// Requests are counted by route pattern (never by raw path, which would explode the label set),
/// method and status; latency is a histogram by route and method. Pool and server gauges are
/// read at scrape time.
public final class ServiceMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct LatencyKey: Hashable {
        let route: String
        let method: String
    }

    private struct Latency {
        var buckets = [UInt64](repeating: 0, count: ServiceMetrics.latencyBuckets.count)
        var count: UInt64 = 0
        var sum: Double = 0
    }

    private struct State {
        var requests: [RequestKey: UInt64] = [:]
        var latencies: [LatencyKey: Latency] = [:]
        var databaseErrors: [String: UInt64] = [:]
    }

    /// Requests are recorded into one of several stripes, chosen by thread, so that the request
    /// threads rarely wait for each other; a scrape merges the stripes.
    private let stripes = (0..<16).map { _ in Locked(State()) }
    private let pool: ConnectionPool
    private let pipeline: QueryPipeline?
    private let startedAt = Date()
    /// Reads the HTTP server's gauges (open connections, requests in flight) once it exists.
    private let serverGauges = Locked<(@Sendable () -> (connections: Int, inFlight: Int))?>(nil)

    public init(pool: ConnectionPool, pipeline: QueryPipeline? = nil) {
        self.pool = pool
        self.pipeline = pipeline
    }

    // MARK: - Recording

    /// Records one answered request (`Server`'s completion callback).
    public func record(_ completion: Server.Completion) {
        let route = completion.route ?? "unmatched"
        let (seconds, attoseconds) = completion.duration.components
        let elapsed = Double(seconds) + Double(attoseconds) / 1e18
        stripe().withLock { state in
            state.requests[RequestKey(route: route, method: completion.method, status: completion.status), default: 0] += 1
            var latency = state.latencies[LatencyKey(route: route, method: completion.method)] ?? Latency()
            if let bucket = Self.latencyBuckets.firstIndex(where: { elapsed <= $0 }) { latency.buckets[bucket] += 1 }
            latency.count += 1
            latency.sum += elapsed
            state.latencies[LatencyKey(route: route, method: completion.method)] = latency
        }
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
                total.requests.merge(state.requests, uniquingKeysWith: +)
                total.databaseErrors.merge(state.databaseErrors, uniquingKeysWith: +)
                total.latencies.merge(state.latencies) { lhs, rhs in
                    var sum = lhs
                    sum.count += rhs.count
                    sum.sum += rhs.sum
                    for index in sum.buckets.indices { sum.buckets[index] += rhs.buckets[index] }
                    return sum
                }
            }
        }
        return total
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

        family("registryd_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.")
        for (key, count) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            text += "registryd_http_requests_total{route=\"\(Self.escape(key.route))\",method=\"\(Self.escape(key.method))\",status=\"\(key.status)\"} \(count)\n"
        }

        family("registryd_http_request_duration_seconds", "histogram", "Time from the first byte of a request to its answer, by route pattern and method.")
        for (key, latency) in snapshot.latencies.sorted(by: { ($0.key.route, $0.key.method) < ($1.key.route, $1.key.method) }) {
            let labels = "route=\"\(Self.escape(key.route))\",method=\"\(Self.escape(key.method))\""
            var cumulative: UInt64 = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += latency.buckets[index]
                text += "registryd_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "registryd_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(latency.count)\n"
            text += "registryd_http_request_duration_seconds_sum{\(labels)} \(latency.sum)\n"
            text += "registryd_http_request_duration_seconds_count{\(labels)} \(latency.count)\n"
        }

        if let gauges = serverGauges.withLock({ $0 })?() {
            family("registryd_http_connections_open", "gauge", "HTTP connections open.")
            text += "registryd_http_connections_open \(gauges.connections)\n"
            family("registryd_http_requests_in_flight", "gauge", "Requests received and not yet answered.")
            text += "registryd_http_requests_in_flight \(gauges.inFlight)\n"
        }

        family("registryd_db_pool_connections", "gauge", "Database connections by state: the pool's capacity, those open, those lent out.")
        text += "registryd_db_pool_connections{state=\"capacity\"} \(pool.capacity)\n"
        text += "registryd_db_pool_connections{state=\"open\"} \(pool.open)\n"
        text += "registryd_db_pool_connections{state=\"in_use\"} \(pool.inUse)\n"
        family("registryd_db_pool_waiting", "gauge", "Requests waiting for a database connection.")
        text += "registryd_db_pool_waiting \(pool.waiting)\n"

        if let pipeline = pipeline?.statistics {
            family("registryd_db_pipeline_connections", "gauge", "Connections that batch read statements in pipeline mode.")
            text += "registryd_db_pipeline_connections \(pipeline.connections)\n"
            family("registryd_db_pipeline_queued", "gauge", "Read statements waiting to be sent.")
            text += "registryd_db_pipeline_queued \(pipeline.queued)\n"
            family("registryd_db_pipeline_statements_total", "counter", "Read statements sent through the pipeline.")
            text += "registryd_db_pipeline_statements_total \(pipeline.statements)\n"
            family("registryd_db_pipeline_batches_total", "counter", "Batches sent; statements per batch is the ratio of the two.")
            text += "registryd_db_pipeline_batches_total \(pipeline.batches)\n"
        }

        family("registryd_db_errors_total", "counter", "Database failures answered to clients: unavailable (503) or query (500).")
        for kind in ["unavailable", "query"] {
            text += "registryd_db_errors_total{kind=\"\(kind)\"} \(snapshot.databaseErrors[kind] ?? 0)\n"
        }

        family("registryd_build_info", "gauge", "Always 1; the labels say what is running.")
        text += "registryd_build_info{version=\"\(Self.escape(RegistryApplication.version))\",libmicrohttpd=\"\(Self.escape(Server.libraryVersion))\"} 1\n"
        family("process_start_time_seconds", "gauge", "When the process started, in seconds since the Unix epoch.")
        text += "process_start_time_seconds \(Int(startedAt.timeIntervalSince1970))\n"
        if let resident = Self.residentMemoryBytes() {
            family("process_resident_memory_bytes", "gauge", "Resident memory of the process.")
            text += "process_resident_memory_bytes \(resident)\n"
        }
        return text
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Resident set size from `/proc/self/statm` (Linux), in bytes.
    private static func residentMemoryBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
