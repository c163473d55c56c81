import CLibPQ
import Foundation
import Log
#if canImport(Glibc)
import Glibc
#endif

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
/// `poolTimeout`, answered 503); when the database is unreachable each batch fails fast with
/// `connectionFailed`, and the next batch connects again.
///
/// `@unchecked Sendable`: the queue is guarded by `mutex`; each connection is used by its own
/// thread only.
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
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [PipelineJob] = []
    private var queueHead = 0
    private var isClosed = false
    private var runningThreads = 0
    private var statementCount = 0
    private var batchCount = 0

    /// Creates the pipeline and starts its threads; connections open on first use.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        runningThreads = configuration.connections
        for index in 0..<configuration.connections {
            let thread = Thread { [self] in run() }
            thread.name = "db-pipeline-\(index)"
            thread.start()
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    // MARK: - Queries

    /// Runs one statement with `parameters` and returns its rows (binary format, see `Row`).
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) async throws -> QueryResult {
        let encoded = try EncodedParameters(parameters)
        return try await withCheckedThrowingContinuation { continuation in
            let job = PipelineJob(
                sql: sql, parameters: encoded,
                deadline: ContinuousClock.now.advanced(by: configuration.queueTimeout), continuation: continuation)
            let accepted: Bool = locked {
                guard !isClosed else { return false }
                queue.append(job)
                pthread_cond_signal(condition)
                return true
            }
            if !accepted { job.fail(.poolClosed) }
        }
    }

    /// The pipeline's occupancy right now.
    public var statistics: Statistics {
        locked {
            Statistics(connections: configuration.connections, queued: queue.count - queueHead,
                       statements: statementCount, batches: batchCount)
        }
    }

    /// Stops the threads once the queue is empty; later queries fail with `poolClosed`.
    public func close() {
        locked {
            isClosed = true
            pthread_cond_broadcast(condition)
            while runningThreads > 0 { pthread_cond_wait(condition, mutex) }
        }
    }

    // MARK: - Threads

    private func run() {
        var connection: PipelineConnection?
        while let batch = nextBatch() {
            if connection == nil || !connection!.isUsable {
                connection = nil
                do {
                    connection = try PipelineConnection(configuration: configuration)
                } catch {
                    logger.warning("database pipeline connection failed", ["error": .string(error.detail)])
                    for job in batch { job.fail(error) }
                    continue
                }
            }
            let retry = connection!.execute(batch)
            if !retry.isEmpty { requeue(retry) }
            locked {
                statementCount += batch.count - retry.count
                batchCount += 1
            }
        }
        connection = nil
        locked {
            runningThreads -= 1
            pthread_cond_broadcast(condition)
        }
    }

    /// Waits for work; returns the jobs to send now, or nil once closed and drained.
    /// Jobs that waited past their deadline are failed here and not sent.
    private func nextBatch() -> [PipelineJob]? {
        var expired: [PipelineJob] = []
        let batch: [PipelineJob]? = locked {
            while queueHead == queue.count {
                if isClosed { return nil }
                pthread_cond_wait(condition, mutex)
            }
            let now = ContinuousClock.now
            var taken: [PipelineJob] = []
            while queueHead < queue.count && taken.count < configuration.maximumBatch {
                let job = queue[queueHead]
                queueHead += 1
                if job.deadline < now { expired.append(job) } else { taken.append(job) }
            }
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            return taken
        }
        for job in expired {
            job.fail(.poolTimeout("a statement waited longer than \(configuration.queueTimeout) for the database"))
        }
        return batch
    }

    /// Puts jobs aborted by another statement's failure back at the front of the queue.
    private func requeue(_ jobs: [PipelineJob]) {
        locked {
            queue.replaceSubrange(queueHead..<queueHead, with: jobs)
            pthread_cond_signal(condition)
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// One queued statement and the caller waiting for it.
final class PipelineJob: @unchecked Sendable {
    let sql: String
    let parameters: EncodedParameters
    let deadline: ContinuousClock.Instant
    private let continuation: CheckedContinuation<QueryResult, any Error>
    /// How many times another statement's failure aborted this one.
    var abortCount = 0

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
