import Foundation
import HTTP
import Log
import Synchronization
import Testing
import TestSupport

/// Asynchronous routes in both thread models: suspended connections (epoll workers) and waiting
/// connection threads.
@Suite struct AsyncRouteTests {
    private static func server(_ model: Server.Configuration.ThreadModel) throws -> Server {
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
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, threadModel: model),
                            router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
        return server
    }

    @Test(arguments: [Server.Configuration.ThreadModel.threadPool(size: 1), .threadPerConnection])
    func answersEveryAsynchronousRequestOnItsOwnConnection(model: Server.Configuration.ThreadModel) async throws {
        let server = try Self.server(model)
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
        let server = try Self.server(.threadPool(size: 1))
        defer { server.shutdown(gracePeriod: .seconds(2)) }
        let client = TestClient(baseURL: "http://127.0.0.1:\(server.port)")
        try await onDedicatedThreads {
            let slow = Task(executorPreference: dedicatedExecutor) { try await client.get("/slow/a") }
            let inFlight = await eventually { server.requestsInFlight > 0 }
            #expect(inFlight)
            // One worker only, and it is not blocked: other requests are answered meanwhile.
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
        let server = try Self.server(.threadPool(size: 1))
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

/// An answer libmicrohttpd refuses to queue is replaced by a 500, counted once.
@Suite struct RefusedAnswerTests {
    @Test func aRefusedAnswerIsCountedOnceAsTheDeferred500() async throws {
        var router = Router()
        // libmicrohttpd refuses a status outside 100-999: the deferred 500 replaces it.
        router.add("GET", "/odd", async: { _ in Response(status: 1000, body: [], contentType: "application/json") })
        let completions = Mutex<[Int]>([])
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, threadModel: .threadPool(size: 1)),
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
