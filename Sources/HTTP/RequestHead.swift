import CPicoHTTPParser
import JSON

/// A parsed request head: the request without its body, how its body is framed, and whether the
/// connection stays open after the answer.
///
/// picohttpparser does the parsing (it rejects control characters, NUL included, in the request
/// line and in header values); this type applies RFC 9112's framing rules on top, which is
/// where request smuggling hides: two different `Content-Length`s, `Transfer-Encoding` beside
/// `Content-Length`, a transfer coding we do not decode, a missing or repeated `Host`.
struct RequestHead {
    /// How the body that follows the head is delimited.
    enum Framing: Equatable {
        case length(Int)
        case chunked
    }

    /// What parsing the start of a connection's buffer gave.
    enum Outcome {
        /// More bytes are needed.
        case incomplete
        /// A complete, valid head of `length` bytes.
        case complete(RequestHead, length: Int)
        /// The head is invalid: answer `error` and close the connection.
        case invalid(HTTPError)
    }

    /// The most headers read; a head with more is answered 431.
    static let maximumHeaders = 100

    var request: Request
    var framing: Framing
    var keepAlive: Bool
    /// Whether the client sent `Expect: 100-continue` and waits for an interim answer.
    var expectsContinue = false

    /// Parses the head at the start of `buffer`; `previousLength` is how much of it was parsed
    /// before (picohttpparser resumes its search for the blank line from there).
    static func parse(_ buffer: UnsafeRawBufferPointer, previousLength: Int, maximumSize: Int) -> Outcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .incomplete }
        let chars = base.assumingMemoryBound(to: CChar.self)
        var method: UnsafePointer<CChar>?
        var methodLength = 0
        var target: UnsafePointer<CChar>?
        var targetLength = 0
        var minorVersion: Int32 = 0
        var headerCount = maximumHeaders + 1
        return withUnsafeTemporaryAllocation(of: phr_header.self, capacity: maximumHeaders + 1) { headers in
            let result = phr_parse_request(
                chars, buffer.count, &method, &methodLength, &target, &targetLength, &minorVersion,
                headers.baseAddress, &headerCount, previousLength)
            if result == -2 {
                return buffer.count > maximumSize ? .invalid(.headTooLarge(limit: maximumSize)) : .incomplete
            }
            if result < 0 { return .invalid(classifyFailure(buffer, maximumSize: maximumSize)) }
            if Int(result) > maximumSize { return .invalid(.headTooLarge(limit: maximumSize)) }
            if headerCount > maximumHeaders { return .invalid(.headTooLarge(limit: maximumSize)) }
            let methodText = String(decoding: UnsafeRawBufferPointer(start: method, count: methodLength), as: UTF8.self)
            let targetBytes = UnsafeRawBufferPointer(start: target, count: targetLength)
            var fields: [(name: String, value: String)] = []
            fields.reserveCapacity(headerCount)
            for header in headers.prefix(headerCount) {
                // A name-less line is an obsolete folded continuation (RFC 9112 §5.2: reject).
                guard let name = header.name else { return .invalid(.malformed("folded header line")) }
                let value = UnsafeRawBufferPointer(start: header.value, count: header.value_len)
                if value.contains(0) { return .invalid(.malformed("NUL in a header value")) }
                fields.append((
                    name: String(decoding: UnsafeRawBufferPointer(start: name, count: header.name_len), as: UTF8.self),
                    value: String(decoding: value, as: UTF8.self)))
            }
            return validate(method: methodText, target: targetBytes, minorVersion: Int(minorVersion), headers: fields,
                            length: Int(result))
        }
    }

    /// Applies the framing and `Host` rules to a head picohttpparser accepted.
    private static func validate(
        method: String, target: UnsafeRawBufferPointer, minorVersion: Int, headers: [(name: String, value: String)],
        length: Int
    ) -> Outcome {
        var contentLength: Int?
        var transferEncoding: String?
        var hosts = 0
        var connection = ""
        for (name, value) in headers {
            if name.caseInsensitiveEquals("Content-Length") {
                guard let declared = Self.contentLength(value) else { return .invalid(.malformed("invalid Content-Length")) }
                if let contentLength, contentLength != declared {
                    return .invalid(.malformed("conflicting Content-Length headers"))
                }
                contentLength = declared
            } else if name.caseInsensitiveEquals("Transfer-Encoding") {
                transferEncoding = transferEncoding.map { "\($0), \(value)" } ?? value
            } else if name.caseInsensitiveEquals("Host") {
                hosts += 1
            } else if name.caseInsensitiveEquals("Connection") {
                connection = value.lowercased()
            }
        }
        if hosts > 1 { return .invalid(.malformed("more than one Host header")) }
        if minorVersion >= 1 && hosts == 0 { return .invalid(.malformed("HTTP/1.1 request without Host")) }
        var framing = Framing.length(contentLength ?? 0)
        if let transferEncoding {
            if contentLength != nil { return .invalid(.malformed("both Transfer-Encoding and Content-Length")) }
            let coding = transferEncoding.trimmingSpacesAndTabs().lowercased()
            guard coding == "chunked" else { return .invalid(.transferEncodingNotImplemented(coding)) }
            if minorVersion == 0 { return .invalid(.malformed("Transfer-Encoding in an HTTP/1.0 request")) }
            framing = .chunked
        }
        let parsedTarget: RequestTarget
        switch RequestTarget.parse(target) {
        case .success(let parsed): parsedTarget = parsed
        case .failure(let error): return .invalid(error)
        }
        let tokens = connection.split(separator: ",").map { $0.trimmingSpacesAndTabs() }
        let keepAlive = minorVersion >= 1 ? !tokens.contains("close") : tokens.contains("keep-alive")
        var request = Request(method: method, path: parsedTarget.path, query: parsedTarget.query, headers: headers, id: "")
        request.id = RequestID.accept(request.header("X-Request-Id"))
        var head = RequestHead(request: request, framing: framing, keepAlive: keepAlive)
        head.expectsContinue = minorVersion >= 1 && request.header("Expect")?.lowercased() == "100-continue"
        return .complete(head, length: length)
    }

    /// `1*DIGIT` and nothing else (no sign, no list, no spaces inside), at most 18 digits.
    private static func contentLength(_ value: String) -> Int? {
        let digits = value.utf8
        guard !digits.isEmpty, digits.count <= 18,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(value)
    }

    /// Why picohttpparser refused a head: a version other than HTTP/1.x gets 505, the rest 400.
    ///
    /// Only the request line's last token is looked at, and only to choose the status.
    private static func classifyFailure(_ buffer: UnsafeRawBufferPointer, maximumSize: Int) -> HTTPError {
        // picohttpparser also fails when there are more headers than the room it was given.
        if buffer.count(where: { $0 == UInt8(ascii: "\n") }) > maximumHeaders + 1 { return .headTooLarge(limit: maximumSize) }
        let line = buffer.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let version = line.split(separator: UInt8(ascii: " ")).last.map { Array($0) } ?? []
        let prefix = Array("HTTP/".utf8)
        if version.count >= 6, Array(version.prefix(5)) == prefix, version[5] != UInt8(ascii: "1"),
           version[5] >= UInt8(ascii: "0"), version[5] <= UInt8(ascii: "9") {
            return .versionNotSupported
        }
        return .malformed("invalid request line or header")
    }
}
