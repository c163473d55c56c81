import Synchronization
import Threads

/// The event loops of a process, one per core by default, each on a thread of its own.
///
/// registryd makes one group and hands it to the HTTP server (each loop owns the connections it
/// accepts) and to the read pipelines (each loop owns its PostgreSQL read connections), so that a
/// request and the statements it runs meet on one thread. Tests and tools that use a pipeline
/// alone let it make a group of its own.
public final class EventLoopGroup: Sendable {
    /// The loops, indexed by `EventLoop.index`.
    public let loops: [EventLoop]
    private let threads: [ThreadGroup]
    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    /// Starts `count` loops (at least one), their threads named `name-0`, `name-1` ...
    public init(count: Int, name: String) {
        let loops = (0..<max(1, count)).map { EventLoop(index: $0) }
        self.loops = loops
        threads = loops.map { loop in ThreadGroup(count: 1, name: "\(name)-\(loop.index)") { loop.run() } }
        // Running before anyone can hand them work: see `EventLoop.waitUntilStarted`.
        for loop in loops { loop.waitUntilStarted() }
    }

    deinit {
        shutdown()
    }

    /// The loops in turn, for work that belongs to no loop in particular.
    public func nextLoop() -> EventLoop {
        loops[next.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops the loops and waits for their threads; work still queued on them is dropped.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        for loop in loops { loop.stop() }
        // Called on one of the loops (its last reference dropped there), that one returns after.
        for (loop, thread) in zip(loops, threads) where !loop.isCurrent { thread.waitUntilFinished() }
    }
}
