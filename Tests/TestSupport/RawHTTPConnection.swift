import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection for requests that URLSession will not send: bodies on GET, malformed
/// or truncated requests, slow clients, header floods.
///
/// It writes bytes as given and reads what comes back until the server closes the connection or
/// the timeout passes; `statusCode` reads the status line only. No HTTP is parsed beyond that.
/// `@unchecked Sendable`: a connection may be handed to another thread, but is used by one at a time.
public final class RawHTTPConnection: @unchecked Sendable {
    private let descriptor: Int32

    /// Connects to `127.0.0.1:port`.
    public init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestFailure("connect() to port \(port) failed: errno \(errno)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Writes `bytes`; returns false when the server has closed the connection.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    /// Writes `text` as UTF-8.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Reads until the server closes the connection or `timeout` passes.
    public func readAll(timeout: Duration = .seconds(10)) -> String {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline, receive(into: &received) {}
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads one response of a keep-alive connection: until its body of `Content-Length` bytes is in.
    public func readResponse(timeout: Duration = .seconds(10)) -> String {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let text = String(decoding: received, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<headEnd.upperBound].utf8.count >= length { return text }
            }
            if !receive(into: &received) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Waits up to 50 ms for data and appends it; false once the server has closed the connection.
    private func receive(into received: inout [UInt8]) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 50) > 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { return false }
        received.append(contentsOf: buffer[0..<count])
        return true
    }

    /// The status code of the first status line of `response`, or nil.
    public static func statusCode(of response: String) -> Int? {
        let parts = response.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(parts[1])
    }

    /// The JSON body of `response` (after the blank line), parsed as an object.
    public static func jsonBody(of response: String) -> [String: Any] {
        guard let range = response.range(of: "\r\n\r\n") else { return [:] }
        let body = Data(response[range.upperBound...].utf8)
        return (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }
}

extension TestService {
    /// The port the service listens on.
    public var port: UInt16 { server.port }

    /// Sends `request` raw on a new connection and returns the whole answer.
    public func raw(_ request: String) async throws -> String {
        let port = port
        return try await blocking {
            let connection = try RawHTTPConnection(port: port)
            connection.write(request)
            return connection.readAll()
        }
    }
}
