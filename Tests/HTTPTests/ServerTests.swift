import Foundation
import HTTP
import JSON
import Log
import Synchronization
import Testing
import TestSupport

/// The libmicrohttpd adapter over real sockets, with a router that echoes what it received.
@Suite(.serialized) struct ServerTests {
    let server: Server
    let logs = LogSink.memory()

    init() throws {
        var router = Router()
        router.add("GET", "/echo", Self.echo)
        router.add("POST", "/echo", Self.echo)
        router.add("DELETE", "/echo", Self.echo)
        // A route with its own, larger limit whose handler answers over-limit bodies itself.
        router.add("POST", "/large/{name}", bodyLimit: BodyLimit(bytes: 4096, handlerAnswersOverLimit: true), async: { request in
            .json { json in
                json.beginObject()
                json.field("length", request.body.count)
                json.field("exceeded", request.bodyExceededLimit)
                json.endObject()
            }
        })
        router.add("GET", "/slow", { _ in
            Thread.sleep(forTimeInterval: 0.4)
            return .json { $0.beginObject(); $0.field("slow", true); $0.endObject() }
        })
        server = Server(configuration: .init(host: "127.0.0.1", port: 0, maximumBodySize: 1024), router: router,
                        logger: Logger(label: "test", level: .info, sink: logs))
        try server.start()
    }

    @Sendable private static func echo(_ request: Request) -> Response {
        .json { json in
            json.beginObject()
            json.field("method", request.method)
            json.field("path", request.path)
            json.field("body", String(decoding: request.body, as: UTF8.self))
            json.key("query")
            json.beginArray()
            for item in request.query {
                json.beginArray()
                json.string(item.name)
                if let value = item.value { json.string(value) } else { json.null() }
                json.endArray()
            }
            json.endArray()
            json.endObject()
        }
    }

    private func exchange(_ request: String) throws -> (status: Int?, head: String, json: [String: Any]) {
        let connection = try RawHTTPConnection(port: server.port)
        connection.write(request)
        let answer = connection.readAll()
        let head = answer.components(separatedBy: "\r\n\r\n").first ?? ""
        return (RawHTTPConnection.statusCode(of: answer), head, RawHTTPConnection.jsonBody(of: answer))
    }

    @Test func answersJSONWithExactContentTypeAndARequestID() throws {
        let (status, head, json) = try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(status == 200)
        #expect(head.contains("\r\nContent-Type: application/json\r\n"))
        #expect(head.range(of: #"\r\nX-Request-Id: [0-9a-f-]{36}"#, options: .regularExpression) != nil)
        #expect(!head.lowercased().contains("charset"))
        #expect(json["method"] as? String == "GET")
    }

    @Test func decodesTheQueryString() throws {
        let (_, _, json) = try exchange("GET /echo?name=a%20b&plus=c+d&empty=&bare&name=second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let query = json["query"] as? [[Any]] ?? []
        #expect(query.count == 5)
        #expect(query.first?.first as? String == "name")
        #expect(query.first?.last as? String == "a b")
        #expect(query.contains { $0.first as? String == "bare" && $0.last is NSNull })
        #expect(query.contains { $0.first as? String == "empty" && $0.last as? String == "" })
        // The form encoding registry clients use: "+" in the query is a space ("c d"), in the path a "+".
        #expect(query.contains { $0.first as? String == "plus" && $0.last as? String == "c d" })
    }

    @Test func keepsBodiesOfPostAndIgnoresThoseOfGetAndDelete() throws {
        let post = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
        #expect(post.json["body"] as? String == "{\"a\":1}")
        let get = try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
        #expect(get.status == 200)
        #expect(get.json["body"] as? String == "")
        let delete = try exchange("DELETE /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n" + String(repeating: "x", count: 2000))
        #expect(delete.status == 200)
    }

    @Test func refusesBodiesOverTheLimitBothDeclaredAndChunked() throws {
        let declared = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
        #expect(declared.status == 413)
        #expect(declared.head.contains("Content-Type: application/json"))
        let chunk = String(repeating: "y", count: 800)
        let chunked = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n")
        #expect(chunked.status == 413)
        #expect(chunked.json["type"] as? String == "request_entity_too_large")
    }

    @Test func aRouteDeclaresItsOwnLimitAndAnswersOverLimitBodiesItself() throws {
        let kept = try exchange("POST /large/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3000\r\n\r\n"
            + String(repeating: "x", count: 3000))
        #expect(kept.status == 200)
        #expect(kept.json["length"] as? Int == 3000)
        #expect(kept.json["exceeded"] as? Bool == false)
        let declared = try exchange("POST /large/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 9000\r\n\r\n"
            + String(repeating: "x", count: 9000))
        #expect(declared.status == 200)
        #expect(declared.json["length"] as? Int == 0)
        #expect(declared.json["exceeded"] as? Bool == true)
        let chunk = String(repeating: "y", count: 3000)
        let chunked = try exchange("POST /large/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "bb8\r\n\(chunk)\r\nbb8\r\n\(chunk)\r\n0\r\n\r\n")
        #expect(chunked.status == 200)
        #expect(chunked.json["exceeded"] as? Bool == true)
        // Other routes keep the server's limit.
        let other = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3000\r\n\r\n"
            + String(repeating: "x", count: 3000))
        #expect(other.status == 413)
    }

    @Test func servesManyRequestsOnOneKeepAliveConnection() throws {
        let connection = try RawHTTPConnection(port: server.port)
        for index in 0..<5 {
            connection.write("GET /echo?i=\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = connection.readResponse()
            #expect(RawHTTPConnection.statusCode(of: answer) == 200)
            #expect(answer.contains("\"i\",\"\(index)\""))
        }
    }

    @Test func malformedRequestsGetAnErrorAndTheServerKeepsServing() throws {
        for garbage in ["NONSENSE\r\n\r\n", "GET /echo HTTP/9.9\r\n\r\n", "GET /echo HTTP/1.1\r\nBad Header Line\r\n\r\n", "\r\n\r\n\r\n"] {
            let connection = try RawHTTPConnection(port: server.port)
            connection.write(garbage)
            let answer = connection.readAll(timeout: .seconds(3))
            if let status = RawHTTPConnection.statusCode(of: answer) { #expect(status >= 400) }
        }
        #expect(try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200)
    }

    @Test func logsOneLinePerRequest() async throws {
        _ = try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: one-line\r\nConnection: close\r\n\r\n")
        let logged = await eventually { logs.lines.contains { $0.contains("\"request_id\":\"one-line\"") } }
        #expect(logged)
        #expect(logs.lines.filter { $0.contains("one-line") }.count == 1)
    }

    @Test func shutdownLetsRequestsInFlightFinishAndStopsAccepting() async throws {
        let port = server.port
        let slow = Task {
            try await blocking { () -> Int? in
                let connection = try RawHTTPConnection(port: port)
                connection.write("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return RawHTTPConnection.statusCode(of: connection.readAll())
            }
        }
        let started = await eventually { server.requestsInFlight > 0 }
        #expect(started)
        server.shutdown(gracePeriod: .seconds(5))
        #expect(try await slow.value == 200)
        #expect(throws: (any Error).self) { try RawHTTPConnection(port: port) }
    }
}
