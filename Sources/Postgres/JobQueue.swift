import FoundationEssentials
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// A first-in, first-out queue of work with deadlines, shared by the threads that do the work.
///
/// A job that is still queued at its deadline is expired (handed to `expire`, never to a worker)
/// by a reaper thread that checks the head of the queue every 20 ms, so a caller waits at most
/// its deadline even when every worker is stuck (on a lock, on a dead server).
///
/// `@unchecked Sendable`: all state is guarded by `lock`.
final class JobQueue<Job: DeadlineBound>: @unchecked Sendable {

    private let lock = ConditionLock()
    private let expire: (Job) -> Void
    private var entries: [Job] = []
    private var head = 0
    private var isClosed = false
    private var reaperRunning = true

    /// Creates the queue and starts its reaper; `expire` is called, outside the lock, for each
    /// job that waited past its deadline and for each job offered after `close`.
    init(name: String, expire: @escaping (Job) -> Void) {
        self.expire = expire
        DetachedThread.start(name: "\(name)-reaper") { [self] in reap() }
    }

    /// Jobs waiting now.
    var count: Int { lock.withLock { entries.count - head } }

    /// Queues `job`; after `close`, expires it at once instead.
    func append(_ job: Job) {
        let accepted: Bool = lock.withLock {
            guard !isClosed else { return false }
            entries.append(job)
            lock.signal()
            return true
        }
        if !accepted { expire(job) }
    }

    /// Puts `jobs` back at the head, keeping their deadlines.
    func prepend(_ jobs: [Job]) {
        lock.withLock {
            entries.replaceSubrange(head..<head, with: jobs)
            lock.broadcast()
        }
    }

    /// Waits for work and takes up to `maximum` jobs; nil once closed and empty.
    func take(maximum: Int) -> [Job]? {
        lock.withLock {
            while head == entries.count {
                if isClosed { return nil }
                lock.wait()
            }
            let end = min(entries.count, head + maximum)
            let taken = Array(entries[head..<end])
            head = end
            compact()
            return taken
        }
    }

    /// Refuses new jobs; queued ones are still taken. Stops the reaper.
    func close() {
        lock.withLock {
            isClosed = true
            lock.broadcast()
            while reaperRunning { lock.wait() }
        }
    }

    // MARK: - Private

    private func reap() {
        while true {
            usleep(20_000)
            let (overdue, stop): ([Job], Bool) = lock.withLock {
                let now = ContinuousClock.now
                var overdue: [Job] = []
                while head < entries.count, entries[head].deadline < now {
                    overdue.append(entries[head])
                    head += 1
                }
                compact()
                if isClosed {
                    reaperRunning = false
                    lock.broadcast()
                    return (overdue, true)
                }
                return (overdue, false)
            }
            overdue.forEach(expire)
            if stop { return }
        }
    }

    private func compact() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}

/// Work that waits in a `JobQueue` until a deadline.
protocol DeadlineBound: SendableMetatype {
    /// When the caller stops waiting for the work to start.
    var deadline: ContinuousClock.Instant { get }
}
