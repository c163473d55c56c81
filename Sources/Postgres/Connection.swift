import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, used by one thread at a time.
///
/// Statements run through `query` are prepared on first use and the prepared name is cached per
/// connection, so each statement is parsed and planned once per connection, and parameters are
/// always bound, never pasted into SQL. Results come back in binary format (see `Row`).
///
/// libpq runs in non-blocking mode and every wait for the server is a `poll` with a deadline of
/// ours (`responseTimeout`, and the connect deadline): a server that stops answering without
/// closing its socket (SIGSTOP, a frozen VM, a partition) costs a statement at most that long.
/// The connection is then marked broken (`isOpen` false) and the pool discards it; its backend is
/// not cancelled (`PQcancel` connects again, blocking), it ends when it notices the closed socket
/// or at its own `statement_timeout`.
///
/// A `Connection` is not `Sendable`: it lives inside `ConnectionPool.withConnection { }` and is
/// checked (`isReusable`) before it goes back to the pool.
public final class Connection {
    let handle: OpaquePointer
    private var preparedStatements: [String: String] = [:]
    private var preparedCount = 0
    /// Why the connection was given up on (a deadline passed, a ROLLBACK failed); nil while usable.
    public private(set) var brokenReason: String?
    /// The longest any one wait for the server may last before the statement fails with
    /// `timedOut` and the connection is given up; nil waits as long as the socket stays open.
    public var responseTimeout: Duration?

    /// Connects with a libpq connection string or URL (`postgresql://user@host/db?...`).
    ///
    /// `application_name`, `connect_timeout` (`connectTimeoutSeconds`) and TCP keepalives default
    /// to registryd's values unless the string sets them (see `ConnectionParameters`);
    /// `client_encoding` is always UTF8, since every text is read as UTF-8. A `statementTimeout`
    /// is set on the session: PostgreSQL then cancels any statement, lock waits included, that
    /// runs longer (SQLSTATE 57014), and `responseTimeout` is that plus half a second (see
    /// `defaultResponseTimeout`), so that a live server's own cancellation arrives first; set
    /// `responseTimeout` afterwards for another limit. `connectDeadline`, when
    /// earlier than `connect_timeout`, ends the attempt sooner: a request that has to open a
    /// connection keeps to its own deadline.
    public init(
        connectionString: String, connectTimeoutSeconds: Int = 5, statementTimeout: Duration? = nil,
        connectDeadline: ContinuousClock.Instant? = nil
    ) throws(PostgresError) {
        let connection = try Self.open(
            connectionString: connectionString, connectTimeoutSeconds: connectTimeoutSeconds, deadline: connectDeadline)
        // Server notices ("relation already exists, skipping") would go to stderr unstructured.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        PQsetnonblocking(connection, 1)
        handle = connection
        responseTimeout = Self.defaultResponseTimeout(statementTimeout: statementTimeout)
        if let statementTimeout {
            try execute("SET statement_timeout = \(Int((statementTimeout.timeInterval * 1000).rounded()))")
        }
    }

    /// How much longer than the server's `statement_timeout` registryd waits by default.
    public static let serverTimeoutMargin = Duration.milliseconds(500)

    /// The `responseTimeout` of a connection whose session has `statementTimeout`: that plus
    /// `serverTimeoutMargin`; nil (no limit of ours) without one.
    public static func defaultResponseTimeout(statementTimeout: Duration?) -> Duration? {
        statementTimeout.map { $0 + serverTimeoutMargin }
    }

    deinit {
        PQfinish(handle)
    }

    // MARK: - State

    /// Whether the connection is still open and outside any transaction: only then may it be reused.
    public var isReusable: Bool {
        isOpen && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Whether libpq still considers the connection open and no deadline or ROLLBACK gave up on it.
    public var isOpen: Bool { brokenReason == nil && PQstatus(handle) == CONNECTION_OK }

    /// Whether an idle connection still looks usable, without a round trip to the server.
    ///
    /// Nothing should arrive on an idle connection (registryd never LISTENs), so a socket that is
    /// readable means the server closed it or is about to (a restart, `pg_terminate_backend`):
    /// one `poll` with no timeout finds out, and the pool replaces the connection before a
    /// request fails on it.
    public var looksAlive: Bool {
        guard isOpen else { return false }
        let descriptor = PQsocket(handle)
        guard descriptor >= 0 else { return false }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) == 0
    }

    /// The server's version as an integer (150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Gives up on the connection: every later statement fails at once and the pool discards it.
    /// The first reason is kept (a timeout, then the ROLLBACK that could not be sent after it).
    func markBroken(_ reason: String) {
        if brokenReason == nil { brokenReason = reason }
    }

    /// Like `markBroken`, but `reason` replaces any earlier one: the pool logs it as what ended
    /// the connection.
    func giveUp(because reason: String) {
        brokenReason = reason
    }

    /// The value libpq uses for connection option `keyword` (`keepalives_idle`, `connect_timeout`):
    /// registryd's default or what the connection string set.
    public func option(_ keyword: String) -> String? {
        ConnectionParameters.effectiveValue(of: keyword, on: handle)
    }

    // MARK: - Statements

    /// Runs `sql` as a prepared statement with `parameters` bound to `$1`, `$2`, ... in text format.
    ///
    /// `nil` binds SQL NULL. Rows come back in binary format, read through `Row`. When the server
    /// no longer knows the prepared statement or its plan went stale (another instance changed the
    /// schema: SQLSTATE 26000 or 0A000), it is prepared again and run once more; inside a
    /// transaction, which that error aborted, `withTransaction` runs the whole body again instead.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws(PostgresError) -> QueryResult {
        let encoded = try EncodedParameters(parameters)
        do {
            return try runPrepared(sql, encoded)
        } catch where error.isStalePreparedStatement {
            preparedStatements.removeValue(forKey: sql)
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try runPrepared(sql, encoded)
        }
    }

    /// Runs one or more statements with the simple query protocol: no parameters, no result rows
    /// kept. For transaction control, `SET`, and migration scripts.
    public func execute(_ sql: String) throws(PostgresError) {
        try send(sql: sql) { PQsendQuery(handle, sql) }
        _ = try collectResults(sql: sql)
    }

    // MARK: - Private

    private func runPrepared(_ sql: String, _ encoded: EncodedParameters) throws(PostgresError) -> QueryResult {
        let name = try preparedName(for: sql, parameterCount: encoded.count)
        try send(sql: sql) {
            encoded.withPointers { pointers in
                PQsendQueryPrepared(handle, name, Int32(encoded.count), pointers, nil, nil, 1)
            }
        }
        return try collectResults(sql: sql)
    }

    private func preparedName(for sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let name = preparedStatements[sql] { return name }
        preparedCount += 1
        let name = "registryd_\(preparedCount)"
        try send(sql: sql) { PQsendPrepare(handle, name, sql, Int32(parameterCount), nil) }
        _ = try collectResults(sql: sql)
        preparedStatements[sql] = name
        return name
    }

    private func send(sql: String, _ sending: () -> Int32) throws(PostgresError) {
        if let brokenReason { throw .queryFailed(sqlState: nil, detail: "connection given up earlier: \(brokenReason)") }
        guard sending() == 1 else {
            throw .queryFailed(sqlState: nil, detail: "\(Self.trimmed(PQerrorMessage(handle))) (statement: \(Self.abbreviated(sql)))")
        }
    }

    /// Reads every result of the statement in flight, as `PQexec` does: the first error if any,
    /// else the last result.
    private func collectResults(sql: String) throws(PostgresError) -> QueryResult {
        var kept: OpaquePointer?
        var failed: OpaquePointer?
        defer { if let failed { PQclear(failed) } }
        while let result = try nextResult(until: responseTimeout.map { ContinuousClock.now.advanced(by: $0) }) {
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if let kept { PQclear(kept) }
                kept = result
            default:
                if failed == nil { failed = result } else { PQclear(result) }
            }
        }
        if let failed {
            if let kept { PQclear(kept) }
            let sqlState = PQresultErrorField(failed, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(failed))
            throw .queryFailed(sqlState: sqlState, detail: "\(message) (statement: \(Self.abbreviated(sql)))")
        }
        guard let kept else {
            throw .queryFailed(sqlState: nil, detail: "\(Self.trimmed(PQerrorMessage(handle))) (statement: \(Self.abbreviated(sql)))")
        }
        return QueryResult(kept)
    }

    static func abbreviated(_ sql: String) -> String {
        sql.count > 200 ? String(sql.prefix(200)) + "..." : sql
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        var text = Substring(String(cString: message))
        while let last = text.last, last == "\n" || last == " " { text = text.dropLast() }
        return String(text)
    }
}
