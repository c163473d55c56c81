import CLibPQ

/// One connection of a `QueryPipeline`, kept in libpq's pipeline mode, used by one thread.
///
/// Reading waits for each statement's results at most `Connection.responseTimeout` (the
/// statement timeout plus a margin): a frozen server fails the batch's callers with `timedOut`
/// (503) and the connection is given up, instead of holding them forever.
final class PipelineConnection {
    private let connection: Connection
    private var handle: OpaquePointer { connection.handle }
    /// Statement names by SQL, prepared on this connection (or being prepared in this batch).
    private var prepared: [String: String] = [:]
    private var nextStatement = 0

    /// Connects for a batch whose first caller stops waiting at `deadline`: connecting ends by then
    /// plus one statement's wait at the latest (see `ConnectionPool`).
    init(configuration: QueryPipeline.Configuration, deadline: ContinuousClock.Instant) throws(PostgresError) {
        let budget = Connection.defaultResponseTimeout(statementTimeout: configuration.statementTimeout)
        connection = try Connection(
            connectionString: configuration.connectionString, connectTimeoutSeconds: configuration.connectTimeoutSeconds,
            statementTimeout: configuration.statementTimeout, connectDeadline: budget.map { deadline.advanced(by: $0) })
        guard PQenterPipelineMode(connection.handle) == 1 else {
            throw .connectionFailed("cannot enter pipeline mode: \(Connection.trimmed(PQerrorMessage(connection.handle)))")
        }
    }

    /// Whether the connection can take another batch: open, not given up on after a failed or
    /// late batch, and not closed by the server meanwhile.
    var isUsable: Bool { connection.looksAlive }

    private enum Item {
        case prepare(sql: String)
        case statement(PipelineJob)
    }

    /// Sends `batch` with one Sync, reads every result, resumes each job; returns the jobs to be
    /// sent again: those aborted by an earlier statement's failure (they never ran), and one whose
    /// prepared statement went stale (26000 / 0A000: another instance changed the schema), once.
    ///
    /// Every job of `batch` is either resumed or returned, whatever breaks: when the connection is
    /// lost or the server misses its deadline, the jobs not yet answered fail (they may have run)
    /// and the aborted ones are still returned.
    func execute(_ batch: [PipelineJob]) -> [PipelineJob] {
        var items: [Item] = []
        items.reserveCapacity(batch.count + 1)
        for job in batch {
            let name: String
            if let existing = prepared[job.sql] {
                name = existing
            } else {
                nextStatement += 1
                name = "pipeline_\(nextStatement)"
                guard PQsendPrepare(handle, name, job.sql, Int32(job.parameters.count), nil) == 1 else {
                    return failAll(batch, reason: "sending a statement")
                }
                prepared[job.sql] = name
                items.append(.prepare(sql: job.sql))
            }
            let sent = job.parameters.withPointers { pointers in
                PQsendQueryPrepared(handle, name, Int32(job.parameters.count), pointers, nil, nil, 1)
            }
            guard sent == 1 else { return failAll(batch, reason: "sending a statement") }
            items.append(.statement(job))
        }
        guard PQpipelineSync(handle) == 1 else { return failAll(batch, reason: "sending a batch") }

        var retry: [PipelineJob] = []
        var failedPrepare: (sql: String, error: PostgresError)?
        for (index, item) in items.enumerated() {
            let outcome: Outcome
            do {
                outcome = try readOutcome()
            } catch {
                for case .statement(let job) in items[index...] { job.fail(error) }
                return retry
            }
            switch item {
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
                case .success(let result): job.succeed(result)
                case .failure(let error) where error.isStalePreparedStatement && !job.wasPreparedAgain:
                    prepared.removeValue(forKey: job.sql)  // the next batch prepares it anew
                    job.wasPreparedAgain = true
                    retry.append(job)
                case .failure(let error): job.fail(error)
                case .aborted where failedPrepare?.sql == job.sql:
                    job.fail(failedPrepare!.error)  // its own statement did not prepare: say why
                case .aborted:
                    job.abortCount += 1
                    if job.abortCount < 3 { retry.append(job) } else {
                        job.fail(.queryFailed(sqlState: nil, detail: "statement aborted three times by failures of others in its batch"))
                    }
                }
            }
        }
        // The Sync's own result; if it cannot be read the connection is given up, and the next
        // batch opens another.
        if let sync = try? connection.nextResult(until: deadline()) { PQclear(sync) }
        return retry
    }

    private enum Outcome {
        case success(QueryResult)
        case failure(PostgresError)
        case aborted
    }

    private func deadline() -> ContinuousClock.Instant? {
        connection.responseTimeout.map { ContinuousClock.now.advanced(by: $0) }
    }

    /// Reads the results of the next statement up to its terminating NULL; throws when the
    /// connection broke or the server missed its deadline.
    private func readOutcome() throws(PostgresError) -> Outcome {
        let deadline = deadline()
        var outcome: Outcome?
        while let result = try connection.nextResult(until: deadline) {
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                if outcome == nil { outcome = .success(QueryResult(result)) } else { PQclear(result) }
            case PGRES_PIPELINE_ABORTED:
                outcome = .aborted
                PQclear(result)
            default:
                let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
                outcome = .failure(.queryFailed(sqlState: sqlState, detail: Connection.trimmed(PQresultErrorMessage(result))))
                PQclear(result)
            }
        }
        guard connection.isOpen else {
            connection.markBroken("connection lost while reading a batch")
            throw .queryFailed(sqlState: nil, detail: "reading results: \(Connection.trimmed(PQerrorMessage(handle)))")
        }
        return outcome ?? .failure(.unexpectedResult("a pipelined statement returned no result"))
    }

    private func failAll(_ jobs: [PipelineJob], reason: String) -> [PipelineJob] {
        let detail = "\(reason): \(Connection.trimmed(PQerrorMessage(handle)))"
        connection.markBroken(detail)
        for job in jobs { job.fail(.queryFailed(sqlState: nil, detail: detail)) }
        return []
    }
}
