import FoundationEssentials

extension Server {
    /// How the server listens, how much it accepts, and how long it waits for a client.
    public struct Configuration: Sendable {
        /// Numeric address to bind; empty binds every IPv4 address.
        public var host: String
        /// TCP port; 0 asks the kernel for a free one (read `Server.port` after `start`).
        public var port: UInt16
        /// The most connections open at once. When full, a new connection replaces the longest
        /// idle keep-alive one, else the oldest incomplete request (a slow client, answered 408),
        /// else it is answered 503. The loop that accepts the newcomer sheds one of its own.
        public var connectionLimit: Int
        /// Seconds a keep-alive connection may stay idle between requests (and an answer may
        /// take to be written).
        public var connectionTimeoutSeconds: Int
        /// How long a client has to send a whole request head, from its first byte: trickling
        /// bytes does not extend it. Answered 408 and closed when late.
        public var headTimeout: Duration
        /// How long a client has to send a whole body, once the head is in.
        public var bodyTimeout: Duration
        /// The largest request line and header section read; larger ones are answered 431.
        public var maximumHeadSize: Int
        /// The largest request body accepted; larger ones are answered 413.
        public var maximumBodySize: Int
        /// Event loops (threads), each owning its connections, when the server makes its own
        /// (see `Server.init`): one per core by default.
        public var eventLoops: Int

        /// Creates a configuration; see each property for what it means.
        public init(
            host: String = "",
            port: UInt16 = 8080,
            connectionLimit: Int = 1024,
            connectionTimeoutSeconds: Int = 30,
            headTimeout: Duration = .seconds(10),
            bodyTimeout: Duration = .seconds(30),
            maximumHeadSize: Int = 16 * 1024,
            maximumBodySize: Int = 64 * 1024,
            eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount
        ) {
            self.host = host
            self.port = port
            self.connectionLimit = connectionLimit
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.headTimeout = headTimeout
            self.bodyTimeout = bodyTimeout
            self.maximumHeadSize = maximumHeadSize
            self.maximumBodySize = maximumBodySize
            self.eventLoops = eventLoops
        }

        /// `connectionTimeoutSeconds` as a duration.
        var idleTimeout: Duration { .seconds(connectionTimeoutSeconds) }
    }

    /// What happened to one request, for request logs and metrics.
    public struct Completion: Sendable {
        public let method: String
        /// The route pattern that matched, or `nil` when none did.
        public let route: String?
        public let status: Int
        public let duration: Duration
        public let requestID: String

        /// `duration` in seconds.
        public var seconds: Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }
}
