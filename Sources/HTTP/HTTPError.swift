import JSON

/// The errors the HTTP layer answers by itself, before any handler runs, rendered as JSON in the
/// Scaleway style (`message` and `type`).
public struct HTTPError: Error, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case routeNotFound
        case methodNotAllowed(allowed: [String])
        case bodyTooLarge(limit: Int)
        case malformed(reason: String)
        case invalidQuery(argument: String, reason: String)
        case headTimedOut
        case headTooLarge(limit: Int)
        case transferEncodingNotImplemented(String)
        case versionNotSupported
        case overloaded
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

    /// The request breaks HTTP/1.1's rules (RFC 9112): bad framing, a missing or repeated `Host`,
    /// a malformed `Content-Length` or chunk size, `%00` in the path. The connection is closed after.
    public static func malformed(_ reason: String) -> HTTPError {
        HTTPError(.malformed(reason: reason), method: "", path: "")
    }

    /// A query parameter that cannot be decoded (a bad or `%00` percent-encoding), or too many of
    /// them: a bad argument, answered as the API answers one (`invalid_arguments`), not a broken
    /// request. `argument` is the parameter's name when it could be read, else `query`.
    public static func invalidQuery(argument: String, reason: String) -> HTTPError {
        HTTPError(.invalidQuery(argument: argument, reason: reason), method: "", path: "")
    }

    /// The request head or body did not arrive within its deadline (a slow or trickling client).
    public static let timedOut = HTTPError(.headTimedOut, method: "", path: "")

    /// The request line and headers are larger than the server reads.
    public static func headTooLarge(limit: Int) -> HTTPError {
        HTTPError(.headTooLarge(limit: limit), method: "", path: "")
    }

    /// A `Transfer-Encoding` other than `chunked` (RFC 9112 §6.1 asks for a 501).
    public static func transferEncodingNotImplemented(_ coding: String) -> HTTPError {
        HTTPError(.transferEncodingNotImplemented(coding), method: "", path: "")
    }

    /// An HTTP major version other than 1.
    public static let versionNotSupported = HTTPError(.versionNotSupported, method: "", path: "")

    /// Every connection slot is busy with a request being answered: this connection is refused.
    public static let overloaded = HTTPError(.overloaded, method: "", path: "")

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
        case .malformed(let reason):
            return Self.render(status: 400, type: "invalid_request", message: "malformed HTTP request: \(reason)")
        case .invalidQuery(let argument, let reason):
            return .json(status: 400, capacity: 192) { json in
                json.beginObject()
                json.field("message", "invalid argument(s)")
                json.field("type", "invalid_arguments")
                json.key("details")
                json.beginArray()
                json.beginObject()
                json.field("argument_name", argument)
                json.field("reason", "format")
                json.field("help_message", reason)
                json.endObject()
                json.endArray()
                json.endObject()
            }
        case .headTimedOut:
            return Self.render(status: 408, type: "request_timeout", message: "the request did not arrive in time")
        case .headTooLarge(let limit):
            return Self.render(
                status: 431, type: "request_header_fields_too_large",
                message: "request line and headers are larger than \(limit) bytes")
        case .transferEncodingNotImplemented(let coding):
            return Self.render(
                status: 501, type: "not_implemented", message: "transfer coding \(coding) is not supported; use chunked")
        case .versionNotSupported:
            return Self.render(status: 505, type: "http_version_not_supported", message: "only HTTP/1.0 and HTTP/1.1 are served")
        case .overloaded:
            return Self.render(status: 503, type: "service_unavailable", message: "too many connections; retry later")
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
