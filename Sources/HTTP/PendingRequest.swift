/// A request being received: its head, and its body as it arrives.
///
/// Owned by libmicrohttpd's per-request pointer from the first callback to the completion
/// callback; only the connection's thread touches it.
final class PendingRequest: @unchecked Sendable {
    let method: String
    let path: String
    let headers: [(name: String, value: String)]
    let query: [QueryItem]
    let id: String
    let startedAt = ContinuousClock.now
    /// Whether the body is kept: only for methods that carry one. Other bodies are read and dropped.
    let keepsBody: Bool
    private let maximumBodySize: Int
    private var body: [UInt8] = []
    private(set) var bodyTooLarge = false
    /// A response decided before the body was read (a `Content-Length` over the limit).
    var earlyResponse: Response?
    /// The pattern of the route that answered, once routed.
    var route: String?
    /// Set once an asynchronous handler has been started for this request.
    var isDeferred = false

    init(method: String, path: String, headers: [(name: String, value: String)], query: [QueryItem], maximumBodySize: Int) {
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
        self.maximumBodySize = maximumBodySize
        keepsBody = method == "POST" || method == "PATCH" || method == "PUT"
        id = RequestID.accept(headers.first { $0.name.caseInsensitiveEquals("X-Request-Id") }?.value)
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Appends a chunk of body, or drops it once the body is over the limit (the request then gets 413).
    func receive(_ chunk: UnsafeRawBufferPointer) {
        guard keepsBody, !bodyTooLarge else { return }
        if body.count + chunk.count > maximumBodySize {
            bodyTooLarge = true
            body = []
            return
        }
        body.append(contentsOf: chunk)
    }

    /// The request to route, once the body is complete.
    var request: Request {
        Request(method: method, path: path, query: query, headers: headers, body: body, id: id)
    }
}
