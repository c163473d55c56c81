import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Threads started together that run one body each, and a way to wait until all have returned.
///
/// `@unchecked Sendable`: `running` is guarded by `mutex`.
final class ThreadGroup: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var running: Int

    /// Starts `count` threads named `name-0`, `name-1`, ... running `body`.
    init(count: Int, name: String, body: @escaping @Sendable () -> Void) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(finished, nil)
        running = count
        for index in 0..<count {
            let thread = Thread { [self] in
                body()
                pthread_mutex_lock(mutex)
                running -= 1
                pthread_cond_broadcast(finished)
                pthread_mutex_unlock(mutex)
            }
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

    /// Blocks until every thread's body has returned.
    func waitUntilFinished() {
        pthread_mutex_lock(mutex)
        while running > 0 { pthread_cond_wait(finished, mutex) }
        pthread_mutex_unlock(mutex)
    }
}
