import EventLoops
import FoundationEssentials
import Log
import Synchronization
import Threads

/// Single statements from many requests, sent to PostgreSQL in batches over connections in
/// libpq's pipeline mode, each connection owned by an event loop.
///
/// Each connection (a `PipelineLane`) lives on one `EventLoop`, its socket in the loop's epoll
/// set. A handler running on that loop that calls `query` queues its statement there, without a
/// lock, and suspends; once the loop has handled the turn's events it sends everything its
/// handlers queued in one write followed by one Sync (or, while two batches are out, when the
/// older one's Sync comes back); when the socket turns readable it reads the
/// results and resumes each caller, on the same thread. Under load one round trip and one wake-up
/// of a PostgreSQL backend serve a whole batch, and no thread hands anything to another. A caller
/// on a loop that owns no connection of this pipeline (fewer connections than loops, the listing
/// lane) or on no loop at all (tests, tools, the readiness probe) hands its statement to a
/// connection's loop through that loop's inbox. Meant for statements that do not wait on locks
/// (reads): one statement stuck on a lock would hold up the statements queued behind it on its
/// connection, so writes go through `ConnectionPool.run` instead.
///
/// Errors keep to their statement: when one fails, the rest of its batch is aborted by the server
/// and sent again. A statement waits to be sent at most `queueTimeout` (or the request's
/// `DatabaseDeadline`), then fails with `poolTimeout` (503). When the database is unreachable, a
/// connection attempt fails the statements waiting for it with `connectionFailed`, and the next
/// statement connects again. When the server hangs instead, statements sent wait for their
/// results at most the statement timeout plus a margin, then fail with `timedOut` and the
/// connection is given up. A connection the server closes (a restart, `pg_terminate_backend`)
/// is noticed by the loop at once; the statements it carried are sent once more on a new one
/// (they are reads), and prepared anew there.
///
/// `@unchecked Sendable`: the lanes are touched by their loops' threads only; the rest is atomic
/// or set once.
public final class QueryPipeline: @unchecked Sendable {
    /// How the pipeline connects and batches.
    public struct Configuration: Sendable {
        public var connectionString: String
        /// Connections, spread over the event loops (connection `i` on loop `i % loops`);
        /// 0: one per loop.
        public var connections: Int
        /// The most statements sent before one Sync (a failure aborts the rest of its batch).
        public var maximumBatch: Int
        /// The longest a statement may wait to be sent.
        public var queueTimeout: Duration
        public var connectTimeoutSeconds: Int
        /// Per-statement limit set on each connection (see `ConnectionPool.Configuration`).
        public var statementTimeout: Duration?

        public init(
            connectionString: String, connections: Int = 2, maximumBatch: Int = 32, queueTimeout: Duration = .seconds(2),
            connectTimeoutSeconds: Int = 5, statementTimeout: Duration? = nil
        ) {
            self.connectionString = connectionString
            self.connections = max(0, connections)
            self.maximumBatch = max(1, maximumBatch)
            self.queueTimeout = queueTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.statementTimeout = statementTimeout
        }
    }

    /// Occupancy, for metrics.
    public struct Statistics: Sendable {
        public var connections: Int
        public var queued: Int
        public var statements: Int
        public var batches: Int
    }

    public let configuration: Configuration
    private let shared: PipelineShared
    /// The loops when the pipeline made them itself (stopped by `close`).
    private let ownLoops: EventLoopGroup?
    private let lanes: [PipelineLane]
    /// The lanes of each loop, by `EventLoop.index`; empty for a loop that owns none.
    private let lanesByLoop: [[PipelineLane]]
    private let loopIDs: [ObjectIdentifier]
    private let nextLane = Atomic<Int>(0)
    private let isClosed = Atomic<Bool>(false)

    /// Creates the pipeline on `loops` (nil: a group of its own, one loop per connection);
    /// connections open on first use.
    public init(configuration: Configuration, loops: EventLoopGroup? = nil, logger: Logger) {
        self.configuration = configuration
        let shared = PipelineShared(logger: logger)
        self.shared = shared
        let group = loops ?? EventLoopGroup(count: max(1, configuration.connections), name: "db-pipeline")
        ownLoops = loops == nil ? group : nil
        let count = configuration.connections > 0 ? configuration.connections : group.loops.count
        var lanes: [PipelineLane] = []
        var byLoop = [[PipelineLane]](repeating: [], count: group.loops.count)
        for index in 0..<count {
            let loop = group.loops[index % group.loops.count]
            let lane = PipelineLane(loop: loop, configuration: configuration, shared: shared)
            lanes.append(lane)
            byLoop[loop.index].append(lane)
        }
        self.lanes = lanes
        lanesByLoop = byLoop
        loopIDs = group.loops.map { ObjectIdentifier($0) }
    }

    deinit {
        // Not closed (a test that forgot): the lanes leave their loops when those next turn.
        if !isClosed.load(ordering: .relaxed) {
            for lane in lanes { lane.loop.execute { lane.close() } }
        }
    }

    // MARK: - Queries

    /// Runs one statement with `parameters` and returns its rows (binary format, see `Row`).
    /// Waits to be sent no later than the request's `DatabaseDeadline`, when one is set.
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) async throws -> QueryResult {
        let encoded = try EncodedParameters(parameters)
        guard !isClosed.load(ordering: .relaxed) else { throw PostgresError.poolTimeout("the read pipeline is closed") }
        let deadline = DatabaseDeadline.bounding(ContinuousClock.now.advanced(by: configuration.queueTimeout))
        return try await withCheckedThrowingContinuation { continuation in
            let job = PipelineJob(sql: sql, parameters: encoded, deadline: deadline, continuation: continuation)
            if let lane = laneOfCurrentLoop() {
                lane.submit(job)  // this loop's own connection: no hand-off
            } else {
                let lane = lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
                lane.loop.execute { lane.submit(job) }
            }
        }
    }

    /// The least busy lane of the loop running this thread, if it owns one.
    private func laneOfCurrentLoop() -> PipelineLane? {
        guard let loop = EventLoop.current, loop.index < loopIDs.count,
              loopIDs[loop.index] == ObjectIdentifier(loop) else { return nil }
        let own = lanesByLoop[loop.index]
        if own.count <= 1 { return own.first }
        return own.min { $0.pending < $1.pending }
    }

    /// The pipeline's occupancy right now.
    public var statistics: Statistics {
        Statistics(connections: lanes.count, queued: shared.waiting.load(ordering: .relaxed),
                   statements: shared.statementCount.load(ordering: .relaxed), batches: shared.batchCount.load(ordering: .relaxed))
    }

    /// Closes the connections; statements still waiting, and later ones, fail with `poolTimeout`.
    public func close() {
        guard !isClosed.exchange(true, ordering: .relaxed) else { return }
        for lane in lanes { lane.loop.executeAndWait { lane.close() } }
        ownLoops?.shutdown()
    }
}

/// What a pipeline's lanes share with it: the log and the counters.
final class PipelineShared: Sendable {
    let logger: Logger
    /// Statements queued and not yet sent.
    let waiting = Atomic<Int>(0)
    let statementCount = Atomic<Int>(0)
    let batchCount = Atomic<Int>(0)

    init(logger: Logger) {
        self.logger = logger
    }
}

/// One queued statement and the caller waiting for it.
final class PipelineJob: @unchecked Sendable {
    let sql: String
    let parameters: EncodedParameters
    /// When the caller stops waiting for the statement to be sent.
    let deadline: ContinuousClock.Instant
    private let continuation: CheckedContinuation<QueryResult, any Error>
    /// How many times another statement's failure aborted this one.
    var abortCount = 0
    /// Whether its prepared statement went stale once already (then the error is the caller's).
    var wasPreparedAgain = false
    /// Whether it was sent again once already after its connection was lost.
    var wasResentAfterLoss = false

    init(sql: String, parameters: EncodedParameters, deadline: ContinuousClock.Instant,
         continuation: CheckedContinuation<QueryResult, any Error>) {
        self.sql = sql
        self.parameters = parameters
        self.deadline = deadline
        self.continuation = continuation
    }

    func succeed(_ result: QueryResult) { continuation.resume(returning: result) }
    func fail(_ error: PostgresError) { continuation.resume(throwing: error) }
}
