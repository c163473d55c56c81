import JSON

/// An HTTP response: a status, extra headers and a JSON body.
///
/// Every response the service sends is JSON: the server adds `Content-Type: application/json`
/// (exactly that: the JS SDK compares the whole string) and `X-Request-Id` itself.
public struct Response: Sendable {
    /// The status code.
    public var status: Int
    /// Headers beyond `Content-Type` and `X-Request-Id`, such as `Allow`.
    public var headers: [(name: String, value: String)]
    /// The JSON body, UTF-8.
    public var body: [UInt8]

    /// Creates a response with a JSON body already encoded.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
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
