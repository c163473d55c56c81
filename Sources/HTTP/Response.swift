import JSON

/// An HTTP response: a status, extra headers and a body, JSON unless said otherwise.
///
/// The server adds `Content-Type` and `X-Request-Id` itself. The API answers JSON only, with
/// `Content-Type: application/json` exactly (the JS SDK compares the whole string); the one
/// exception is the Prometheus exposition of `/metrics`, which scrapers require as text.
public struct Response: Sendable {
    /// The content type of every API answer.
    public static let jsonContentType = "application/json"

    /// The status code.
    public var status: Int
    /// The body's media type.
    public var contentType: String
    /// Headers beyond `Content-Type` and `X-Request-Id`, such as `Allow`.
    public var headers: [(name: String, value: String)]
    /// The JSON body, UTF-8.
    public var body: [UInt8]

    /// Creates a response with a JSON body already encoded.
    public init(
        status: Int, headers: [(name: String, value: String)] = [], body: [UInt8], contentType: String = Response.jsonContentType
    ) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A `200 OK` with `body`.
    public static func ok(_ body: [UInt8]) -> Response {
        Response(status: 200, body: body)
    }

    /// A response whose body `write` builds.
    public static func json(status: Int = 200, capacity: Int = 512, _ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: capacity)
        write(&writer)
        return Response(status: status, body: writer.bytes)
    }
}
