import Foundation
import HTTP
import Log
import Testing
import TestSupport

/// RFC 9112's rules over raw sockets: every malformed, ambiguous or unsupported request gets a
/// JSON error with the right status (and the connection closed when its framing is in doubt),
/// never silence, an HTML page, or a smuggled second request.
@Suite struct HTTPFramingTests {
    let server: Server

    init() throws {
        var router = Router()
        router.add("GET", "/echo", Self.echo)
        router.add("POST", "/echo", Self.echo)
        router.add("DELETE", "/echo", Self.echo)
        server = Server(configuration: .init(host: "127.0.0.1", port: 0, maximumBodySize: 1024, eventLoops: 2),
                        router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
    }

    @Sendable private static func echo(_ request: Request) -> Response {
        .json { json in
            json.beginObject()
            json.field("path", request.path)
            json.field("queryCount", request.query.count)
            json.endObject()
        }
    }

    /// Sends `request` on a new connection; returns the status, the whole answer, and whether
    /// the server closed the connection (within the read timeout).
    private func exchange(_ request: String) throws -> (status: Int?, answer: String) {
        let connection = try RawHTTPConnection(port: server.port)
        connection.write(request)
        let answer = connection.readAll(timeout: .seconds(5))
        return (RawHTTPConnection.statusCode(of: answer), answer)
    }

    /// Every answer: JSON with exactly `application/json`, an `X-Request-Id`, a `type` and a `message`.
    private func expectJSONError(_ answer: String, status: Int, closes: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        let head = answer.components(separatedBy: "\r\n\r\n").first ?? ""
        #expect(RawHTTPConnection.statusCode(of: answer) == status, "\(answer)", sourceLocation: sourceLocation)
        #expect(head.contains("\r\nContent-Type: application/json\r\n"), sourceLocation: sourceLocation)
        #expect(head.contains("\r\nX-Request-Id: "), sourceLocation: sourceLocation)
        #expect(RawHTTPConnection.jsonBody(of: answer)["type"] is String, sourceLocation: sourceLocation)
        if closes { #expect(head.contains("\r\nConnection: close"), sourceLocation: sourceLocation) }
        // One answer only: nothing hidden in a body was run as a second request.
        #expect(answer.components(separatedBy: "\r\nX-Request-Id: ").count == 2, sourceLocation: sourceLocation)
    }

    @Test func conflictingFramingIsRefusedAndNoHiddenRequestRuns() throws {
        let smuggled = "DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n"
        let twoLengths = try exchange(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)")
        expectJSONError(twoLengths.answer, status: 400)
        let chunkedAndLength = try exchange(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(smuggled)")
        expectJSONError(chunkedAndLength.answer, status: 400)
    }

    @Test func unsupportedTransferCodingsAre501() throws {
        for coding in ["gzip", "gzip, chunked", "identity"] {
            let answer = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(coding)\r\n\r\nxx").answer
            expectJSONError(answer, status: 501)
        }
    }

    @Test func malformedLengthsAndChunkSizesAre400() throws {
        for length in ["abc", "-1", "1 1", "+5", "99999999999999999999999"] {
            let answer = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(length)\r\n\r\n{}").answer
            expectJSONError(answer, status: 400)
        }
        let badChunk = try exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n")
        expectJSONError(badChunk.answer, status: 400)
    }

    @Test func otherHTTPVersionsAre505() throws {
        expectJSONError(try exchange("GET /echo HTTP/2.0\r\nHost: x\r\n\r\n").answer, status: 505)
        expectJSONError(try exchange("GET /echo HTTP/3.1\r\nHost: x\r\n\r\n").answer, status: 505)
    }

    @Test func queryFloodsAreAnswered() throws {
        let many = (0..<5000).map { "p\($0)=v" }.joined(separator: "&")
        expectJSONError(try exchange("GET /echo?\(many) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").answer, status: 431)
        let some = (0..<500).map { "p\($0)=v" }.joined(separator: "&")
        expectJSONError(try exchange("GET /echo?\(some) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").answer, status: 400)
        let fine = try exchange("GET /echo?\((0..<100).map { "p\($0)" }.joined(separator: "&")) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(fine.status == 200)
        #expect(RawHTTPConnection.jsonBody(of: fine.answer)["queryCount"] as? Int == 100)
    }

    @Test func headersTooLargeAre431() throws {
        let huge = String(repeating: "a", count: 20_000)
        expectJSONError(try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: \(huge)\r\n\r\n").answer, status: 431)
        let many = (0..<200).map { "X-H\($0): v\r\n" }.joined()
        expectJSONError(try exchange("GET /echo HTTP/1.1\r\nHost: x\r\n\(many)\r\n").answer, status: 431)
    }

    @Test func hostNULAndPercentZeroFollowRFC9112() throws {
        expectJSONError(try exchange("GET /echo HTTP/1.1\r\n\r\n").answer, status: 400)
        expectJSONError(try exchange("GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").answer, status: 400)
        expectJSONError(try exchange("GET /echo%00x HTTP/1.1\r\nHost: x\r\n\r\n").answer, status: 400)
        expectJSONError(try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n").answer, status: 400)
        // HTTP/1.0 needs no Host.
        #expect(try exchange("GET /echo HTTP/1.0\r\n\r\n").status == 200)
    }

    @Test func aQueryValueThatCannotBeDecodedIsAnInvalidArgumentNamedByItsParameter() throws {
        for target in ["/echo?name=a%00b", "/echo?name=%zz"] {
            let answer = try exchange("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n").answer
            expectJSONError(answer, status: 400)
            let json = RawHTTPConnection.jsonBody(of: answer)
            #expect(json["type"] as? String == "invalid_arguments")
            let details = json["details"] as? [[String: Any]] ?? []
            #expect(details.first?["argument_name"] as? String == "name")
            #expect(details.first?["reason"] as? String == "format")
        }
    }

    @Test func headIsAnsweredLikeGetWithoutABody() throws {
        let get = try exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").answer
        let head = try exchange("HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").answer
        #expect(RawHTTPConnection.statusCode(of: head) == 200)
        let length = { (answer: String) in
            answer.components(separatedBy: "\r\n").first { $0.hasPrefix("Content-Length: ") }
        }
        #expect(length(head) != nil)
        #expect(length(head) == length(get))
        #expect(head.hasSuffix("\r\n\r\n"))
    }

    @Test func aSecondServerOnTheSamePortFailsClearly() throws {
        let second = Server(configuration: .init(host: "127.0.0.1", port: server.port), router: Router(),
                            logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        #expect {
            try second.start()
        } throws: { error in
            "\(error)".contains("Address already in use")
        }
    }
}

/// `Expect: 100-continue`: the interim answer comes before the body is sent (curl waits for it).
@Suite struct ExpectContinueTests {
    @Test func aClientThatExpectsContinueGetsItThenItsAnswer() throws {
        var router = Router()
        router.add("POST", "/echo", { request in .json { $0.beginObject(); $0.field("size", request.body.count); $0.endObject() } })
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, eventLoops: 1), router: router,
                            logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let connection = try RawHTTPConnection(port: server.port)
        connection.write("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        let interim = connection.readAll(timeout: .milliseconds(500))
        #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
        connection.write("{}")
        let answer = connection.readAll(timeout: .seconds(5))
        #expect(RawHTTPConnection.statusCode(of: answer) == 200)
        #expect(RawHTTPConnection.jsonBody(of: answer)["size"] as? Int == 2)
    }
}
