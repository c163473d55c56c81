import Foundation
import HTTP
import Log
import Synchronization
import Testing
import TestSupport

/// Slow clients and full connection tables over raw sockets: deadlines that trickling does not
/// extend, shedding that keeps the server reachable, and a graceful stop that answers everyone.
@Suite struct ConnectionLimitTests {
    /// Holds `/slow` answers until the test opens it.
    final class Gate: Sendable {
        let isOpen = Atomic<Bool>(false)
    }

    private static func server(limit: Int, headTimeout: Duration, eventLoops: Int = 1, gate: Gate = Gate()) throws -> Server {
        var router = Router()
        router.add("GET", "/echo", { _ in .json { $0.beginObject(); $0.field("ok", true); $0.endObject() } })
        router.add("GET", "/slow", async: { _ in
            while !gate.isOpen.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
            return .json { $0.beginObject(); $0.field("slow", true); $0.endObject() }
        })
        let server = Server(
            configuration: .init(host: "127.0.0.1", port: 0, connectionLimit: limit, headTimeout: headTimeout,
                                 eventLoops: eventLoops),
            router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
        return server
    }

    @Test func aTricklingClientIsCutOffAtTheHeadDeadline() throws {
        let server = try Self.server(limit: 16, headTimeout: .seconds(1))
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let trickler = try RawHTTPConnection(port: server.port)
        trickler.write("GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        let started = ContinuousClock.now
        var answer = ""
        // A byte every 100 ms: each would restart an idle timeout, none extends the head deadline.
        while answer.isEmpty && ContinuousClock.now - started < .seconds(5) {
            trickler.write("a")
            answer = trickler.readAll(timeout: .milliseconds(100))
        }
        #expect(RawHTTPConnection.statusCode(of: answer) == 408)
        #expect(RawHTTPConnection.jsonBody(of: answer)["type"] as? String == "request_timeout")
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test(arguments: [1, 2])
    func aNewClientIsServedWithinOneSecondWhenTricklersFillTheLimit(eventLoops: Int) async throws {
        let server = try Self.server(limit: 8, headTimeout: .seconds(60), eventLoops: eventLoops)
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        var tricklers: [RawHTTPConnection] = []
        for _ in 0..<12 {
            let trickler = try RawHTTPConnection(port: server.port)
            trickler.write("GET /echo HTTP/1.1\r\nHost: x\r\n")
            tricklers.append(trickler)
        }
        // Each loop holds its share of the limit; how the kernel spreads the tricklers varies.
        #expect(await eventually { server.openConnections >= 4 })
        let started = ContinuousClock.now
        let client = try RawHTTPConnection(port: server.port)
        client.write("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let answer = client.readAll(timeout: .seconds(2))
        #expect(RawHTTPConnection.statusCode(of: answer) == 200)
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(server.openConnections <= 8)
    }

    @Test func idleKeepAliveConnectionsAreClosedFirst() async throws {
        let server = try Self.server(limit: 2, headTimeout: .seconds(60))
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let idle = try RawHTTPConnection(port: server.port)
        idle.write("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(RawHTTPConnection.statusCode(of: idle.readResponse()) == 200)
        let halfway = try RawHTTPConnection(port: server.port)
        halfway.write("GET /echo HTTP/1.1\r\n")
        #expect(await eventually(timeout: .seconds(20)) { server.openConnections == 2 })
        let newcomer = try RawHTTPConnection(port: server.port)
        newcomer.write("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(RawHTTPConnection.statusCode(of: newcomer.readAll(timeout: .seconds(2))) == 200)
        // The idle one was closed; the one halfway through its request still gets its answer.
        #expect(idle.readAll(timeout: .seconds(2)).isEmpty)
        halfway.write("Host: x\r\nConnection: close\r\n\r\n")
        #expect(RawHTTPConnection.statusCode(of: halfway.readAll(timeout: .seconds(2))) == 200)
    }

    @Test func gracefulStopAnswersEveryRequestWithConnectionClose() async throws {
        let gate = Gate()
        let server = try Self.server(limit: 16, headTimeout: .seconds(60), eventLoops: 2, gate: gate)
        let slow = try RawHTTPConnection(port: server.port)
        slow.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        let halfway = try RawHTTPConnection(port: server.port)
        halfway.write("GET /echo HTTP/1.1\r\n")
        let idle = try RawHTTPConnection(port: server.port)
        idle.write("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(RawHTTPConnection.statusCode(of: idle.readResponse()) == 200)
        #expect(await eventually(timeout: .seconds(20)) { server.requestsInFlight == 1 && server.openConnections == 3 })
        let stopping = Task.detached { server.shutdown(gracePeriod: .seconds(5)) }
        #expect(await eventually(timeout: .seconds(20)) { (try? RawHTTPConnection(port: server.port)) == nil })
        halfway.write("Host: x\r\n\r\n")
        gate.isOpen.store(true, ordering: .relaxed)
        for connection in [slow, halfway] {
            let answer = connection.readAll(timeout: .seconds(3))
            #expect(RawHTTPConnection.statusCode(of: answer) == 200)
            #expect(answer.contains("\r\nConnection: close\r\n"))
        }
        #expect(idle.readAll(timeout: .seconds(1)).isEmpty)  // closed, never cut mid-answer
        #expect(await stopping.value)
    }
}
