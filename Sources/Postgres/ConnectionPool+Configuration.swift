extension ConnectionPool {
    /// How the pool connects and how many connections it keeps.
    public struct Configuration: Sendable {
        /// A libpq connection string or `postgresql://` URL.
        public var connectionString: String
        /// The most connections open at once; requests beyond it wait for one to be released.
        public var size: Int
        /// How long a request waits for a free connection before it fails with `poolTimeout`.
        public var acquireTimeout: Duration
        /// How long opening one connection may take.
        public var connectTimeoutSeconds: Int
        /// The longest any statement may run, lock waits included, before PostgreSQL cancels it
        /// (SQLSTATE 57014, answered 503); nil for no limit. Set on each connection as it opens.
        public var statementTimeout: Duration?

        /// Creates a configuration; see each property for what it means.
        public init(
            connectionString: String,
            size: Int = 10,
            acquireTimeout: Duration = .seconds(5),
            connectTimeoutSeconds: Int = 5,
            statementTimeout: Duration? = nil
        ) {
            self.connectionString = connectionString
            self.size = max(1, size)
            self.acquireTimeout = acquireTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.statementTimeout = statementTimeout
        }
    }

    /// A snapshot of the pool's occupancy, for metrics.
    public struct Statistics: Sendable, Equatable {
        /// The configured maximum.
        public var capacity: Int
        /// Connections open now (idle, in use or being opened).
        public var open: Int
        /// Connections lent out now.
        public var inUse: Int
        /// Callers waiting for a connection, or for one of the pool's threads (`run`), now.
        public var waiting: Int
    }
}
