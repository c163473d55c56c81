/// Maps a method and a path to a handler.
///
/// Patterns are literal segments and `{name}` parameters: `/registry/v1/regions/{region}/namespaces`.
/// A path that no pattern matches is a 404; a path that some pattern matches, but not for this
/// method, is a 405 listing the methods that are allowed in `Allow`.
public struct Router: Sendable {
    /// Answers one request at once (no I/O).
    public typealias Handler = @Sendable (Request) -> Response
    /// Answers one request after waiting for something (the database): the server frees its
    /// thread for other connections meanwhile.
    public typealias AsyncHandler = @Sendable (Request) async -> Response

    fileprivate enum Action: Sendable {
        case immediate(Handler)
        case deferred(AsyncHandler)
    }

    /// One registered route, as the OpenAPI test and the logs name it.
    public struct Route: Sendable {
        /// The method it answers.
        public let method: String
        /// The pattern, as registered (logs and metrics name routes by it).
        public let pattern: String
    }

    /// What a request resolves to.
    public enum Resolution: Sendable {
        /// The answer, ready now; `pattern` is the matched route's, nil for a 404 / 405.
        case respond(Response, pattern: String?)
        /// A handler to await; `request` carries the path parameters.
        case await(pattern: String, request: Request, handler: AsyncHandler)
    }

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// One pattern and what each method does on it: a path is matched once per pattern, and the
    /// methods of the pattern that matched give the `Allow` of a 405.
    fileprivate struct Pattern: Sendable {
        let text: String
        let segments: [Segment]
        var actions: [(method: String, action: Action)]
        /// Body limits of the methods that declared their own (see `BodyLimit`).
        var bodyLimits: [String: BodyLimit] = [:]
    }

    private var patterns: [Pattern] = []

    /// Every route: patterns in registration order, each with its methods in registration order.
    public var routes: [Route] {
        patterns.flatMap { pattern in pattern.actions.map { Route(method: $0.method, pattern: pattern.text) } }
    }

    /// Creates a router with no routes.
    public init() {}

    /// Registers `handler` for `method` on `pattern`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        add(method, pattern, action: .immediate(handler))
    }

    /// Registers an asynchronous `handler` for `method` on `pattern`; `bodyLimit` replaces the
    /// server's body limit for this route alone.
    public mutating func add(
        _ method: String, _ pattern: String, bodyLimit: BodyLimit? = nil, async handler: @escaping AsyncHandler
    ) {
        add(method, pattern, action: .deferred(handler))
        if let bodyLimit, let index = patterns.firstIndex(where: { $0.text == pattern }) {
            patterns[index].bodyLimits[method] = bodyLimit
        }
    }

    /// The body limit the route for `method` and `path` declared, nil when it declared none (the
    /// server's applies). Asked once per request that carries a body, before the body is read.
    public func bodyLimit(method: String, path: String) -> BodyLimit? {
        // The path is split only when a route declared a limit for this method (most requests:
        // none), so a body-carrying request is not routed twice for nothing.
        var pathSegments: [Substring]?
        for pattern in patterns {
            guard let limit = pattern.bodyLimits[method] else { continue }
            let segments = pathSegments ?? Self.split(path)
            pathSegments = segments
            if Self.match(pattern.segments, segments) != nil { return limit }
        }
        return nil
    }

    private mutating func add(_ method: String, _ pattern: String, action: Action) {
        let segments = Self.split(pattern).map { segment -> Segment in
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                return .parameter(String(segment.dropFirst().dropLast()))
            }
            return .literal(String(segment))
        }
        guard let index = patterns.firstIndex(where: { $0.segments == segments }) else {
            patterns.append(Pattern(text: pattern, segments: segments, actions: [(method, action)]))
            return
        }
        precondition(!patterns[index].actions.contains { $0.method == method }, "route \(method) \(pattern) registered twice")
        patterns[index].actions.append((method, action))
    }

    /// Finds the route for `request`: its answer if it is immediate, its handler if it must be awaited.
    public func resolve(_ request: Request) -> Resolution {
        let pathSegments = Self.split(request.path)
        var allowed: Set<String> = []
        for pattern in patterns {
            guard let parameters = Self.match(pattern.segments, pathSegments) else { continue }
            // HEAD is answered like GET (the server drops the body) unless a route has its own.
            let action = pattern.actions.first { $0.method == request.method }?.action
                ?? (request.method == "HEAD" ? pattern.actions.first { $0.method == "GET" }?.action : nil)
            guard let action else {
                allowed.formUnion(pattern.actions.map(\.method))
                continue
            }
            var routed = request
            routed.pathParameters = parameters
            switch action {
            case .immediate(let handler): return .respond(handler(routed), pattern: pattern.text)
            case .deferred(let handler): return .await(pattern: pattern.text, request: routed, handler: handler)
            }
        }
        if allowed.isEmpty {
            return .respond(HTTPError.routeNotFound(method: request.method, path: request.path).response, pattern: nil)
        }
        let error = HTTPError.methodNotAllowed(method: request.method, path: request.path, allowed: allowed.sorted())
        return .respond(error.response, pattern: nil)
    }

    // MARK: - Private

    /// Splits on `/`, keeping empty segments so that `/a/` and `/a` differ. (A plain loop over
    /// the UTF-8 view: the generic `split` showed in the request path's profile.)
    private static func split(_ path: String) -> [Substring] {
        var segments: [Substring] = []
        segments.reserveCapacity(8)
        let utf8 = path.utf8
        var start = utf8.startIndex
        if start < utf8.endIndex, utf8[start] == UInt8(ascii: "/") { start = utf8.index(after: start) }
        var index = start
        while index < utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                segments.append(Substring(path.utf8[start..<index]))
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        segments.append(Substring(path.utf8[start..<utf8.endIndex]))
        return segments
    }

    private static func match(_ pattern: [Segment], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, value) in zip(pattern, path) {
            switch segment {
            case .literal(let literal):
                guard value == literal else { return nil }
            case .parameter(let name):
                guard !value.isEmpty else { return nil }
                parameters[name] = String(value)
            }
        }
        return parameters
    }
}
