import FoundationEssentials
import Log
import Threads

/// A fixed-size pool of `Connection`s shared by the request threads.
///
/// Connections are opened lazily, up to `size`, outside the pool's lock, so a slow connect does
/// not stall callers that could use an idle connection. A caller that finds the pool exhausted
/// queues and waits at most `acquireTimeout`, then gets `PostgresError.poolTimeout` (the API
/// answers 503): requests never queue forever. A released connection goes straight to the
/// oldest waiter (see `PoolWaiter`).
///
/// Every connection is checked when it comes back: one that is closed or still inside a
/// transaction is discarded, never reused. Before an idle connection is lent, one `poll` checks
/// that the server has not closed it. When one is found broken, the idle ones are discarded too,
/// since a server restart breaks them all at once; they are replaced on demand, so the first
/// requests after a database restart succeed rather than fail on dead connections. A connection
/// given up on (a server that missed its deadline, a ROLLBACK that failed, see `Connection`) is
/// discarded the same way, and the reason logged.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`, and a `Connection` is
/// handed to exactly one caller at a time.
public final class ConnectionPool: @unchecked Sendable {
    /// The settings the pool was created with.
    public let configuration: Configuration
    private let logger: Logger
    /// Adaptive: it spins briefly before sleeping, as the critical sections are a few dozen instructions.
    private let lock = ConditionLock(adaptive: true)
    private var idle: [Connection] = []
    private var waiters: [PoolWaiter] = []
    private var open = 0
    private var inUse = 0
    private var isClosed = false
    /// The threads of `run`, one per connection, started on first use.
    private var workerThreads: WorkerThreads?

    /// Creates a pool; no connection is opened until one is needed.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: - Lending

    /// Runs `body` with a connection lent for its duration.
    @discardableResult
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection(waitingUntil: ContinuousClock.now.advanced(by: configuration.acquireTimeout), body)
    }

    /// Runs `body` with a connection lent for its duration, waiting for one at most until `deadline`.
    private func withConnection<T>(waitingUntil deadline: ContinuousClock.Instant, _ body: (Connection) throws -> T) throws -> T {
        let connection = try acquire(until: deadline)
        defer { release(connection) }
        return try body(connection)
    }

    /// Runs `body` with a lent connection on one of the pool's own threads, so that the caller's
    /// thread never blocks on the database. The wait for a thread counts against `acquireTimeout`,
    /// and ends no later than the request's `DatabaseDeadline` when an earlier wait set one.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let deadline = DatabaseDeadline.bounding(ContinuousClock.now.advanced(by: configuration.acquireTimeout))
        let timeout = configuration.acquireTimeout
        let size = configuration.size
        let workers: WorkerThreads = lock.withLock {
            if let workerThreads { return workerThreads }
            let started = WorkerThreads(count: configuration.size, name: "db-pool")
            workerThreads = started
            return started
        }
        return try await workers.run(
            deadline: deadline,
            expired: { PostgresError.poolTimeout("no database thread free within \(timeout) (pool size \(size))") }
        ) { [self] in
            try withConnection(waitingUntil: deadline, body)  // one deadline for the thread and the connection
        }
    }

    /// Runs `body` inside a transaction on a lent connection (see `Connection.withTransaction`).
    @discardableResult
    public func withTransaction<T>(
        isolation: Connection.IsolationLevel? = nil,
        _ body: (Connection) throws -> T
    ) throws -> T {
        try withConnection { connection in
            try connection.withTransaction(isolation: isolation, body)
        }
    }

    /// The pool's occupancy right now.
    public var statistics: Statistics {
        let (statistics, workers) = lock.withLock {
            (Statistics(capacity: configuration.size, open: open, inUse: inUse, waiting: waiters.count), workerThreads)
        }
        var total = statistics
        total.waiting += workers?.queued ?? 0  // `run` callers waiting for one of the pool's threads
        return total
    }

    /// Closes idle connections and refuses new loans; waiters are woken with `poolClosed`, and
    /// connections lent out are closed when returned.
    public func close() {
        let (closing, woken, workers): ([Connection], [PoolWaiter], WorkerThreads?) = lock.withLock {
            isClosed = true
            let closing = idle
            let woken = waiters
            open -= closing.count
            idle.removeAll()
            waiters.removeAll()
            for waiter in woken { waiter.grant = .closed }
            return (closing, woken, workerThreads)
        }
        for waiter in woken { waiter.post() }
        workers?.close()  // queued work runs and fails fast with poolClosed
        _ = closing  // released here, outside the lock: PQfinish may block briefly
    }

    // MARK: - Private

    private enum Loan {
        case idle(Connection)
        case openNew
        case wait(PoolWaiter)
        case closed
    }

    private func acquire(until deadline: ContinuousClock.Instant) throws -> Connection {
        while true {
            let loan: Loan = lock.withLock {
                if isClosed { return .closed }
                if let connection = idle.popLast() {
                    inUse += 1
                    return .idle(connection)
                }
                if open < configuration.size {
                    open += 1
                    inUse += 1
                    return .openNew
                }
                let waiter = PoolWaiter()
                waiters.append(waiter)
                return .wait(waiter)
            }
            switch loan {
            case .closed:
                throw PostgresError.poolClosed
            case .idle(let connection):
                if let alive = alive(connection) { return alive }
            case .openNew:
                return try connect(acquiredBy: deadline)
            case .wait(let waiter):
                switch try grant(for: waiter, until: deadline) {
                case .connection(let connection):
                    if let alive = alive(connection) { return alive }
                case .openNew:
                    return try connect(acquiredBy: deadline)
                case .closed:
                    throw PostgresError.poolClosed
                }
            }
        }
    }

    /// Waits for `waiter`'s grant, or gives up at `deadline` if none was granted by then.
    private func grant(for waiter: PoolWaiter, until deadline: ContinuousClock.Instant) throws -> PoolWaiter.Grant {
        if !waiter.wait(until: deadline) {
            let stillQueued: Bool = lock.withLock {
                guard let index = waiters.firstIndex(where: { $0 === waiter }) else { return false }
                waiters.remove(at: index)
                return true
            }
            if stillQueued {
                throw PostgresError.poolTimeout(
                    "no connection free within \(configuration.acquireTimeout) (pool size \(configuration.size))")
            }
            waiter.waitForPost()  // granted just as the wait timed out: the post is on its way
        }
        return waiter.grant!
    }

    /// `connection` if the server has not closed it; else nil, having dropped it and every idle
    /// one (a restart or a failover closes them all at once).
    private func alive(_ connection: Connection) -> Connection? {
        if connection.looksAlive { return connection }
        let count = discardIdle(with: connection)
        logger.warning("database connections closed by the server; reconnecting", ["discarded": .int(count)])
        return nil
    }

    /// Drops `connection` (lent to this caller) and every idle one; returns how many were closed.
    private func discardIdle(with connection: Connection) -> Int {
        var dropped: [Connection] = lock.withLock {
            let dropped = idle
            idle.removeAll()
            open -= dropped.count + 1
            inUse -= 1
            return dropped
        }
        dropped.append(connection)
        let count = dropped.count
        dropped.removeAll()  // PQfinish for each, outside the lock
        wakeWaitersForFreedSlots()
        return count
    }

    /// Opens a connection for a caller who had until `deadline` to get one: connecting may take
    /// `connectTimeoutSeconds`, but no longer than that deadline plus one statement's wait, so a
    /// request never waits longer for a new connection than it would have for a statement.
    private func connect(acquiredBy deadline: ContinuousClock.Instant) throws -> Connection {
        let budget = Connection.defaultResponseTimeout(statementTimeout: configuration.statementTimeout)
        do throws(PostgresError) {
            return try Connection(
                connectionString: configuration.connectionString,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                statementTimeout: configuration.statementTimeout,
                connectDeadline: budget.map { deadline.advanced(by: $0) })
        } catch {
            lock.withLock {
                open -= 1
                inUse -= 1
            }
            wakeWaitersForFreedSlots()
            logger.error("database connection failed", ["error": .string(error.detail)])
            throw error
        }
    }

    /// Lets waiters open connections in the slots freed by discarded ones.
    private func wakeWaitersForFreedSlots() {
        let woken: [PoolWaiter] = lock.withLock {
            var woken: [PoolWaiter] = []
            while open < configuration.size, !waiters.isEmpty {
                let waiter = waiters.removeFirst()
                waiter.grant = .openNew
                open += 1
                inUse += 1
                woken.append(waiter)
            }
            return woken
        }
        for waiter in woken { waiter.post() }
    }

    private func release(_ connection: Connection) {
        if !connection.isOpen {
            let reason = connection.brokenReason ?? "closed"
            let count = discardIdle(with: connection)
            logger.warning("database connection lost; discarding idle connections",
                           ["discarded": .int(count), "reason": .string(reason)])
            return
        }
        if !connection.isReusable {
            lock.withLock {
                inUse -= 1
                open -= 1
            }
            wakeWaitersForFreedSlots()
            logger.warning("database connection returned inside a transaction; discarded")
            return
        }
        let handedTo: PoolWaiter? = lock.withLock {
            if isClosed {
                inUse -= 1
                open -= 1
                return nil
            }
            if !waiters.isEmpty {
                let waiter = waiters.removeFirst()
                waiter.grant = .connection(connection)
                return waiter  // stays in use: it changes hands
            }
            inUse -= 1
            idle.append(connection)
            return nil
        }
        handedTo?.post()
    }
}

extension Duration {
    /// The duration in seconds, as Foundation's `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
