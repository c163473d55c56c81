import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of threads that run blocking work for async callers, so that the threads serving
/// HTTP never block on the database. Work that waited in the queue past its deadline is not run.
///
/// `@unchecked Sendable`: the queue is guarded by `mutex`.
final class WorkerThreads: @unchecked Sendable {
    private struct Job {
        let deadline: ContinuousClock.Instant
        let run: () -> Void
        let expire: () -> Void
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [Job] = []
    private var queueHead = 0
    private var isClosed = false
    private var running = 0

    init(count: Int, name: String) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        running = count
        for index in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on a worker; throws `expired()` instead if no worker took it before `deadline`.
    func run<T: Sendable>(
        deadline: ContinuousClock.Instant, expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                deadline: deadline,
                run: { continuation.resume(with: Result { try body() }) },
                expire: { continuation.resume(throwing: expired()) })
            let accepted: Bool = locked {
                guard !isClosed else { return false }
                queue.append(job)
                pthread_cond_signal(condition)
                return true
            }
            if !accepted { job.expire() }
        }
    }

    /// Lets queued work finish, then stops the threads.
    func close() {
        locked {
            isClosed = true
            pthread_cond_broadcast(condition)
            while running > 0 { pthread_cond_wait(condition, mutex) }
        }
    }

    private func work() {
        while let job = next() {
            if job.deadline < ContinuousClock.now { job.expire() } else { job.run() }
        }
        locked {
            running -= 1
            pthread_cond_broadcast(condition)
        }
    }

    private func next() -> Job? {
        locked {
            while queueHead == queue.count {
                if isClosed { return nil }
                pthread_cond_wait(condition, mutex)
            }
            let job = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            return job
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
