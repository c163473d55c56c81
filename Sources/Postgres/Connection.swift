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
/// A `Connection` is not `Sendable`: it lives inside `ConnectionPool.withConnection { }` and is
/// checked (`isReusable`) before it goes back to the pool.
public final class Connection {
    let handle: OpaquePointer
    private var preparedStatements: [String: String] = [:]

    /// Connects with a libpq connection string or URL (`postgresql://user@host/db?...`).
    ///
    /// `application_name` and `connect_timeout` default to `registryd` and 5 seconds unless the
    /// string sets them; `client_encoding` is always UTF8, since every text is read as UTF-8.
    /// A `statementTimeout` is set on the session: PostgreSQL then cancels any statement, lock
    /// waits included, that runs longer (SQLSTATE 57014).
    public init(
        connectionString: String, connectTimeoutSeconds: Int = 5, statementTimeout: Duration? = nil
    ) throws(PostgresError) {
        let keywords = ["application_name", "connect_timeout", "dbname", "client_encoding"]
        let values = ["registryd", String(connectTimeoutSeconds), connectionString, "UTF8"]
        let connection = Self.withCStringArray(keywords) { keywordPointers in
            Self.withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw .connectionFailed("libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw .connectionFailed(message)
        }
        // Server notices ("relation already exists, skipping") would go to stderr unstructured.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
        if let statementTimeout {
            try execute("SET statement_timeout = \(Int((statementTimeout.timeInterval * 1000).rounded()))")
        }
    }

    deinit {
        PQfinish(handle)
    }

    // MARK: - State

    /// Whether the connection is still open and outside any transaction: only then may it be reused.
    public var isReusable: Bool {
        PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Whether libpq still considers the connection open.
    public var isOpen: Bool { PQstatus(handle) == CONNECTION_OK }

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

    // MARK: - Statements

    /// Runs `sql` as a prepared statement with `parameters` bound to `$1`, `$2`, ... in text format.
    ///
    /// `nil` binds SQL NULL. Rows come back in binary format, read through `Row`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresParameter)?] = []) throws(PostgresError) -> QueryResult {
        let encoded = try EncodedParameters(parameters)
        let name = try preparedName(for: sql, parameterCount: parameters.count)
        let result = encoded.withPointers { pointers in
            PQexecPrepared(handle, name, Int32(encoded.count), pointers, nil, nil, 1)
        }
        return try check(result, sql: sql)
    }

    /// Runs one or more statements with the simple query protocol: no parameters, no result rows
    /// kept. For transaction control, `SET`, and migration scripts.
    public func execute(_ sql: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        _ = try check(result, sql: sql)
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    ///
    /// Errors keep their origin: a failed `BEGIN` or `COMMIT` is thrown as such, and a failed
    /// `ROLLBACK` never hides the error of the body (the pool discards the connection, since it is
    /// then no longer idle).
    @discardableResult
    public func withTransaction<T>(
        isolation: IsolationLevel? = nil,
        _ body: (Connection) throws -> T
    ) throws -> T {
        try execute(isolation.map { "BEGIN ISOLATION LEVEL \($0.rawValue)" } ?? "BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
        return value
    }

    /// A transaction isolation level, for `withTransaction(isolation:)`.
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    // MARK: - Private

    private func preparedName(for sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let name = preparedStatements[sql] { return name }
        let name = "registryd_\(preparedStatements.count + 1)"
        let result = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        _ = try check(result, sql: sql)
        preparedStatements[sql] = name
        return name
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw .queryFailed(sqlState: nil, detail: Self.trimmed(PQerrorMessage(handle)))
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return QueryResult(result)
        default:
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            PQclear(result)
            let statement = sql.count > 200 ? String(sql.prefix(200)) + "..." : sql
            throw .queryFailed(sqlState: sqlState, detail: "\(message) (statement: \(statement))")
        }
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        let text = String(cString: message)
        return text.trimmingSuffix { $0 == "\n" || $0 == " " }
    }

    private static func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        for string in strings {
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8)
            storage.append(0)
        }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            return body(offsets.map { base + $0 } + [nil])
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = Substring(self)
        while let last = text.last, predicate(last) { text = text.dropLast() }
        return String(text)
    }
}
