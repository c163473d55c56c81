import FoundationEssentials
import Threads

/// A fixed set of threads that run blocking work for async callers, so that the threads serving
/// HTTP never block on the database. Work still queued at its deadline is not run: its caller
/// gets the `expired` error instead (see `JobQueue`).
final class WorkerThreads: Sendable {
    private struct Work: DeadlineBound {
        let deadline: ContinuousClock.Instant
        let run: () -> Void
        let expire: () -> Void
    }

    private let queue: JobQueue<Work>
    private let threads: ThreadGroup

    init(count: Int, name: String) {
        let queue = JobQueue<Work>(name: name) { $0.expire() }
        self.queue = queue
        threads = ThreadGroup(count: count, name: name) {
            while let taken = queue.take(maximum: 1) {
                for work in taken {
                    if work.deadline < ContinuousClock.now { work.expire() } else { work.run() }
                }
            }
        }
    }

    /// Runs `body` on a worker; throws `expired()` instead if no worker took it before `deadline`.
    func run<T: Sendable>(
        deadline: ContinuousClock.Instant, expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Work(
                deadline: deadline,
                run: { continuation.resume(with: Result { try body() }) },
                expire: { continuation.resume(throwing: expired()) }))
        }
    }

    /// Work waiting for a thread now.
    var queued: Int { queue.count }

    /// Lets queued work finish, then stops the threads.
    func close() {
        queue.close()
        threads.waitUntilFinished()
    }
}
