import Foundation
import HTTP
import Synchronization
import Testing
import TestSupport

/// The handler executor's helper threads: a thread helps one executor, and never strands a job.
@Suite struct HandlerExecutorTests {
    /// Jobs run so far, shared by the jobs and the test.
    private final class Count: Sendable {
        let value = Atomic<Int>(0)
        var current: Int { value.load(ordering: .relaxed) }
        func increment() { value.add(1, ordering: .relaxed) }
    }

    /// Runs `body` on a thread of its own that helps `executor`, as the read pipeline's threads do.
    private static func onHelperThread(of executor: HandlerExecutor, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            executor.registerCurrentThreadAsHelper()
            body()
        }
        thread.start()
    }

    @Test func aJobEnqueuedOnAnotherExecutorByAHelperRuns() async throws {
        let helped = HandlerExecutor(threads: 1)
        let other = HandlerExecutor(threads: 1)
        defer {
            helped.stop()
            other.stop()
        }
        let ran = Count()
        // Enqueued on `other` from a thread that helps `helped` only: `other`'s thread must wake,
        // since nobody will call `other.runQueuedJobs()`.
        Self.onHelperThread(of: helped) {
            Task(executorPreference: other) { ran.increment() }
        }
        #expect(await eventually(timeout: .seconds(10)) { ran.current == 1 })
    }

    @Test func jobsPastOneBatchOfAHelperRunWithoutAnotherEnqueue() async throws {
        let executor = HandlerExecutor(threads: 1)
        defer { executor.stop() }
        let count = 200
        let ran = Count()
        Self.onHelperThread(of: executor) {
            // Enqueued by a helper: no thread is woken for them; the helper runs one batch of 64.
            for _ in 0..<count {
                Task(executorPreference: executor) { ran.increment() }
            }
            executor.runQueuedJobs(limit: 64)
        }
        #expect(await eventually(timeout: .seconds(10)) { ran.current == count })
    }
}
