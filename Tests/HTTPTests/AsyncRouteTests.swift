import Foundation
import HTTP
import Log
import Synchronization
import Testing
import TestSupport

/// Asynchronous routes: a handler that waits frees its event loop for the loop's other connections.
@Suite struct AsyncRouteTests {
    private static func server(eventLoops: Int) throws -> Server {
        var router = Router()
        router.add("GET", "/slow/{label}", async: { request in
            try? await Task.sleep(for: .milliseconds(300))
            return .json { json in
                json.beginObject()
                json.field("label", request.pathParameter("label") ?? "")
                json.endObject()
            }
        })
        router.add("GET", "/now", async: { _ in .json { $0.beginObject(); $0.endObject() } })
        router.add("GET", "/immediate", { _ in .json { $0.beginObject(); $0.endObject() } })
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, eventLoops: eventLoops),
                            router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
        return server
    }

    @Test(arguments: [1, 2])
    func answersEveryAsynchronousRequestOnItsOwnConnection(eventLoops: Int) async throws {
        let server = try Self.server(eventLoops: eventLoops)
        defer { server.shutdown(gracePeriod: .seconds(2)) }
        let client = TestClient(baseURL: "http://127.0.0.1:\(server.port)")
        let labels = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<20 {
                group.addTask { try await client.get("/slow/\(index)").json["label"] as? String }
            }
            return try await group.reduce(into: Set<String>()) { if let label = $1 { $0.insert(label) } }
        }
        #expect(labels == Set((0..<20).map(String.init)))
        #expect(try await client.get("/now").status == 200)
    }

    @Test func aWaitingHandlerDoesNotHoldUpTheWorkersOtherConnections() async throws {
        let server = try Self.server(eventLoops: 1)
        defer { server.shutdown(gracePeriod: .seconds(2)) }
        let client = TestClient(baseURL: "http://127.0.0.1:\(server.port)")
        try await onDedicatedThreads {
            let slow = Task(executorPreference: dedicatedExecutor) { try await client.get("/slow/a") }
            let inFlight = await eventually { server.requestsInFlight > 0 }
            #expect(inFlight)
            // One event loop only, and it is not blocked: other requests are answered meanwhile.
            let started = ContinuousClock.now
            let quick = try await client.get("/immediate")
            let elapsed = ContinuousClock.now - started
            #expect(quick.status == 200)
            #expect(elapsed < .milliseconds(250))
            let label = try await slow.value.json["label"] as? String
            #expect(label == "a")
        }
    }

    @Test func shutdownWaitsForSuspendedRequests() async throws {
        let server = try Self.server(eventLoops: 1)
        let client = TestClient(baseURL: "http://127.0.0.1:\(server.port)")
        try await onDedicatedThreads {
            let slow = Task(executorPreference: dedicatedExecutor) { try await client.get("/slow/last") }
            let inFlight = await eventually { server.requestsInFlight > 0 }
            #expect(inFlight)
            let drained = try await blocking { server.shutdown(gracePeriod: .seconds(5)) }
            #expect(drained)
            let status = try await slow.value.status
            #expect(status == 200)
        }
    }
}

/// An answer with an impossible status is replaced by a 500, counted once.
@Suite struct RefusedAnswerTests {
    @Test func aRefusedAnswerIsCountedOnceAsTheDeferred500() async throws {
        var router = Router()
        // A status outside 100-599 cannot be sent: a 500 replaces it.
        router.add("GET", "/odd", async: { _ in Response(status: 1000, body: [], contentType: "application/json") })
        let completions = Mutex<[Int]>([])
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, eventLoops: 1),
                            router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()),
                            onCompletion: { completion in completions.withLock { $0.append(completion.status) } })
        try server.start()
        defer { server.shutdown(gracePeriod: .seconds(2)) }
        let response = try await TestClient(baseURL: "http://127.0.0.1:\(server.port)").get("/odd")
        #expect(response.status == 500)
        #expect(await eventually { !completions.withLock { $0.isEmpty } })
        #expect(completions.withLock { $0 } == [500])
    }
}
