import CLibPQ
import CLinuxEvents
import EventLoops
import Threads

/// A lane's connection: opened off the loop, lost, given up on, closed; and its deadlines.
extension PipelineLane {
    /// A connection handed from the thread that opened it to the loop.
    private final class Opened: @unchecked Sendable {
        let connection: Connection
        init(_ connection: Connection) { self.connection = connection }
    }

    /// Opens a connection on a thread of its own (libpq's connection sequence waits on the socket),
    /// by the oldest waiting statement's deadline plus one statement's wait at the latest (see
    /// `ConnectionPool`), and hands it to the loop.
    func connect() {
        isConnecting = true
        let configuration = configuration
        let oldest = queued.map(\.deadline).min() ?? ContinuousClock.now.advanced(by: configuration.queueTimeout)
        let budget = Connection.defaultResponseTimeout(statementTimeout: configuration.statementTimeout)
        let lane = self
        DetachedThread.start(name: "db-connect") {
            do throws(PostgresError) {
                let connection = try Connection(
                    connectionString: configuration.connectionString,
                    connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                    statementTimeout: configuration.statementTimeout, connectDeadline: budget.map { oldest.advanced(by: $0) })
                guard PQenterPipelineMode(connection.handle) == 1, PQsetnonblocking(connection.handle, 1) == 0 else {
                    throw .connectionFailed("cannot enter pipeline mode: \(Connection.trimmed(PQerrorMessage(connection.handle)))")
                }
                let opened = Opened(connection)
                lane.loop.execute { lane.connected(opened.connection) }
            } catch {
                lane.loop.execute { lane.connectionFailed(error) }
            }
        }
    }

    private func connected(_ connection: Connection) {
        isConnecting = false
        guard !isClosed else { return }
        self.connection = connection
        descriptor = PQsocket(connection.handle)
        isWaitingToWrite = false
        prepared = [:]
        loop.register(descriptor, events: CLinuxEvents_in(), handler: self)
        // The queued statements go out when the loop finishes this turn (`beforeWait`).
    }

    private func connectionFailed(_ error: PostgresError) {
        isConnecting = false
        shared.logger.warning("database pipeline connection failed", ["error": .string(error.detail)])
        failQueued(error)
    }

    /// The connection broke while sending or reading: statements sent on it are sent once more on
    /// a new one (they are reads; a second loss fails them), `unsent` ones wait for it too.
    func lost(_ doing: String, unsent: [PipelineJob]) {
        let detail = "\(doing): \(connection.map { Connection.trimmed(PQerrorMessage($0.handle)) } ?? "no connection")"
        shared.logger.warning("database pipeline connection lost", ["error": .string(detail)])
        let inFlight = discardConnection()
        var again = unsent
        for job in inFlight {
            if job.wasResentAfterLoss {
                job.fail(.queryFailed(sqlState: nil, detail: detail))
            } else {
                job.wasResentAfterLoss = true
                again.append(job)
            }
        }
        queued.insert(contentsOf: again, at: 0)
        shared.waiting.add(again.count, ordering: .relaxed)
    }

    /// Closes the connection; returns the statements that were sent on it and never answered.
    private func discardConnection() -> [PipelineJob] {
        var inFlight: [PipelineJob] = []
        for case .statement(let job) in sent[sentHead...] { inFlight.append(job) }
        sent.removeAll()
        sentHead = 0
        batchesInFlight = 0
        outcome = nil
        failedPrepare = nil
        prepared = [:]
        isWaitingToWrite = false
        if connection != nil {
            loop.unregister(descriptor)
            connection = nil  // PQfinish
            descriptor = -1
        }
        return inFlight
    }

    private func failQueued(_ error: PostgresError) {
        let waiting = queued
        queued.removeAll()
        shared.waiting.subtract(waiting.count, ordering: .relaxed)
        for job in waiting { job.fail(error) }
    }

    /// Fails statements that waited too long to be sent, and gives the connection up when the
    /// server has not answered what was sent within the statement timeout plus a margin.
    func checkDeadlines(now: ContinuousClock.Instant) {
        if !queued.isEmpty {
            let expired = queued.filter { $0.deadline < now }
            if !expired.isEmpty {
                queued.removeAll { $0.deadline < now }
                shared.waiting.subtract(expired.count, ordering: .relaxed)
                let error = PostgresError.poolTimeout("a statement waited longer than \(configuration.queueTimeout) for the database")
                for job in expired { job.fail(error) }
            }
        }
        guard sentHead < sent.count,
              let limit = Connection.defaultResponseTimeout(statementTimeout: configuration.statementTimeout),
              now - lastProgress > limit else { return }
        shared.logger.warning("database pipeline connection gave no answer in time", ["waited": .string("\(limit)")])
        let error = PostgresError.timedOut("the database did not answer within \(limit); connection discarded")
        for job in discardConnection() { job.fail(error) }
    }

    /// Closes the lane for good (on its loop's thread): waiting statements fail with `poolTimeout`.
    func close() {
        isClosed = true
        let error = PostgresError.poolTimeout("the read pipeline is closed")
        failQueued(error)
        for job in discardConnection() { job.fail(error) }
        if isAttached {
            loop.remove(self)
            isAttached = false
        }
    }
}
