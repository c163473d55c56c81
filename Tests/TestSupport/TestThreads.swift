import Foundation
import Threads

/// A task executor of a few plain threads, for tests only: test clients block (raw sockets,
/// `blocking`), which must neither stall Swift's two cooperative threads nor an event loop.
public final class TestThreads: TaskExecutor, @unchecked Sendable {
    private let lock = ConditionLock()
    private var jobs: [UnownedJob] = []
    private var threads: ThreadGroup?

    /// Starts `count` threads that run the jobs enqueued here, first in, first out.
    public init(count: Int) {
        threads = ThreadGroup(count: count, name: "test-executor") { [self] in work() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.withLock {
            jobs.append(unowned)
            lock.signal()
        }
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while true {
            let job: UnownedJob = lock.withLock {
                while jobs.isEmpty { lock.wait() }
                return jobs.removeFirst()
            }
            job.runSynchronously(on: executor)
        }
    }
}
