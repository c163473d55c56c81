import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of threads that run blocking work for async callers, so that the threads serving
/// HTTP never block on the database. Work still queued at its deadline is not run: its caller
/// gets the `expired` error instead (see `JobQueue`).
///
/// `@unchecked Sendable`: `running` is guarded by `mutex`; the queue guards itself.
final class WorkerThreads: @unchecked Sendable {
    private struct Work {
        let run: () -> Void
        let expire: () -> Void
    }

    private let queue: JobQueue<Work>
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var running = 0

    init(count: Int, name: String) {
        queue = JobQueue(name: name) { $0.expire() }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(finished, nil)
        running = count
        for index in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    deinit {
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        finished.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on a worker; throws `expired()` instead if no worker took it before `deadline`.
    func run<T: Sendable>(
        deadline: ContinuousClock.Instant, expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(
                Work(run: { continuation.resume(with: Result { try body() }) },
                     expire: { continuation.resume(throwing: expired()) }),
                deadline: deadline)
        }
    }

    /// Lets queued work finish, then stops the threads.
    func close() {
        queue.close()
        pthread_mutex_lock(mutex)
        while running > 0 { pthread_cond_wait(finished, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private func work() {
        while let taken = queue.take(maximum: 1) {
            for (work, deadline) in taken {
                if deadline < ContinuousClock.now { work.expire() } else { work.run() }
            }
        }
        pthread_mutex_lock(mutex)
        running -= 1
        pthread_cond_broadcast(finished)
        pthread_mutex_unlock(mutex)
    }
}
