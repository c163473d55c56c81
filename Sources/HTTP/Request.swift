/// One HTTP request as the service sees it: everything the event loop parsed, copied out of its
/// buffers, so a handler can keep it as long as it likes.
public struct Request: Sendable {
    /// The method, upper-case as the client sent it (`GET`, `POST`, ...).
    public let method: String
    /// The path, percent-decoded (`%00` and bad escapes refused), without the query string.
    public let path: String
    /// The query parameters in the order they were sent; a name may repeat.
    public let query: [QueryItem]
    /// The request headers in the order they were sent; look them up with `header(_:)`.
    public let headers: [(name: String, value: String)]
    /// The body; empty for `GET`, `HEAD` and `DELETE`, whose bodies are read and ignored.
    public internal(set) var body: [UInt8]
    /// The request's id: the caller's `X-Request-Id` when sane, else a new UUID.
    public internal(set) var id: String
    /// Set when the body was over the route's limit and the route asked to answer such requests
    /// itself (`BodyLimit.handlerAnswersOverLimit`): `body` is then empty.
    public internal(set) var bodyExceededLimit = false
    /// Values of the `{name}` segments of the route that matched, filled in by the `Router`.
    public internal(set) var pathParameters: [String: String] = [:]

    /// Creates a request; the server does this, tests may too.
    public init(
        method: String,
        path: String,
        query: [QueryItem] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        id: String = RequestID.generate()
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.id = id
    }

    /// The first value of header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// The value of path parameter `name` (`{name}` in the route's pattern).
    public func pathParameter(_ name: String) -> String? {
        pathParameters[name]
    }

    /// Every value given for query parameter `name`; `nil` values are names sent without `=`.
    public func queryValues(_ name: String) -> [String?] {
        query.filter { $0.name == name }.map(\.value)
    }
}

/// One `name=value` pair of a query string, percent-decoded.
public struct QueryItem: Sendable, Equatable {
    public let name: String
    /// `nil` when the name came without `=`.
    public let value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

extension String {
    /// ASCII case-insensitive equality, as HTTP header names compare.
    func caseInsensitiveEquals(_ other: String) -> Bool {
        let lhs = utf8, rhs = other.utf8
        guard lhs.count == rhs.count else { return false }
        for (a, b) in zip(lhs, rhs) where a != b {
            let lowerA = a >= 65 && a <= 90 ? a + 32 : a
            let lowerB = b >= 65 && b <= 90 ? b + 32 : b
            if lowerA != lowerB { return false }
        }
        return true
    }
}
