import CLibPQ
import CLinuxEvents
import EventLoops

/// One connection of a `QueryPipeline` in libpq's pipeline mode, owned by one `EventLoop`: only
/// that loop's thread touches it.
///
/// The loop's handlers `submit` statements during a turn; once the turn's events are handled
/// (`afterEvents`, and again in `beforeWait`) they are all sent (prepares first when needed, one
/// Sync per `maximumBatch`) and flushed without blocking, unless `maximumBatchesInFlight` batches
/// are still out: then they wait for the oldest one's Sync, so that a batch holds what arrived
/// meanwhile; the socket's
/// readable events read results as they come (`PQconsumeInput`, then `PQgetResult` while libpq
/// is not busy) and resume each caller on the loop. Connecting happens on a short-lived thread
/// (libpq's connection sequence has its own deadline, see `Connection.open`) that hands the
/// connection back to the loop; the statements waiting meanwhile stay bounded by their deadlines.
///
/// `@unchecked Sendable`: it is only ever used on its loop's thread (closures carry it there).
final class PipelineLane: EventHandler, LoopParticipant, @unchecked Sendable {
    let loop: EventLoop
    let configuration: QueryPipeline.Configuration
    let shared: PipelineShared

    var connection: Connection?
    var descriptor: Int32 = -1
    var isConnecting = false
    var isAttached = false
    var isClosed = false
    /// Whether libpq holds output the socket did not take (then EPOLLOUT is watched).
    var isWaitingToWrite = false
    /// Statements waiting to be sent.
    var queued: [PipelineJob] = []
    /// What was sent and is awaiting its results, in order.
    var sent: [Item] = []
    var sentHead = 0
    /// Batches sent whose Sync has not come back. While `maximumBatchesInFlight` are out,
    /// statements wait for the oldest: a batch then holds what arrived meanwhile (1.1 statements
    /// per batch under the GET benchmark when every turn sent its own, each costing PostgreSQL a
    /// wake-up; about 20 with one batch in flight).
    var batchesInFlight = 0
    /// Two, not one: with one, a statement that arrives just after a batch left waits that whole
    /// round trip before its own; the second batch overlaps it. Measured (README, Performance):
    /// GET 1.12x the rate of one batch in flight in the same rounds, p99 5.55 ms against 6.02.
    static let maximumBatchesInFlight = 2
    /// Statement names by SQL, prepared on this connection (or being prepared).
    var prepared: [String: String] = [:]
    var nextStatement = 0
    /// The results of the statement at the head of `sent`, as they arrive.
    var outcome: Outcome?
    var failedPrepare: (sql: String, error: PostgresError)?
    /// When the server last sent something, or was first sent something after being quiet.
    var lastProgress = ContinuousClock.now

    enum Item {
        case prepare(sql: String)
        case statement(PipelineJob)
        case sync
    }

    enum Outcome {
        case success(QueryResult)
        case failure(PostgresError)
        case aborted
    }

    init(loop: EventLoop, configuration: QueryPipeline.Configuration, shared: PipelineShared) {
        self.loop = loop
        self.configuration = configuration
        self.shared = shared
    }

    /// Statements queued or awaiting results (to pick the least busy lane of a loop).
    var pending: Int { queued.count + sent.count - sentHead }

    /// Queues `job` for the next batch (on the loop's thread).
    func submit(_ job: PipelineJob) {
        if isClosed {
            job.fail(.poolTimeout("the read pipeline is closed"))
            return
        }
        if !isAttached {
            isAttached = true
            loop.add(self, first: true)
        }
        queued.append(job)
        shared.waiting.add(1, ordering: .relaxed)
    }

    // MARK: - Sending

    /// The turn's statements leave before the loop renders the answers it resumed.
    func afterEvents() {
        beforeWait()
    }

    func beforeWait() {
        guard !queued.isEmpty, batchesInFlight < Self.maximumBatchesInFlight else { return }
        guard let connection else {
            if !isConnecting { connect() }
            return
        }
        let handle = connection.handle
        let now = ContinuousClock.now
        if sentHead == sent.count { lastProgress = now }
        let batch = queued
        queued.removeAll(keepingCapacity: true)
        shared.waiting.subtract(batch.count, ordering: .relaxed)
        var inBatch = 0
        for (position, job) in batch.enumerated() {
            if job.deadline < now {
                job.fail(.poolTimeout("a statement waited longer than \(configuration.queueTimeout) for the database"))
                continue
            }
            let name: String
            if let existing = prepared[job.sql] {
                name = existing
            } else {
                nextStatement += 1
                name = "pipeline_\(nextStatement)"
                guard PQsendPrepare(handle, name, job.sql, Int32(job.parameters.count), nil) == 1 else {
                    return lost("sending a statement", unsent: Array(batch[position...]))
                }
                prepared[job.sql] = name
                sent.append(.prepare(sql: job.sql))
            }
            let accepted = job.parameters.withPointers { pointers in
                PQsendQueryPrepared(handle, name, Int32(job.parameters.count), pointers, nil, nil, 1)
            }
            guard accepted == 1 else { return lost("sending a statement", unsent: Array(batch[position...])) }
            sent.append(.statement(job))
            inBatch += 1
            if inBatch == configuration.maximumBatch || position == batch.count - 1 {
                guard PQpipelineSync(handle) == 1 else { return lost("sending a batch", unsent: []) }
                sent.append(.sync)
                batchesInFlight += 1
                inBatch = 0
            }
        }
        if inBatch > 0 {  // the last jobs had expired after some were sent
            guard PQpipelineSync(handle) == 1 else { return lost("sending a batch", unsent: []) }
            sent.append(.sync)
            batchesInFlight += 1
        }
        flush()
    }

    /// Hands libpq's output to the socket; watches for writability while some is left.
    func flush() {
        guard let connection else { return }
        let flushed = PQflush(connection.handle)  // 0: all sent, 1: more to send, -1: failed
        if flushed < 0 { return lost("sending to the server", unsent: []) }
        let waiting = flushed == 1
        if waiting != isWaitingToWrite {
            isWaitingToWrite = waiting
            loop.modify(descriptor, events: CLinuxEvents_in() | (waiting ? CLinuxEvents_out() : 0))
        }
    }

    // MARK: - Reading

    func handle(descriptor: Int32, events: UInt32) {
        guard let connection, descriptor == self.descriptor else { return }
        if events & CLinuxEvents_out() != 0 && isWaitingToWrite { flush() }
        guard self.connection != nil else { return }
        if events & (CLinuxEvents_in() | CLinuxEvents_hangUp()) != 0 {
            guard PQconsumeInput(connection.handle) == 1 else { return lost("reading from the server", unsent: []) }
            let ending = readResults(connection.handle)
            if self.connection != nil && (ending || PQstatus(connection.handle) != CONNECTION_OK) {
                lost("the server closed the connection", unsent: [])
            }
        }
    }

    /// Reads every result libpq has whole, resuming each statement's caller as its results end;
    /// returns whether the server said it is ending the connection (`pg_terminate_backend`, a shutdown).
    private func readResults(_ handle: OpaquePointer) -> Bool {
        var ending = false
        while sentHead < sent.count && PQisBusy(handle) == 0 {
            let result = PQgetResult(handle)
            lastProgress = ContinuousClock.now
            if case .sync = sent[sentHead] {
                if let result { PQclear(result) }
                batchesInFlight -= 1
                advance()
                shared.batchCount.add(1, ordering: .relaxed)
                continue
            }
            guard let result else {
                finish(sent[sentHead], outcome ?? .failure(.unexpectedResult("a pipelined statement returned no result")))
                outcome = nil
                advance()
                continue
            }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                if outcome == nil { outcome = .success(QueryResult(result)) } else { PQclear(result) }
            case PGRES_PIPELINE_ABORTED:
                outcome = .aborted
                PQclear(result)
            default:
                let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
                let error = PostgresError.queryFailed(sqlState: sqlState, detail: Connection.trimmed(PQresultErrorMessage(result)))
                ending = ending || error.endsTheConnection
                outcome = .failure(error)
                PQclear(result)
            }
        }
        return ending
    }

    private func advance() {
        sentHead += 1
        if sentHead == sent.count {
            sent.removeAll(keepingCapacity: true)
            sentHead = 0
            failedPrepare = nil
        } else if sentHead >= 256 && sentHead * 2 >= sent.count {
            // Under steady load something is always in flight: drop what was read, or `sent`
            // (and every job it holds) grows without end.
            sent.removeFirst(sentHead)
            sentHead = 0
        }
    }

    /// Resumes the caller of a statement whose results are all in, or queues it again.
    private func finish(_ item: Item, _ outcome: Outcome) {
        switch item {
        case .sync:
            break
        case .prepare(let sql):
            switch outcome {
            case .success: break
            case .failure(let error):
                prepared.removeValue(forKey: sql)
                failedPrepare = (sql, error)
            case .aborted:
                prepared.removeValue(forKey: sql)
            }
        case .statement(let job):
            switch outcome {
            case .success(let result):
                shared.statementCount.add(1, ordering: .relaxed)
                job.succeed(result)
            case .failure(let error) where error.endsTheConnection && !job.wasResentAfterLoss:
                job.wasResentAfterLoss = true  // the server is closing this connection: send it on the next
                requeue(job)
            case .failure(let error) where error.isStalePreparedStatement && !job.wasPreparedAgain:
                prepared.removeValue(forKey: job.sql)  // the next batch prepares it anew
                job.wasPreparedAgain = true
                requeue(job)
            case .failure(let error): job.fail(error)
            case .aborted where failedPrepare?.sql == job.sql:
                job.fail(failedPrepare!.error)  // its own statement did not prepare: say why
            case .aborted:
                job.abortCount += 1
                if job.abortCount < 3 { requeue(job) } else {
                    job.fail(.queryFailed(sqlState: nil, detail: "statement aborted three times by failures of others in its batch"))
                }
            }
        }
    }

    /// Puts `job` back to be sent in the next batch.
    func requeue(_ job: PipelineJob) {
        queued.append(job)
        shared.waiting.add(1, ordering: .relaxed)
    }
}
