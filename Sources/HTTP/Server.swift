import Log
import Synchronization
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server: one event loop per core over one listening socket (see `EventLoop`),
/// picohttpparser for parsing, and `Request` → `Router` → `Response` for the rest.
///
/// `shutdown` stops accepting, answers the requests in flight (with `Connection: close`) up to
/// a grace period, then stops the loops. `@unchecked Sendable`: `loops`, `threads` and
/// `listener` are written only by `start` and `shutdown`, which the owner calls from one thread.
public final class Server: @unchecked Sendable {
    /// The settings the server was created with.
    public let configuration: Configuration
    private let context: ServerContext
    private var loops: [EventLoop] = []
    private var threads: [ThreadGroup] = []
    private var listener: Int32 = -1
    private var boundPort: UInt16 = 0

    /// Creates a server that answers with `router`; `onCompletion` sees every request once answered.
    ///
    /// Asynchronous handlers start on the event loop and continue, once they wait, on `executor`
    /// (one with `configuration.handlerThreads` threads when nil; see `HandlerExecutor`).
    public init(
        configuration: Configuration,
        router: Router,
        logger: Logger,
        executor: HandlerExecutor? = nil,
        onCompletion: (@Sendable (Completion) -> Void)? = nil
    ) {
        self.configuration = configuration
        context = ServerContext(
            router: router, logger: logger, configuration: configuration,
            executor: executor ?? HandlerExecutor(threads: configuration.handlerThreads), onCompletion: onCompletion)
    }

    deinit {
        // A handler still running delivers to a stopped loop, which ignores it (the loop object,
        // and its descriptors, live as long as the handler's task holds it).
        for loop in loops { loop.stop() }
        for group in threads { group.waitUntilFinished() }
        if listener >= 0 { close(listener) }
    }

    /// The port the server listens on (useful when configured with port 0).
    public var port: UInt16 { boundPort == 0 ? configuration.port : boundPort }

    /// Connections open right now.
    public var openConnections: Int { context.openConnections.load(ordering: .relaxed) }

    /// Requests received and not yet completely answered.
    public var requestsInFlight: Int { context.inFlight.load(ordering: .relaxed) }

    /// What parses HTTP: picohttpparser as libh2o-evloop exports it (for logs and build info).
    public static let libraryVersion = "picohttpparser (libh2o-evloop)"

    /// Binds and starts the event loops; returns once listening.
    public func start() throws(ServerError) {
        precondition(loops.isEmpty, "server already started")
        listener = try Listener.open(host: configuration.host, port: configuration.port)
        boundPort = Listener.port(of: listener)
        loops = (0..<max(1, configuration.eventLoops)).map { _ in EventLoop(context: context, listener: listener) }
        for loop in loops { loop.siblings = loops }
        for (index, loop) in loops.enumerated() {
            threads.append(ThreadGroup(count: 1, name: "http-loop-\(index)") { loop.run() })
        }
    }

    /// Stops accepting, waits up to `gracePeriod` for requests in flight, then stops; returns
    /// whether every request was answered.
    ///
    /// Answers sent while draining carry `Connection: close`; idle keep-alive connections are
    /// closed at once. When requests are still in flight at the deadline the loops are left
    /// running (a handler may still answer): the caller should exit the process.
    @discardableResult
    public func shutdown(gracePeriod: Duration = .seconds(10)) -> Bool {
        guard !loops.isEmpty else { return true }
        context.isDraining.store(true, ordering: .relaxed)
        for loop in loops { loop.wake() }
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        while ContinuousClock.now < deadline {
            let listening = loops.contains { !$0.hasStoppedListening.load(ordering: .relaxed) }
            if !listening && listener >= 0 {
                close(listener)  // new connections are refused from here on
                listener = -1
            }
            if !listening && openConnections == 0 { break }
            usleep(2_000)
        }
        if requestsInFlight > 0 { return false }
        for loop in loops { loop.stop() }
        for group in threads { group.waitUntilFinished() }
        if listener >= 0 { close(listener) }
        listener = -1
        loops = []
        threads = []
        context.executor.stop()
        return true
    }
}
