/// A failure talking to PostgreSQL.
///
/// `description` is safe to show a client: it never carries the server's text, which can quote
/// data or schema. The full text is in `detail`, for the log only (postgres-nio's `PSQLError`
/// makes the same choice).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case connectionFailed
        case queryFailed
        case poolTimeout
        case timedOut
        case poolClosed
        case invalidParameter
        case unexpectedResult
    }

    private let code: Code
    /// The five-character SQLSTATE the server sent, when there was one.
    public let sqlState: String?
    /// What the server or libpq said, for operators' logs. Never send it to a client.
    public let detail: String

    private init(_ code: Code, sqlState: String? = nil, detail: String) {
        self.code = code
        self.sqlState = sqlState
        self.detail = detail
    }

    // MARK: - Constructors

    /// The server could not be reached, or refused the connection.
    public static func connectionFailed(_ detail: String) -> PostgresError {
        PostgresError(.connectionFailed, detail: detail)
    }

    /// The server answered a statement with an error (`sqlState` says which), or the connection broke.
    public static func queryFailed(sqlState: String?, detail: String) -> PostgresError {
        PostgresError(.queryFailed, sqlState: sqlState, detail: detail)
    }

    /// No connection became free within the pool's acquire timeout.
    public static func poolTimeout(_ detail: String) -> PostgresError {
        PostgresError(.poolTimeout, detail: detail)
    }

    /// The server did not answer within registryd's own deadline (it may be frozen, or the network
    /// partitioned): the connection was given up, and the client is told to retry (503).
    public static func timedOut(_ detail: String) -> PostgresError {
        PostgresError(.timedOut, detail: detail)
    }

    /// The pool was closed (the service is stopping).
    public static let poolClosed = PostgresError(.poolClosed, detail: "the connection pool is closed")

    /// A parameter cannot be sent as text (it holds a NUL byte, which PostgreSQL text cannot store).
    public static func invalidParameter(_ detail: String) -> PostgresError {
        PostgresError(.invalidParameter, detail: detail)
    }

    /// A result did not have the shape the caller expected (a column's type, a NULL).
    public static func unexpectedResult(_ detail: String) -> PostgresError {
        PostgresError(.unexpectedResult, detail: detail)
    }

    // MARK: - Classification

    /// A unique index refused the row (SQLSTATE 23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// Whether the server is ending the session (class 57P: `pg_terminate_backend`, a shutdown or
    /// crash): the statement did not run, and the connection is gone.
    public var endsTheConnection: Bool { sqlState?.hasPrefix("57P") ?? false }

    /// The server no longer knows a prepared statement (26000: another session ran `DEALLOCATE`
    /// or `DISCARD`) or refuses its cached plan (0A000 "cached plan must not change result type":
    /// another instance changed a table it reads): preparing it again fixes both.
    public var isStalePreparedStatement: Bool { sqlState == "26000" || sqlState == "0A000" }

    /// The database is unreachable or overloaded rather than the statement wrong: a client should
    /// be told to retry (503), not that it made a mistake.
    public var isUnavailable: Bool {
        switch code {
        case .connectionFailed, .poolTimeout, .poolClosed, .timedOut:
            return true
        case .queryFailed:
            guard let sqlState else { return true }  // no SQLSTATE: libpq lost the connection
            // 08: connection exception; 53: insufficient resources; 57P0x: shutdown / cannot connect now;
            // 40001/40P01: serialization failure / deadlock; 57014: statement timeout.
            return sqlState.hasPrefix("08") || sqlState.hasPrefix("53") || sqlState.hasPrefix("57P")
                || sqlState == "40001" || sqlState == "40P01" || sqlState == "57014"
        case .invalidParameter, .unexpectedResult:
            return false
        }
    }

    public var description: String {
        switch code {
        case .connectionFailed: "could not connect to the database"
        case .queryFailed: "the database could not run a statement"
        case .poolTimeout: "timed out waiting for a database connection"
        case .timedOut: "the database did not answer in time"
        case .poolClosed: "the connection pool is closed"
        case .invalidParameter: "a parameter cannot be sent to the database"
        case .unexpectedResult: "the database answered in an unexpected shape"
        }
    }

    /// Whether both errors are the same kind of failure (SQLSTATE included), whatever their detail.
    public func isSameKind(as other: PostgresError) -> Bool {
        code == other.code && sqlState == other.sqlState
    }
}
