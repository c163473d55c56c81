import JSON

/// The errors the HTTP layer answers by itself, before any handler runs, rendered as JSON in the
/// Scaleway style (`message` and `type`).
public struct HTTPError: Error, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case routeNotFound
        case methodNotAllowed(allowed: [String])
        case bodyTooLarge(limit: Int)
    }

    private let code: Code
    private let method: String
    private let path: String

    private init(_ code: Code, method: String, path: String) {
        self.code = code
        self.method = method
        self.path = path
    }

    /// No route has this path.
    public static func routeNotFound(method: String, path: String) -> HTTPError {
        HTTPError(.routeNotFound, method: method, path: path)
    }

    /// A route has this path, but not for this method.
    public static func methodNotAllowed(method: String, path: String, allowed: [String]) -> HTTPError {
        HTTPError(.methodNotAllowed(allowed: allowed), method: method, path: path)
    }

    /// The body is larger than the server accepts.
    public static func bodyTooLarge(method: String, path: String, limit: Int) -> HTTPError {
        HTTPError(.bodyTooLarge(limit: limit), method: method, path: path)
    }

    /// The error as the client receives it.
    public var response: Response {
        switch code {
        case .routeNotFound:
            return Self.render(status: 404, type: "not_found", message: "no route for \(method) \(path)")
        case .methodNotAllowed(let allowed):
            var response = Self.render(
                status: 405, type: "method_not_allowed",
                message: "method \(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))")
            response.headers.append((name: "Allow", value: allowed.joined(separator: ", ")))
            return response
        case .bodyTooLarge(let limit):
            return Self.render(
                status: 413, type: "request_entity_too_large",
                message: "request body is larger than \(limit) bytes")
        }
    }

    private static func render(status: Int, type: String, message: String) -> Response {
        .json(status: status, capacity: 128) { json in
            json.beginObject()
            json.field("message", message)
            json.field("type", type)
            json.endObject()
        }
    }
}
