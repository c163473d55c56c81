import CLibPQ
import FoundationEssentials
import Log
import Synchronization
import Threads

/// Single statements from many requests, sent to PostgreSQL in batches over a few connections in
/// libpq's pipeline mode.
///
/// A request thread never blocks on the database here: `query` queues the statement and
/// suspends; each of `connections` threads takes everything queued (up to `maximumBatch`), sends
/// it in one write followed by one Sync, reads the results in order and resumes each caller.
/// Under load one round trip and one wake-up of a PostgreSQL backend serve a whole batch, which
/// is what lets registryd approach what the database can do (see the README's performance
/// section). Meant for statements that do not wait on locks (reads): one statement stuck on a
/// lock would hold up the statements queued behind it on its connection, so writes go through
/// `ConnectionPool.run` instead.
///
/// Errors keep to their statement: when one fails, the rest of its batch is aborted by the server
/// and queued again. A statement waits in the queue at most `queueTimeout` (then
/// `poolTimeout`, answered 503; see `JobQueue`); when the database is unreachable each batch
/// fails fast with `connectionFailed`, and the next batch connects again. When it hangs instead,
/// a batch waits for each answer at most the statement timeout plus a margin, then fails its
/// callers with `timedOut` and gives the connection up (see `PipelineConnection`); connecting for a
/// batch ends by its oldest caller's deadline plus that same wait.
///
/// Every job handed to a connection is resumed or queued again, whatever breaks mid-batch.
///
/// `@unchecked Sendable`: the counters are atomic, the queue guards itself, and each connection is
/// used by its own thread only.
public final class QueryPipeline: @unchecked Sendable {
    /// How the pipeline connects and batches.
    public struct Configuration: Sendable {
        public var connectionString: String
        /// Connections, each with its own thread.
        public var connections: Int
        /// The most statements sent in one batch.
        public var maximumBatch: Int
        /// The longest a statement may wait in the queue.
        public var queueTimeout: Duration
        public var connectTimeoutSeconds: Int
        /// Per-statement limit set on each connection (see `ConnectionPool.Configuration`).
        public var statementTimeout: Duration?

        public init(
            connectionString: String, connections: Int = 2, maximumBatch: Int = 32, queueTimeout: Duration = .seconds(2),
            connectTimeoutSeconds: Int = 5, statementTimeout: Duration? = nil
        ) {
            self.connectionString = connectionString
            self.connections = max(1, connections)
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
    private let logger: Logger
    private let threadStarted: (@Sendable () -> Void)?
    private let afterBatch: (@Sendable () -> Void)?
    private let queue: JobQueue<PipelineJob>
    private var threads: ThreadGroup?
    private let statementCount = Atomic<Int>(0)
    private let batchCount = Atomic<Int>(0)
    /// What a statement gets that waited too long in the queue.
    private let waitedTooLong: PostgresError

    /// Creates the pipeline and starts its threads; connections open on first use.
    ///
    /// `threadStarted` runs once on each of the pipeline's threads, and `afterBatch` on that
    /// thread after every batch, once its callers are resumed: the server passes closures that
    /// make the thread run the resumed handlers itself (`HandlerExecutor.runQueuedJobs`).
    public init(
        configuration: Configuration, logger: Logger,
        threadStarted: (@Sendable () -> Void)? = nil, afterBatch: (@Sendable () -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.threadStarted = threadStarted
        self.afterBatch = afterBatch
        let waitedTooLong = PostgresError.poolTimeout("a statement waited longer than \(configuration.queueTimeout) for the database")
        self.waitedTooLong = waitedTooLong
        queue = JobQueue(name: "db-pipeline") { $0.fail(waitedTooLong) }
        threads = ThreadGroup(count: configuration.connections, name: "db-pipeline") { [self] in run() }
    }

    // MARK: - Queries

    /// Runs one statement with `parameters` and returns its rows (binary format, see `Row`).
    /// Waits in the queue no later than the request's `DatabaseDeadline`, when one is set.
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) async throws -> QueryResult {
        let encoded = try EncodedParameters(parameters)
        let deadline = DatabaseDeadline.bounding(ContinuousClock.now.advanced(by: configuration.queueTimeout))
        return try await withCheckedThrowingContinuation { continuation in
            queue.append(PipelineJob(sql: sql, parameters: encoded, deadline: deadline, continuation: continuation))
        }
    }

    /// The pipeline's occupancy right now.
    public var statistics: Statistics {
        Statistics(connections: configuration.connections, queued: queue.count,
                   statements: statementCount.load(ordering: .relaxed), batches: batchCount.load(ordering: .relaxed))
    }

    /// Sends what is queued, then stops the threads; later queries fail with `poolTimeout`.
    public func close() {
        queue.close()
        threads?.waitUntilFinished()
    }

    // MARK: - Threads

    private func run() {
        threadStarted?()
        var connection: PipelineConnection?
        while let taken = queue.take(maximum: configuration.maximumBatch) {
            // Whatever this batch resumed, succeeded or failed, runs here before the next one.
            defer { afterBatch?() }
            let now = ContinuousClock.now
            var batch: [PipelineJob] = []
            for job in taken {
                if job.deadline < now { job.fail(waitedTooLong) } else { batch.append(job) }
            }
            if batch.isEmpty { continue }
            if connection == nil || !connection!.isUsable {
                connection = nil
                do {
                    connection = try PipelineConnection(configuration: configuration, deadline: batch.map(\.deadline).min()!)
                } catch {
                    logger.warning("database pipeline connection failed", ["error": .string(error.detail)])
                    for job in batch { job.fail(error) }
                    continue
                }
            }
            let retry = connection!.execute(batch)
            if !retry.isEmpty { queue.prepend(retry) }
            statementCount.add(batch.count - retry.count, ordering: .relaxed)
            batchCount.add(1, ordering: .relaxed)
        }
        connection = nil
    }
}

/// One queued statement and the caller waiting for it.
final class PipelineJob: DeadlineBound, @unchecked Sendable {
    let sql: String
    let parameters: EncodedParameters
    /// When the caller stops waiting for the statement to be sent.
    let deadline: ContinuousClock.Instant
    private let continuation: CheckedContinuation<QueryResult, any Error>
    /// How many times another statement's failure aborted this one.
    var abortCount = 0
    /// Whether its prepared statement went stale once already (then the error is the caller's).
    var wasPreparedAgain = false

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
