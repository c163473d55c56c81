import FoundationEssentials

/// Threads started together that run one body each, and a way to wait until all have returned.
///
/// `@unchecked Sendable`: `running` is guarded by `lock`.
public final class ThreadGroup: @unchecked Sendable {
    private let lock = ConditionLock()
    private var running: Int

    /// Starts `count` threads named `name-0`, `name-1`, ... running `body`.
    public init(count: Int, name: String, body: @escaping @Sendable () -> Void) {
        running = count
        for index in 0..<count {
            DetachedThread.start(name: "\(name)-\(index)") { [self] in
                body()
                lock.withLock {
                    running -= 1
                    lock.broadcast()
                }
            }
        }
    }

    /// Blocks until every thread's body has returned.
    public func waitUntilFinished() {
        lock.withLock {
            while running > 0 { lock.wait() }
        }
    }
}
