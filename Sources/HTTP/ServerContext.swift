import Log
import Synchronization

/// What every event loop of a server shares: the router, the settings, and the counters.
final class ServerContext: Sendable {
    let router: Router
    let logger: Logger
    let configuration: Server.Configuration
    let onCompletion: (@Sendable (Server.Completion) -> Void)?

    let openConnections = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let isDraining = Atomic<Bool>(false)

    init(
        router: Router, logger: Logger, configuration: Server.Configuration,
        onCompletion: (@Sendable (Server.Completion) -> Void)?
    ) {
        self.router = router
        self.logger = logger
        self.configuration = configuration
        self.onCompletion = onCompletion
    }

    /// Logs the request and hands it to metrics, once it is answered.
    func record(_ connection: HTTPConnection, status: Int) {
        let request = connection.head?.request
        let completion = Server.Completion(
            method: request?.method ?? "", route: connection.route, status: status,
            duration: ContinuousClock.now - connection.requestStartedAt, requestID: connection.requestID)
        if logger.isEnabled(.info) {
            logger.info("request", [
                "method": .string(request?.method ?? ""),
                "path": .string(request?.path ?? ""),
                "route": .string(connection.route ?? "unmatched"),
                "status": .int(status),
                "duration_ms": .double((completion.seconds * 1_000_000).rounded() / 1000),
                "request_id": .string(connection.requestID),
            ])
        }
        onCompletion?(completion)
    }
}
