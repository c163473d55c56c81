import EventLoops
import Log
import Synchronization
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server: one `HTTPLoop` per event loop over one listening socket, picohttpparser
/// for parsing, and `Request` → `Router` → `Response` for the rest.
///
/// The event loops are given (registryd shares them with its read pipelines, so that a request
/// and its statements meet on one thread) or made by the server, one per `eventLoops`.
/// `shutdown` stops accepting, answers the requests in flight (with `Connection: close`) up to
/// a grace period, then leaves the loops. `@unchecked Sendable`: `loops` and `listener` are
/// written only by `start` and `shutdown`, which the owner calls from one thread.
public final class Server: @unchecked Sendable {
    /// The settings the server was created with.
    public let configuration: Configuration
    private let context: ServerContext
    private let group: EventLoopGroup?
    private var ownGroup: EventLoopGroup?
    private var loops: [HTTPLoop] = []
    private var listener: Int32 = -1
    private var boundPort: UInt16 = 0

    /// Creates a server that answers with `router`; `onCompletion` sees every request once answered.
    ///
    /// Asynchronous handlers run on the event loop that received their request, before and after
    /// each wait: `loops` (nil: the server starts `configuration.eventLoops` of its own).
    public init(
        configuration: Configuration,
        router: Router,
        logger: Logger,
        loops: EventLoopGroup? = nil,
        onCompletion: (@Sendable (Completion) -> Void)? = nil
    ) {
        self.configuration = configuration
        group = loops
        context = ServerContext(router: router, logger: logger, configuration: configuration, onCompletion: onCompletion)
    }

    deinit {
        // A handler still running delivers to a loop that left, which ignores it.
        for loop in loops { loop.loop.executeAndWait { loop.detach() } }
        ownGroup?.shutdown()
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

    /// Binds and starts serving on the event loops; returns once listening.
    public func start() throws(ServerError) {
        precondition(loops.isEmpty, "server already started")
        listener = try Listener.open(host: configuration.host, port: configuration.port)
        boundPort = Listener.port(of: listener)
        let group = group ?? EventLoopGroup(count: configuration.eventLoops, name: "http-loop")
        if self.group == nil { ownGroup = group }
        loops = group.loops.map { HTTPLoop(context: context, loop: $0, listener: listener) }
        for loop in loops { loop.siblings = loops }
        for loop in loops { loop.loop.executeAndWait { loop.attach() } }
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
        for loop in loops { loop.loop.wake() }
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
        for loop in loops { loop.loop.executeAndWait { loop.detach() } }
        ownGroup?.shutdown()
        ownGroup = nil
        if listener >= 0 { close(listener) }
        listener = -1
        loops = []
        return true
    }
}
