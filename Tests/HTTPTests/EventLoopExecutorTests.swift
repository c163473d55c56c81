import EventLoops
import Foundation
import HTTP
import Log
import Synchronization
import Testing
import TestSupport

/// The event loop as the executor of the handlers it starts: a task that prefers a loop runs on
/// that loop's thread before and after each wait, whoever resumes it.
@Suite struct EventLoopExecutorTests {
    /// Resumes a continuation from a thread that is not the loop's, as the pool's threads do.
    private static func resumeFromAnotherThread() async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: EventLoop.current == nil) }.start()
        }
    }

    @Test func aTaskResumedFromAnotherThreadContinuesOnItsLoop() async throws {
        let group = EventLoopGroup(count: 2, name: "executor-test")
        defer { group.shutdown() }
        for loop in group.loops {
            let (resumerWasElsewhere, before, after) = await Task(executorPreference: loop) {
                let before = EventLoop.current === loop
                let elsewhere = await Self.resumeFromAnotherThread()
                return (elsewhere, before, EventLoop.current === loop)
            }.value
            #expect(resumerWasElsewhere)
            #expect(before && after, "loop \(loop.index): ran on it before the wait \(before), after \(after)")
        }
    }

    /// Jobs a loop enqueues on itself wake nothing; all of them run, however many.
    @Test func jobsEnqueuedOnTheLoopItselfAllRun() async throws {
        let group = EventLoopGroup(count: 1, name: "executor-test")
        defer { group.shutdown() }
        let loop = group.loops[0]
        let ran = RunCount()
        await Task(executorPreference: loop) {
            await withTaskGroup(of: Void.self) { tasks in
                for _ in 0..<10_000 {
                    tasks.addTask(executorPreference: loop) {
                        if EventLoop.current === loop { ran.value.add(1, ordering: .relaxed) }
                    }
                }
            }
        }.value
        #expect(ran.value.load(ordering: .relaxed) == 10_000)
    }

    /// A handler of the HTTP server runs on the loop that received its request, before and after it waits.
    @Test func aHandlerRunsOnTheLoopThatReceivedItsRequest() async throws {
        var router = Router()
        router.add("GET", "/where", async: { _ in
            let before = EventLoop.current
            try? await Task.sleep(for: .milliseconds(5))
            _ = await Self.resumeFromAnotherThread()
            let same = before != nil && EventLoop.current === before
            return .json { json in
                json.beginObject()
                json.field("same_loop", same)
                json.endObject()
            }
        })
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0, eventLoops: 2),
                            router: router, logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        try server.start()
        defer { server.shutdown(gracePeriod: .seconds(2)) }
        let client = TestClient(baseURL: "http://127.0.0.1:\(server.port)")
        for _ in 0..<10 {
            let response = try await client.get("/where")
            #expect(response.status == 200)
            #expect(response.json["same_loop"] as? Bool == true)
        }
    }
}

/// Jobs that ran, counted from the tasks that ran them.
private final class RunCount: Sendable {
    let value = Atomic<Int>(0)
}
