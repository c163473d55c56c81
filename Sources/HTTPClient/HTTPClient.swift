import CCurl
import CCurlShim

/// Blocking HTTP/1.1 requests through libcurl, for registryd's own calls to its registries.
///
/// libcurl rather than Foundation's URLSession: FoundationNetworking would link all of Foundation
/// (and its 34 MB of ICU data) into registryd, and libcurl parses the responses, so no HTTP
/// parsing is written here. Each call uses an easy handle of its own on the calling thread (a
/// reconciler's), with signals off (`CURLOPT_NOSIGNAL`) as libcurl requires of threaded callers.
public enum HTTPClient {
    /// One answer: status, body, and headers with lower-cased names (the last value of a repeated one).
    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
        public let headers: [String: String]
    }

    /// A request that got no HTTP answer (unreachable host, timeout, bad URL), with libcurl's reason.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `curl_global_init` must run once before any handle exists, and is not thread-safe itself.
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Sends `method` to `url` with `headers` (`Name: value` lines) and `body`, if any, and waits
    /// at most `timeout`.
    ///
    /// With `maxBodyBytes`, a response body longer than that ends the transfer there: the response
    /// carries its status, its headers and the body's first `maxBodyBytes`, so that a receiver
    /// answering with an endless body costs neither memory nor the whole `timeout`.
    public static func send(_ method: String, _ url: String, headers: [String] = [], body: [UInt8]? = nil,
                            timeout: Duration = .seconds(10), maxBodyBytes: Int? = nil) throws(Failure) -> Response {
        guard initialized, let handle = curl_easy_init() else { throw Failure(description: "libcurl could not start") }
        defer { curl_easy_cleanup(handle) }
        return try perform(on: handle, method, url, headers: headers, body: body, timeout: timeout, maxBodyBytes: maxBodyBytes)
    }

    /// One easy handle kept across requests, so that its connections (and TLS sessions) are reused:
    /// for a caller that sends many requests to one host, such as a webhook endpoint's worker.
    /// `@unchecked Sendable`: it may be created on one thread and used on another, one at a time.
    public final class Session: @unchecked Sendable {
        private let handle: UnsafeMutableRawPointer

        /// Creates a session with no connection open yet.
        public init() throws(Failure) {
            guard HTTPClient.initialized, let handle = curl_easy_init() else { throw Failure(description: "libcurl could not start") }
            self.handle = handle
        }

        deinit { curl_easy_cleanup(handle) }

        /// As `HTTPClient.send`, on this session's connections. `curl_easy_reset` clears the last
        /// request's options but keeps the live connections.
        public func send(_ method: String, _ url: String, headers: [String] = [], body: [UInt8]? = nil,
                         timeout: Duration = .seconds(10), maxBodyBytes: Int? = nil) throws(Failure) -> Response {
            curl_easy_reset(handle)
            return try HTTPClient.perform(on: handle, method, url, headers: headers, body: body, timeout: timeout,
                                          maxBodyBytes: maxBodyBytes)
        }
    }

    private static func perform(on handle: UnsafeMutableRawPointer, _ method: String, _ url: String, headers: [String], body: [UInt8]?,
                                timeout: Duration, maxBodyBytes: Int?) throws(Failure) -> Response {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        // "Expect:" turns off libcurl's 100-continue round trip for bodies over 1 KiB.
        for header in headers + (body == nil ? [] : ["Expect:"]) { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        let sink = ResponseSink(maxBodyBytes: maxBodyBytes ?? Int.max)
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        let milliseconds = Int(timeout / .milliseconds(1))
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            _ = CCurlShim_setString(handle, CURLOPT_URL, url)
            _ = CCurlShim_setString(handle, CURLOPT_CUSTOMREQUEST, method)
            if method == "HEAD" { _ = CCurlShim_setLong(handle, CURLOPT_NOBODY, 1) }
            _ = CCurlShim_setLong(handle, CURLOPT_NOSIGNAL, 1)
            _ = CCurlShim_setLong(handle, CURLOPT_TIMEOUT_MS, milliseconds)
            _ = CCurlShim_setLong(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
            _ = CCurlShim_setLong(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = CCurlShim_setPointer(handle, CURLOPT_HTTPHEADER, list)
            if let body {
                // Copied by libcurl (COPYPOSTFIELDS), so the array need not outlive this call's setup.
                _ = CCurlShim_setLong(handle, CURLOPT_POSTFIELDSIZE, body.count)
                body.withUnsafeBytes { _ = CCurlShim_setPointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
            }
            _ = CCurlShim_setPointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            _ = CCurlShim_setPointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque())
            _ = CCurlShim_setWriteFunction(handle, CURLOPT_WRITEFUNCTION, ResponseSink.writeBody)
            _ = CCurlShim_setPointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque())
            _ = CCurlShim_setWriteFunction(handle, CURLOPT_HEADERFUNCTION, ResponseSink.writeHeader)
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && sink.truncated) else {
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Failure(description: reason.isEmpty ? String(cString: curl_easy_strerror(code)) : reason)
        }
        var status = 0
        _ = CCurlShim_getLong(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.body, headers: sink.headers)
    }
}

/// Collects what libcurl hands to its callbacks; used by one thread, inside one `send`.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    let maxBodyBytes: Int
    /// Whether the body went past `maxBodyBytes` and the transfer was ended there.
    var truncated = false
    /// Header bytes received so far, across responses: libcurl 7.88 limits one header line, not
    /// their number, so an endless stream of headers is cut off here.
    var headerBytes = 0
    static let maxHeaderBytes = 256 * 1024

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    static let writeBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if let data, length > 0 {
            let room = sink.maxBodyBytes - sink.body.count
            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(length, room)))
            // Fewer bytes than given makes libcurl end the transfer with CURLE_WRITE_ERROR.
            if length > room {
                sink.truncated = true
                return 0
            }
        }
        return length
    }

    /// One header line at a time (status lines of every response included, as libcurl gives them):
    /// each response's headers replace the previous one's, so a redirect's never leak through.
    static let writeHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard let data, length > 0 else { return length }
        sink.headerBytes += length
        if sink.headerBytes > maxHeaderBytes { return 0 }  // ends the transfer: CURLE_WRITE_ERROR
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            sink.headers = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            sink.headers[name] = value
        }
        return length
    }
}

private extension Substring {
    /// Without the spaces around a header value and the line's end ("\r\n" is one `Character`).
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
