import FoundationEssentials

extension Server {
    /// How the server listens and how much it accepts.
    public struct Configuration: Sendable {
        /// How libmicrohttpd runs handlers.
        public enum ThreadModel: Sendable, Equatable {
            /// One thread per connection: a handler may block (on the database) without stalling
            /// any other connection. The default.
            case threadPerConnection
            /// A fixed pool of threads, each multiplexing many connections with epoll: fewer
            /// threads, but a handler that blocks stalls every connection on its thread.
            case threadPool(size: Int)
        }

        /// Numeric address to bind; empty binds every IPv4 address.
        public var host: String
        /// TCP port; 0 asks the kernel for a free one (read `Server.port` after `start`).
        public var port: UInt16
        /// The most connections open at once; more are refused by libmicrohttpd.
        public var connectionLimit: Int
        /// Seconds of inactivity after which a connection is closed (slow clients included).
        public var connectionTimeoutSeconds: Int
        /// The largest request body accepted; larger ones are answered 413.
        public var maximumBodySize: Int
        /// How handlers are scheduled on threads.
        public var threadModel: ThreadModel
        /// Stack size of each connection thread, in bytes (0: the system default).
        public var threadStackSize: Int
        /// Threads that run asynchronous handlers (see `Router.add(_:_:async:)`).
        public var handlerThreads: Int

        /// Creates a configuration; see each property for what it means.
        public init(
            host: String = "",
            port: UInt16 = 8080,
            connectionLimit: Int = 1024,
            connectionTimeoutSeconds: Int = 30,
            maximumBodySize: Int = 64 * 1024,
            threadModel: ThreadModel = .threadPerConnection,
            threadStackSize: Int = 512 * 1024,
            handlerThreads: Int = ProcessInfo.processInfo.activeProcessorCount
        ) {
            self.host = host
            self.port = port
            self.connectionLimit = connectionLimit
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.maximumBodySize = maximumBodySize
            self.threadModel = threadModel
            self.threadStackSize = threadStackSize
            self.handlerThreads = handlerThreads
        }
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
