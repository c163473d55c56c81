import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The threads that run asynchronous request handlers: a task executor of the server's own.
///
/// Handlers' tasks prefer this executor, so they never compete with, or wait behind, whatever
/// else runs on Swift's global cooperative pool; and when the database resumes a handler, it
/// resumes here. Other threads may help: `runQueuedJobs` runs what is queued on the calling
/// thread, which is what the database pipeline does after each batch, so that a resumed handler
/// renders its answer right there instead of waking one of these threads.
///
/// `@unchecked Sendable`: the queue is guarded by `mutex`.
public final class HandlerExecutor: TaskExecutor, @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var isStopping = false
    private var running = 0

    /// Starts `threads` threads.
    public init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        running = max(1, threads)
        for index in 0..<running {
            let thread = Thread { [self] in work() }
            thread.name = "handler-\(index)"
            thread.start()
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        // A helper thread runs what it enqueues itself (see `registerCurrentThreadAsHelper`):
        // waking one of this executor's threads for it would only cost a context switch.
        let fromHelper = pthread_getspecific(Self.helperKey) != nil
        pthread_mutex_lock(mutex)
        jobs.append(unowned)
        if !fromHelper { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// Marks the calling thread as one that calls `runQueuedJobs` after whatever it does that
    /// resumes tasks, so that jobs it enqueues wake none of this executor's threads.
    public static func registerCurrentThreadAsHelper() {
        pthread_setspecific(helperKey, UnsafeRawPointer(bitPattern: 1))
    }

    private static let helperKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs up to `limit` queued jobs on the calling thread; returns how many ran.
    @discardableResult
    public func runQueuedJobs(limit: Int = 64) -> Int {
        let executor = asUnownedTaskExecutor()
        var count = 0
        while count < limit, let job = next(waiting: false) {
            job.runSynchronously(on: executor)
            count += 1
        }
        return count
    }

    /// Runs what is queued, then stops the threads.
    public func stop() {
        pthread_mutex_lock(mutex)
        isStopping = true
        pthread_cond_broadcast(condition)
        while running > 0 { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while let job = next(waiting: true) {
            job.runSynchronously(on: executor)
        }
        pthread_mutex_lock(mutex)
        running -= 1
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    private func next(waiting: Bool) -> UnownedJob? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == jobs.count {
            if isStopping || !waiting { return nil }
            pthread_cond_wait(condition, mutex)
        }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }
}
