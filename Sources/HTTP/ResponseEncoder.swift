/// Writes a `Response` as HTTP/1.1 bytes: status line, headers, blank line, body.
///
/// Every answer carries `Content-Type`, `Content-Length` and `X-Request-Id`; `Connection: close`
/// when the connection closes after it. A `HEAD` answer has the headers a `GET` would have,
/// `Content-Length` included, and no body.
enum ResponseEncoder {
    static func encode(_ response: Response, requestID: String, closing: Bool, includeBody: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + response.body.count)
        bytes.append(contentsOf: "HTTP/1.1 \(response.status) \(reasonPhrase(response.status))\r\n".utf8)
        append("Content-Type", response.contentType, to: &bytes)
        append("Content-Length", String(response.body.count), to: &bytes)
        append("X-Request-Id", requestID, to: &bytes)
        for header in response.headers where isSafe(header.name) && isSafe(header.value) {
            append(header.name, header.value, to: &bytes)
        }
        if closing { append("Connection", "close", to: &bytes) }
        bytes.append(contentsOf: [13, 10])
        if includeBody { bytes.append(contentsOf: response.body) }
        return bytes
    }

    private static func append(_ name: String, _ value: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        bytes.append(contentsOf: value.utf8)
        bytes.append(contentsOf: [13, 10])
    }

    /// Header text a handler set must not split the head (no CR, LF or NUL).
    private static func isSafe(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
