import CLinuxEvents
import Synchronization
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// What a descriptor registered with an `EventLoop` is handed when epoll reports it.
public protocol EventHandler: AnyObject {
    /// Called on the loop's thread with the epoll events (`EPOLLIN`, `EPOLLOUT` ...) of `descriptor`.
    func handle(descriptor: Int32, events: UInt32)
}

/// What takes part in every turn of an `EventLoop`: the HTTP connections of the loop, its
/// PostgreSQL connections.
public protocol LoopParticipant: AnyObject {
    /// Runs on the loop's thread once the turn's events are handled, before the jobs they resumed
    /// run: the moment to start what others wait for (the turn's statements, so that PostgreSQL
    /// works on them while the loop renders answers). Nothing by default.
    func afterEvents()
    /// Runs on the loop's thread after each turn's events and jobs, before the loop waits again:
    /// the moment to send what the turn produced (answers, one batch of statements).
    func beforeWait()
    /// Runs on the loop's thread about every 100 ms: the moment to enforce deadlines.
    func checkDeadlines(now: ContinuousClock.Instant)
}

extension LoopParticipant {
    public func afterEvents() {}
}

/// One thread with its own epoll set, which is also the task executor of the handlers it starts.
///
/// Everything registered here (HTTP connections, a PostgreSQL connection in pipeline mode) is
/// served by this one thread: a GET is read, parsed, queried, answered and written without
/// leaving it. A task that prefers this executor (`Task.immediate(executorPreference: loop)`)
/// runs here when resumed: resumed from this thread (the database answered on this loop) it is
/// queued without a lock or a wake-up; from another thread (a write on the pool's threads) it
/// goes through a locked inbox and an `eventfd` wake-up.
///
/// `@unchecked Sendable`: `handlers`, `participants` and `jobs` are touched only by the loop's
/// thread (or before it runs); the inbox is guarded by its mutex, the rest is atomic.
public final class EventLoop: TaskExecutor, @unchecked Sendable {
    /// Where the loop stands in its group (0 ..< count).
    public let index: Int
    private let epoll: Int32
    private let wakeUp: Int32
    private var handlers: [Int32: any EventHandler] = [:]
    private var participants: [any LoopParticipant] = []
    private var jobs: [UnownedJob] = []
    private var nextDeadlineCheck = ContinuousClock.now
    private let inbox = Mutex<[Work]>([])
    private let inboxHasWork = Atomic<Bool>(false)
    private let thread = Atomic<UInt>(0)
    private let isStopping = Atomic<Bool>(false)
    /// Set once `run` has recorded its thread (guarded by `startLock`): `EventLoopGroup` waits for
    /// it, so that nobody mistakes a loop that has not started yet for one that has stopped
    /// (`executeAndWait` runs work inline on a stopped loop) and touches its state off its thread.
    private let startLock = ConditionLock()
    private var hasStarted = false

    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    init(index: Int) {
        self.index = index
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeUp = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        var event = epoll_event()
        event.events = CLinuxEvents_in()
        event.data.fd = wakeUp
        epoll_ctl(epoll, EPOLL_CTL_ADD, wakeUp, &event)
    }

    deinit {
        Glibc.close(wakeUp)
        Glibc.close(epoll)
    }

    /// The loop running on the calling thread, if it is a loop's thread.
    public static var current: EventLoop? {
        pthread_getspecific(currentKey).map { Unmanaged<EventLoop>.fromOpaque($0).takeUnretainedValue() }
    }

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the calling thread is this loop's.
    public var isCurrent: Bool {
        let running = thread.load(ordering: .relaxed)
        return running != 0 && pthread_equal(pthread_t(running), pthread_self()) != 0
    }

    // MARK: - Registration (on the loop's thread)

    /// Adds `descriptor` to the epoll set with `events`; `handler` is called with what happens.
    public func register(_ descriptor: Int32, events: UInt32, handler: any EventHandler) {
        handlers[descriptor] = handler
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event)
    }

    /// Changes the events watched on a registered descriptor.
    public func modify(_ descriptor: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        epoll_ctl(epoll, EPOLL_CTL_MOD, descriptor, &event)
    }

    /// Stops watching `descriptor` (call before closing it: a closed descriptor leaves epoll by
    /// itself, but its number may be reused at once).
    public func unregister(_ descriptor: Int32) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
        handlers[descriptor] = nil
    }

    /// Forgets the handler of a descriptor that was just closed (it left epoll with the close).
    public func forget(_ descriptor: Int32) {
        handlers[descriptor] = nil
    }

    /// Adds a participant, called in every turn from now on; `first`: before those added so far
    /// (a database connection, whose statements should leave before the turn's answers do).
    public func add(_ participant: any LoopParticipant, first: Bool = false) {
        if first { participants.insert(participant, at: 0) } else { participants.append(participant) }
    }

    /// Removes a participant.
    public func remove(_ participant: any LoopParticipant) {
        participants.removeAll { $0 === participant }
    }

    // MARK: - Work from anywhere

    /// Runs `work` on the loop's thread in its next turn (from any thread).
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Runs `work` on the loop's thread and returns once it ran: at once when called on the
    /// loop's thread, or when the loop is not running (then on the calling thread).
    public func executeAndWait(_ work: @escaping @Sendable () -> Void) {
        if isCurrent || thread.load(ordering: .relaxed) == 0 {
            work()
            return
        }
        let done = ConditionLock()
        let finished = Atomic<Bool>(false)
        execute {
            work()
            done.withLock {
                finished.store(true, ordering: .relaxed)
                done.broadcast()
            }
        }
        done.withLock {
            while !finished.load(ordering: .relaxed) && thread.load(ordering: .relaxed) != 0 {
                _ = done.wait(until: ContinuousClock.now.advanced(by: .milliseconds(50)))
            }
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if isCurrent {
            jobs.append(unowned)  // the loop runs it before it waits again
        } else {
            submit(.job(unowned))
        }
    }

    private func submit(_ work: Work) {
        let wasEmpty = inbox.withLock { inbox in
            inbox.append(work)
            return inbox.count == 1
        }
        inboxHasWork.store(true, ordering: .releasing)
        if wasEmpty { wake() }
    }

    /// Wakes the loop from any thread.
    public func wake() {
        var one: UInt64 = 1
        _ = write(wakeUp, &one, 8)
    }

    // MARK: - Running

    /// Blocks until `run` has started on the loop's thread.
    func waitUntilStarted() {
        startLock.withLock {
            while !hasStarted { startLock.wait() }
        }
    }

    /// Runs the loop on the calling thread until `stop`.
    func run() {
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(self).toOpaque())
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        startLock.withLock {
            hasStarted = true
            startLock.broadcast()
        }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        let executor = asUnownedTaskExecutor()
        while !isStopping.load(ordering: .relaxed) {
            let busy = !jobs.isEmpty || inboxHasWork.load(ordering: .acquiring)
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(epoll, $0.baseAddress, Int32($0.count), busy ? 0 : 100)
            }
            for position in 0..<max(0, Int(count)) {
                let event = events[position]
                let descriptor = event.data.fd
                if descriptor == wakeUp {
                    var value: UInt64 = 0
                    _ = read(wakeUp, &value, 8)
                } else {
                    handlers[descriptor]?.handle(descriptor: descriptor, events: event.events)
                }
            }
            takeInbox()
            for participant in participants { participant.afterEvents() }
            // Jobs queued while these run (a handler resumed by a result read just now) run too.
            var ran = 0
            while ran < jobs.count && ran < 4096 {
                jobs[ran].runSynchronously(on: executor)
                ran += 1
            }
            jobs.removeFirst(ran)
            for participant in participants { participant.beforeWait() }
            let now = ContinuousClock.now
            if now >= nextDeadlineCheck {
                for participant in participants { participant.checkDeadlines(now: now) }
                nextDeadlineCheck = now.advanced(by: .milliseconds(100))
            }
        }
        takeInbox()
        thread.store(0, ordering: .relaxed)
        pthread_setspecific(Self.currentKey, nil)
        handlers = [:]  // handlers and participants reference the loop: let them go
        participants = []
    }

    private func takeInbox() {
        guard inboxHasWork.load(ordering: .acquiring) else { return }
        let work = inbox.withLock { inbox in
            inboxHasWork.store(false, ordering: .relaxed)
            defer { inbox.removeAll(keepingCapacity: true) }
            return inbox
        }
        for item in work {
            switch item {
            case .job(let job): jobs.append(job)
            case .closure(let closure): closure()
            }
        }
    }

    /// Asks the loop to return (from any thread).
    func stop() {
        isStopping.store(true, ordering: .relaxed)
        wake()
    }
}
