import CMicroHTTPD
import Dispatch
import Log
import Synchronization

/// What the libmicrohttpd callbacks share: the router, the logger and the request counters.
///
/// The callbacks are plain `@convention(c)` functions stored as static members (not closures in
/// `main.swift`, which would be main-actor isolated and trap on libmicrohttpd's threads).
final class RequestDispatcher: Sendable {
    let router: Router
    let logger: Logger
    let maximumBodySize: Int
    let onCompletion: (@Sendable (Server.Completion) -> Void)?
    /// Whether a connection waiting for an asynchronous handler is suspended (thread-pool mode),
    /// rather than keeping its own thread waiting (thread-per-connection mode, where libmicrohttpd
    /// cannot suspend).
    let suspendsConnections: Bool
    /// Where asynchronous handlers run.
    let executor: HandlerExecutor
    let inFlight = Atomic<Int>(0)
    let isDraining = Atomic<Bool>(false)

    init(
        router: Router, logger: Logger, maximumBodySize: Int, suspendsConnections: Bool, executor: HandlerExecutor,
        onCompletion: (@Sendable (Server.Completion) -> Void)?
    ) {
        self.executor = executor
        self.router = router
        self.logger = logger
        self.maximumBodySize = maximumBodySize
        self.suspendsConnections = suspendsConnections
        self.onCompletion = onCompletion
    }

    // MARK: - libmicrohttpd callbacks

    /// Called after the headers, once per chunk of body, and once more when the request is complete.
    static let accessHandler: MHD_AccessHandlerCallback = { context, connection, url, method, _, uploadData, uploadSize, state in
        guard let context, let connection, let uploadSize, let state else { return .NO }
        let dispatcher = Unmanaged<RequestDispatcher>.fromOpaque(context).takeUnretainedValue()

        guard let existing = state.pointee else {
            let pending = dispatcher.begin(
                connection: connection,
                method: method.map { String(cString: $0) } ?? "",
                path: url.map { String(cString: $0) } ?? "")
            state.pointee = Unmanaged.passRetained(pending).toOpaque()
            // A declared body over the limit is refused before it is read.
            return pending.refusedForSize ? dispatcher.finish(pending, on: connection) : .YES
        }
        let pending = Unmanaged<PendingRequest>.fromOpaque(existing).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            if let uploadData {
                pending.receive(UnsafeRawBufferPointer(start: uploadData, count: uploadSize.pointee))
            }
            uploadSize.pointee = 0
            return .YES
        }
        return dispatcher.finish(pending, on: connection)
    }

    /// Called when a request is done: answered and sent, or abandoned by the client.
    static let completionHandler: MHD_RequestCompletedCallback = { context, _, state, _ in
        guard let context, let state, let existing = state.pointee else { return }
        let dispatcher = Unmanaged<RequestDispatcher>.fromOpaque(context).takeUnretainedValue()
        Unmanaged<PendingRequest>.fromOpaque(existing).release()
        state.pointee = nil
        dispatcher.inFlight.subtract(1, ordering: .relaxed)
    }

    // MARK: - Request life

    private func begin(connection: OpaquePointer, method: String, path: String) -> PendingRequest {
        inFlight.add(1, ordering: .relaxed)
        let headers = Self.values(of: .HEADER_KIND, on: connection).map { (name: $0.name, value: $0.value ?? "") }
        let query = Self.values(of: .GET_ARGUMENT_KIND, on: connection).map { QueryItem(name: $0.name, value: $0.value) }
        var head = Request(method: method, path: path, query: query, headers: headers, id: "")
        head.id = RequestID.accept(head.header("X-Request-Id"))
        // Only requests that carry a body look for a route's own limit (one more route match).
        if head.method == "POST" || head.method == "PATCH" || head.method == "PUT",
           let limit = router.bodyLimit(method: method, path: path) {
            return PendingRequest(head: head, maximumBodySize: limit.bytes, handlerAnswersOverLimit: limit.handlerAnswersOverLimit)
        }
        return PendingRequest(head: head, maximumBodySize: maximumBodySize)
    }

    private func finish(_ pending: PendingRequest, on connection: OpaquePointer) -> MHD_Result {
        if pending.isDeferred {
            // Resumed without an answer (creating the response failed): never run the handler twice.
            let failure = Response.json(status: 500, capacity: 64) { json in
                json.beginObject()
                json.field("message", "internal error")
                json.field("type", "internal_error")
                json.endObject()
            }
            return queue(failure, for: pending, on: connection)
        }
        if pending.refusedForSize {
            let error = HTTPError.bodyTooLarge(method: pending.request.method, path: pending.request.path, limit: pending.maximumBodySize)
            return queue(error.response, for: pending, on: connection)
        }
        switch router.resolve(pending.request) {
        case .respond(let response, let pattern):
            pending.route = pattern
            return queue(response, for: pending, on: connection)
        case .await(let pattern, let request, let handler):
            pending.route = pattern
            let target = SuspendedConnection(pointer: connection)
            if suspendsConnections {
                // Free this worker for other connections; the answer is queued on the suspended
                // connection (allowed from any thread) and the connection resumed to send it.
                // The handler starts right here, on this worker, and moves to the handler executor
                // only when it first waits (for the database): one thread hop fewer per request.
                pending.isDeferred = true
                MHD_suspend_connection(connection)
                Task.immediate(executorPreference: executor) {
                    let response = await handler(request)
                    _ = self.queue(response, for: pending, on: target.pointer)
                    MHD_resume_connection(target.pointer)
                }
                return .YES
            }
            let response = Self.wait(for: handler, request, on: executor)
            return queue(response, for: pending, on: connection)
        }
    }

    /// Runs an asynchronous handler and blocks this (connection) thread until it answers.
    private static func wait(
        for handler: @escaping Router.AsyncHandler, _ request: Request, on executor: HandlerExecutor
    ) -> Response {
        let done = DispatchSemaphore(value: 0)
        let answer = AnswerBox()
        Task(executorPreference: executor) {
            answer.response = await handler(request)
            done.signal()
        }
        done.wait()
        return answer.response!
    }

    func queue(_ response: Response, for pending: PendingRequest, on connection: OpaquePointer) -> MHD_Result {
        let created = response.body.withUnsafeBytes { buffer in
            MHD_create_response_from_buffer(buffer.count, UnsafeMutableRawPointer(mutating: buffer.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let created else { return .NO }
        defer { MHD_destroy_response(created) }
        MHD_add_response_header(created, "Content-Type", response.contentType)
        MHD_add_response_header(created, "X-Request-Id", pending.request.id)
        for header in response.headers {
            MHD_add_response_header(created, header.name, header.value)
        }
        if isDraining.load(ordering: .relaxed) {
            MHD_add_response_header(created, "Connection", "close")
        }
        let result = MHD_queue_response(connection, UInt32(response.status), created)
        // Counted once it is queued: a refused answer is followed by the deferred 500 (see
        // `finish`), which is what the client gets and what the metrics and access log count.
        if result == .YES { record(pending, status: response.status) }
        return result
    }

    private func record(_ pending: PendingRequest, status: Int) {
        let request = pending.request
        let completion = Server.Completion(
            method: request.method, route: pending.route, status: status,
            duration: ContinuousClock.now - pending.startedAt, requestID: request.id)
        if logger.isEnabled(.info) {
            logger.info("request", [
                "method": .string(request.method),
                "path": .string(request.path),
                "route": .string(pending.route ?? "unmatched"),
                "status": .int(status),
                "duration_ms": .double((completion.seconds * 1_000_000).rounded() / 1000),
                "request_id": .string(request.id),
            ])
        }
        onCompletion?(completion)
    }

    // MARK: - Private

    /// The name-value pairs of one kind (headers, query arguments), invalid UTF-8 repaired.
    private static func values(of kind: MHD_ValueKind, on connection: OpaquePointer) -> [(name: String, value: String?)] {
        var items: [(name: String, value: String?)] = []
        withUnsafeMutablePointer(to: &items) { pointer in
            _ = MHD_get_connection_values(connection, kind, { context, _, key, value in
                let items = context!.assumingMemoryBound(to: [(name: String, value: String?)].self)
                items.pointee.append((key.map { String(cString: $0) } ?? "", value.map { String(cString: $0) }))
                return .YES
            }, pointer)
        }
        return items
    }
}

/// A libmicrohttpd connection handed to the task that answers it. `@unchecked Sendable`: while
/// suspended, the connection is touched only by that task (queue, then resume).
struct SuspendedConnection: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Carries an answer from a task to the thread waiting for it; the semaphore orders the accesses.
final class AnswerBox: @unchecked Sendable {
    var response: Response?
}
