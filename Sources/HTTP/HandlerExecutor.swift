import FoundationEssentials
import Threads
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
/// `@unchecked Sendable`: the queue is guarded by `lock`; `threads` is set once, in `init`.
public final class HandlerExecutor: TaskExecutor, @unchecked Sendable {
    private let lock = ConditionLock()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var isStopping = false
    private var threads: ThreadGroup?

    /// Starts `threads` threads.
    public init(threads count: Int) {
        threads = ThreadGroup(count: max(1, count), name: "handler") { [self] in work() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        // A helper thread of this executor runs what it enqueues itself (see
        // `registerCurrentThreadAsHelper`): waking one of its threads would only cost a context
        // switch. A helper of another executor will not run it: wake a thread.
        let fromHelper = pthread_getspecific(Self.helperKey) == Unmanaged.passUnretained(self).toOpaque()
        lock.withLock {
            jobs.append(unowned)
            if !fromHelper { lock.signal() }
        }
    }

    /// Marks the calling thread as one that calls this executor's `runQueuedJobs` after whatever
    /// it does that resumes tasks, so that jobs it enqueues here wake none of this executor's
    /// threads. The mark names this executor: jobs the thread enqueues on another one wake that
    /// one's threads as usual. A thread helps one executor at most; the executor must outlive it.
    public func registerCurrentThreadAsHelper() {
        pthread_setspecific(Self.helperKey, Unmanaged.passUnretained(self).toOpaque())
    }

    private static let helperKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs up to `limit` queued jobs on the calling thread; returns how many ran. Jobs left
    /// over (more than `limit`, perhaps enqueued without a wake-up by a helper) wake a thread.
    @discardableResult
    public func runQueuedJobs(limit: Int = 64) -> Int {
        let executor = asUnownedTaskExecutor()
        var count = 0
        while count < limit, let job = next(waiting: false) {
            job.runSynchronously(on: executor)
            count += 1
        }
        lock.withLock {
            if head < jobs.count { lock.broadcast() }
        }
        return count
    }

    /// Runs what is queued, then stops the threads.
    public func stop() {
        lock.withLock {
            isStopping = true
            lock.broadcast()
        }
        threads?.waitUntilFinished()
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while let job = next(waiting: true) {
            job.runSynchronously(on: executor)
        }
    }

    private func next(waiting: Bool) -> UnownedJob? {
        lock.withLock {
            while head == jobs.count {
                if isStopping || !waiting { return nil }
                lock.wait()
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
}
