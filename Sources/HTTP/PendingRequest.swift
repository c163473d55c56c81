/// A request being received: its head, and its body as it arrives.
///
/// Owned by libmicrohttpd's per-request pointer from the first callback to the completion
/// callback; touched by the connection's worker, and by the handler's task only while the
/// connection is suspended.
final class PendingRequest: @unchecked Sendable {
    /// The request as received so far; complete once libmicrohttpd has delivered the body.
    private(set) var request: Request
    let startedAt = ContinuousClock.now
    /// Whether the body is kept: only for methods that carry one. Other bodies are read and dropped.
    let keepsBody: Bool
    /// The limit for this request: its route's (`BodyLimit`), else the server's.
    let maximumBodySize: Int
    /// Whether an over-limit body reaches the handler (emptied) instead of getting the 413.
    let handlerAnswersOverLimit: Bool
    /// Set when the body is, or is declared to be, over the limit: the request gets 413, or its
    /// handler sees `Request.bodyExceededLimit`.
    private(set) var bodyTooLarge = false
    /// The pattern of the route that answered, once routed.
    var route: String?
    /// Set once an asynchronous handler has been started for this request.
    var isDeferred = false

    init(head: Request, maximumBodySize: Int, handlerAnswersOverLimit: Bool = false) {
        request = head
        self.maximumBodySize = maximumBodySize
        self.handlerAnswersOverLimit = handlerAnswersOverLimit
        keepsBody = head.method == "POST" || head.method == "PATCH" || head.method == "PUT"
        if keepsBody, let declared = head.header("Content-Length").flatMap({ Int($0) }), declared > maximumBodySize {
            bodyTooLarge = true
            request.bodyExceededLimit = handlerAnswersOverLimit
        }
    }

    /// Whether the request is answered 413 without reading (the rest of) its body.
    var refusedForSize: Bool { bodyTooLarge && !handlerAnswersOverLimit }

    /// Appends a chunk of body, or drops it once the body is over the limit.
    func receive(_ chunk: UnsafeRawBufferPointer) {
        guard keepsBody, !bodyTooLarge else { return }
        if request.body.count + chunk.count > maximumBodySize {
            bodyTooLarge = true
            request.bodyExceededLimit = handlerAnswersOverLimit
            request.body = []
            return
        }
        request.body.append(contentsOf: chunk)
    }
}
