/// Maps a method and a path to a handler.
///
/// Patterns are literal segments and `{name}` parameters: `/registry/v1/regions/{region}/namespaces`.
/// A path that no pattern matches is a 404; a path that some pattern matches, but not for this
/// method, is a 405 listing the methods that are allowed in `Allow`.
public struct Router: Sendable {
    /// Answers one request.
    public typealias Handler = @Sendable (Request) -> Response

    /// One registered route.
    public struct Route: Sendable {
        /// The method it answers.
        public let method: String
        /// The pattern, as registered (logs and metrics name routes by it).
        public let pattern: String
        fileprivate let segments: [Segment]
        fileprivate let handler: Handler
    }

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// What `route(_:)` found: the response and the pattern that produced it.
    public struct Outcome: Sendable {
        public let response: Response
        /// The matched pattern, or `nil` for a 404 / 405.
        public let pattern: String?
    }

    /// Every route, in registration order.
    public private(set) var routes: [Route] = []

    /// Creates a router with no routes.
    public init() {}

    /// Registers `handler` for `method` on `pattern`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Self.split(pattern).map { segment -> Segment in
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                return .parameter(String(segment.dropFirst().dropLast()))
            }
            return .literal(String(segment))
        }
        precondition(!routes.contains { $0.method == method && $0.segments == segments },
                     "route \(method) \(pattern) registered twice")
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    /// Finds the route for `request` and runs it, or answers 404 / 405.
    public func route(_ request: Request) -> Outcome {
        let pathSegments = Self.split(request.path)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.match(route.segments, pathSegments) else { continue }
            if route.method == request.method {
                var routed = request
                routed.pathParameters = parameters
                return Outcome(response: route.handler(routed), pattern: route.pattern)
            }
            allowed.append(route.method)
        }
        if allowed.isEmpty {
            return Outcome(response: HTTPError.routeNotFound(method: request.method, path: request.path).response, pattern: nil)
        }
        let methods = Array(Set(allowed)).sorted()
        let error = HTTPError.methodNotAllowed(method: request.method, path: request.path, allowed: methods)
        return Outcome(response: error.response, pattern: nil)
    }

    // MARK: - Private

    /// Splits on `/`, keeping empty segments so that `/a/` and `/a` differ.
    private static func split(_ path: String) -> [Substring] {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.first == "" { segments.removeFirst() }
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
