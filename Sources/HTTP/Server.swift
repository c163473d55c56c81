import CMicroHTTPD
import CMicroHTTPDShim
import Log
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server: libmicrohttpd parses HTTP, this class adapts it to `Request` → `Router` → `Response`.
///
/// `shutdown` stops accepting, lets requests in flight finish (up to a grace period), then stops
/// the daemon. `@unchecked Sendable`: `daemon` is written only by `start` and `shutdown`, which the
/// owner calls from one thread, and everything the callbacks share is in `RequestDispatcher`.
public final class Server: @unchecked Sendable {
    /// The settings the server was created with.
    public let configuration: Configuration
    private let dispatcher: RequestDispatcher
    private var daemon: OpaquePointer?

    /// Creates a server that answers with `router`; `onCompletion` sees every request once answered.
    ///
    /// Asynchronous handlers run on `executor` (one with `configuration.handlerThreads` threads
    /// when nil); pass one to let other threads help run them (see `HandlerExecutor`).
    public init(
        configuration: Configuration,
        router: Router,
        logger: Logger,
        executor: HandlerExecutor? = nil,
        onCompletion: (@Sendable (Completion) -> Void)? = nil
    ) {
        self.configuration = configuration
        dispatcher = RequestDispatcher(
            router: router, logger: logger, maximumBodySize: configuration.maximumBodySize,
            suspendsConnections: configuration.threadModel != .threadPerConnection,
            executor: executor ?? HandlerExecutor(threads: configuration.handlerThreads), onCompletion: onCompletion)
    }

    deinit {
        if let daemon, requestsInFlight == 0 { MHD_stop_daemon(daemon) }
        dispatcher.executor.stop()
    }

    /// The port the server listens on (useful when configured with port 0).
    public var port: UInt16 {
        daemon.map { CMicroHTTPDShim_bound_port($0) } ?? configuration.port
    }

    /// Connections open right now.
    public var openConnections: Int {
        daemon.map { Int(CMicroHTTPDShim_current_connections($0)) } ?? 0
    }

    /// Requests received and not yet completely answered.
    public var requestsInFlight: Int { dispatcher.inFlight.load(ordering: .relaxed) }

    /// The libmicrohttpd version the process runs with.
    public static var libraryVersion: String { String(cString: CMicroHTTPDShim_version()) }

    /// Binds and starts serving on libmicrohttpd's threads; returns once listening.
    public func start() throws(ServerError) {
        precondition(daemon == nil, "server already started")
        var flags = UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue) | UInt32(MHD_USE_ITC.rawValue)
        var poolSize: UInt32 = 0
        switch configuration.threadModel {
        case .threadPerConnection:
            flags |= UInt32(MHD_USE_THREAD_PER_CONNECTION.rawValue) | UInt32(MHD_USE_POLL.rawValue)
        case .threadPool(let size):
            flags |= UInt32(MHD_USE_EPOLL.rawValue) | UInt32(MHD_ALLOW_SUSPEND_RESUME.rawValue)
            poolSize = UInt32(max(1, size))
        }
        let started: OpaquePointer? = configuration.host.withCString { host in
            var options = CMicroHTTPDShim_Options(
                flags: flags,
                port: configuration.port,
                bind_host: host,
                connection_limit: UInt32(configuration.connectionLimit),
                connection_timeout_seconds: UInt32(configuration.connectionTimeoutSeconds),
                // libmicrohttpd zeroes this pool between requests of a keep-alive connection: at
                // 128 KiB the memset was 2.3% of the GET benchmark's CPU, at 64 KiB 1.5%. 32 KiB
                // (libmicrohttpd's default) still holds a header section of about 16 KiB.
                connection_memory_limit: 32 * 1024,
                thread_pool_size: poolSize,
                thread_stack_size: configuration.threadStackSize,
                listen_backlog: 1024)
            errno = 0
            return CMicroHTTPDShim_start(
                &options,
                RequestDispatcher.accessHandler,
                Unmanaged.passUnretained(dispatcher).toOpaque(),
                RequestDispatcher.completionHandler,
                Unmanaged.passUnretained(dispatcher).toOpaque())
        }
        guard let started else {
            throw .startFailed(host: configuration.host, port: configuration.port, errno: errno)
        }
        daemon = started
    }

    /// Stops accepting connections, waits up to `gracePeriod` for requests in flight, then stops;
    /// returns whether every request finished.
    ///
    /// Responses sent while draining carry `Connection: close`, so keep-alive clients move on.
    /// When requests are still in flight at the deadline the daemon is left running (libmicrohttpd
    /// must not be stopped while a connection is suspended): the caller should exit the process.
    @discardableResult
    public func shutdown(gracePeriod: Duration = .seconds(10)) -> Bool {
        guard let daemon else { return true }
        dispatcher.isDraining.store(true, ordering: .relaxed)
        let listener = MHD_quiesce_daemon(daemon)
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        while requestsInFlight > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        if requestsInFlight > 0 { return false }
        MHD_stop_daemon(daemon)
        if listener >= 0 { close(listener) }
        dispatcher.executor.stop()
        self.daemon = nil
        return true
    }
}
