import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 that records the webhook deliveries POSTed to it and
/// answers 200, written on plain POSIX sockets (a thread per connection, keep-alive honoured).
///
/// `stop()` closes the listening socket and every connection, so the endpoint is really down
/// (connections refused); `start()` listens again on the same port.
public final class WebhookReceiver: @unchecked Sendable {
    /// One POST as received: the event id and signature headers and the body's bytes.
    public struct Delivery: Sendable {
        public let eventID: String
        public let signature: String
        public let body: [UInt8]

        /// The body decoded as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    public private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var received: [Delivery] = []
    private var listener: Int32 = -1
    private var connections: Set<Int32> = []
    private var delay: Duration = .zero

    /// How long the receiver waits, after recording a delivery, before answering it.
    public var answerDelay: Duration {
        get { lock.withLock { delay } }
        set { lock.withLock { delay = newValue } }
    }

    /// Listens on a free port (or `port`).
    public init(port: UInt16 = 0) throws {
        self.port = port
        try start()
    }

    deinit { stop() }

    /// Every delivery so far, in arrival order.
    public var deliveries: [Delivery] { lock.withLock { received } }

    /// Listens (again) on `port`.
    public func start() throws {
        let (descriptor, bound) = try listenOnLoopback(port: port, backlog: 64)
        port = bound
        lock.withLock { listener = descriptor }
        Thread { [self] in acceptLoop(descriptor) }.start()
    }

    /// Closes the listening socket and every open connection.
    public func stop() {
        let (descriptor, open) = lock.withLock { () -> (Int32, Set<Int32>) in
            defer { listener = -1; connections = [] }
            return (listener, connections)
        }
        if descriptor >= 0 { shutdown(descriptor, Int32(SHUT_RDWR)); close(descriptor) }
        for connection in open { shutdown(connection, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ descriptor: Int32) {
        while true {
            let connection = accept(descriptor, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = lock.withLock { () -> Bool in
                guard listener == descriptor else { return false }
                connections.insert(connection)
                return true
            }
            guard accepted else { close(connection); return }
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer {
            lock.withLock { _ = connections.remove(connection) }
            close(connection)
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // The head.
            var headEnd: Int?
            while headEnd == nil {
                headEnd = Self.find([13, 10, 13, 10], in: buffer)
                if headEnd != nil { break }
                let count = read(connection, &chunk, chunk.count)
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
            var headers: [String: String] = [:]
            for line in head.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = headEnd! + 4
            while buffer.count < bodyStart + length {
                let count = read(connection, &chunk, chunk.count)
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
            }
            let delivery = Delivery(eventID: headers["registryd-event-id"] ?? "", signature: headers["registryd-signature"] ?? "",
                                    body: Array(buffer[bodyStart..<(bodyStart + length)]))
            buffer.removeFirst(bodyStart + length)
            // Recorded before answering: what the sender may count as delivered was seen here.
            let pause = lock.withLock { () -> Duration in
                received.append(delivery)
                return delay
            }
            if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18) }
            let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
            guard send(connection, response, response.count, Int32(MSG_NOSIGNAL)) == response.count else { return }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
