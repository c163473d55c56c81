import CLibPQ

/// One connection of a `QueryPipeline`, kept in libpq's pipeline mode, used by one thread.
final class PipelineConnection {
    private let connection: Connection
    private var handle: OpaquePointer { connection.handle }
    /// Statement names by SQL, prepared on this connection (or being prepared in this batch).
    private var prepared: [String: String] = [:]
    private var nextStatement = 0
    /// Set when a batch could not be sent or read whole: the pipeline's state is then unknown.
    private var isBroken = false

    init(configuration: QueryPipeline.Configuration) throws(PostgresError) {
        connection = try Connection(
            connectionString: configuration.connectionString, connectTimeoutSeconds: configuration.connectTimeoutSeconds,
            statementTimeout: configuration.statementTimeout)
        guard PQenterPipelineMode(connection.handle) == 1 else {
            throw .connectionFailed("cannot enter pipeline mode: \(Connection.trimmed(PQerrorMessage(connection.handle)))")
        }
    }

    /// Whether the connection can take another batch: open, and not closed by the server meanwhile.
    var isUsable: Bool { !isBroken && connection.looksAlive }

    private enum Item {
        case prepare(sql: String)
        case statement(PipelineJob)
    }

    /// Sends `batch` with one Sync, reads every result, resumes each job; returns the jobs aborted
    /// by an earlier statement's failure, to be sent again.
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
            guard let outcome = readOutcome() else {
                let unanswered = items[index...].compactMap { item -> PipelineJob? in
                    if case .statement(let job) = item { return job } else { return nil }
                }
                return failAll(unanswered, reason: "reading results")
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
        guard let sync = PQgetResult(handle) else { return retry }
        PQclear(sync)
        return retry
    }

    private enum Outcome {
        case success(QueryResult)
        case failure(PostgresError)
        case aborted
    }

    /// Reads the results of the next statement up to its terminating NULL; nil when the connection broke.
    private func readOutcome() -> Outcome? {
        var outcome: Outcome?
        while let result = PQgetResult(handle) {
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
        guard connection.isOpen else { return nil }
        return outcome ?? .failure(.unexpectedResult("a pipelined statement returned no result"))
    }

    private func failAll(_ jobs: [PipelineJob], reason: String) -> [PipelineJob] {
        isBroken = true
        let detail = "\(reason): \(Connection.trimmed(PQerrorMessage(handle)))"
        for job in jobs { job.fail(.queryFailed(sqlState: nil, detail: detail)) }
        return []
    }
}
