import Foundation
import Log

/// A fixed-size pool of `Connection`s shared by the request threads.
///
/// Connections are opened lazily, up to `size`, outside the pool's lock, so a slow connect does
/// not stall callers that could use an idle connection. A caller that finds the pool exhausted
/// waits at most `acquireTimeout`, then gets `PostgresError.poolTimeout` (the API answers 503):
/// requests never queue forever.
///
/// Every connection is checked when it comes back: one that is closed or still inside a
/// transaction is discarded, never reused. Before an idle connection is lent, one `poll` checks
/// that the server has not closed it. When one is found broken, the idle ones are discarded too,
/// since a server restart breaks them all at once; they are replaced on demand, so the first
/// requests after a database restart succeed rather than fail on dead connections.
///
/// `@unchecked Sendable`: every mutable field is guarded by `condition`, and a `Connection` is
/// handed to exactly one caller at a time.
public final class ConnectionPool: @unchecked Sendable {
    /// The settings the pool was created with.
    public let configuration: Configuration
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var open = 0
    private var inUse = 0
    private var waiting = 0
    private var isClosed = false

    /// Creates a pool; no connection is opened until one is needed.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: - Lending

    /// Runs `body` with a connection lent for its duration.
    @discardableResult
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
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
        condition.lock()
        defer { condition.unlock() }
        return Statistics(capacity: configuration.size, open: open, inUse: inUse, waiting: waiting)
    }

    /// Closes idle connections and refuses new loans; connections lent out are closed when returned.
    public func close() {
        condition.lock()
        isClosed = true
        let closing = idle
        idle.removeAll()
        open -= closing.count
        condition.broadcast()
        condition.unlock()
        _ = closing  // released here, outside the lock: PQfinish may block briefly
    }

    // MARK: - Private

    private func acquire() throws -> Connection {
        let deadline = Date(timeIntervalSinceNow: configuration.acquireTimeout.timeInterval)
        condition.lock()
        while true {
            if isClosed {
                condition.unlock()
                throw PostgresError.poolClosed
            }
            if let connection = idle.popLast() {
                if !connection.looksAlive {
                    // The server went away (restart, failover): every idle connection is suspect.
                    let count = discardIdle(with: connection)
                    logger.warning("database connections closed by the server; reconnecting", ["discarded": .int(count)])
                    condition.lock()
                    continue
                }
                inUse += 1
                condition.unlock()
                return connection
            }
            if open < configuration.size {
                open += 1
                inUse += 1
                condition.unlock()
                return try connect()
            }
            waiting += 1
            let signalled = condition.wait(until: deadline)
            waiting -= 1
            if !signalled && idle.isEmpty && open >= configuration.size {
                condition.unlock()
                throw PostgresError.poolTimeout(
                    "no connection free within \(configuration.acquireTimeout) (pool size \(configuration.size))")
            }
        }
    }

    /// Drops `connection` and every idle one, closing them after unlocking; returns how many.
    /// Called with the lock held; returns with it released.
    private func discardIdle(with connection: Connection) -> Int {
        var dropped = idle
        dropped.append(connection)
        open -= dropped.count
        idle.removeAll()
        condition.unlock()
        let count = dropped.count
        dropped.removeAll()  // PQfinish for each, outside the lock
        return count
    }

    private func connect() throws -> Connection {
        do {
            return try Connection(
                connectionString: configuration.connectionString,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds)
        } catch {
            condition.lock()
            open -= 1
            inUse -= 1
            condition.signal()
            condition.unlock()
            logger.error("database connection failed", ["error": .string(error.detail)])
            throw error
        }
    }

    private func release(_ connection: Connection) {
        let reusable = connection.isReusable
        let broken = !connection.isOpen
        var discarded: [Connection] = []
        condition.lock()
        inUse -= 1
        if reusable && !isClosed {
            idle.append(connection)
        } else {
            open -= 1
            discarded.append(connection)
            if broken {
                discarded.append(contentsOf: idle)
                open -= idle.count
                idle.removeAll()
            }
        }
        condition.signal()
        condition.unlock()
        if broken {
            logger.warning("database connection lost; discarding idle connections", ["discarded": .int(discarded.count)])
        } else if !reusable {
            logger.warning("database connection returned inside a transaction; discarded")
        }
    }
}

extension Duration {
    /// The duration in seconds, as Foundation's `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
