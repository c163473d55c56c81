import CLinuxEvents
import Synchronization
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// One thread with its own epoll set: it accepts from the shared listening socket, and reads,
/// parses, routes, answers and writes its connections. An immediate handler runs right here; an
/// asynchronous one starts here too (`Task.immediate`) and, when it finishes on another thread
/// (the database pipeline's), hands its answer back through `deliver` and an `eventfd`.
///
/// `@unchecked Sendable`: everything but `completions` and `isStopping` is touched only by the
/// loop's thread; the descriptors live as long as the object, so a late `deliver` never writes
/// to a reused descriptor.
final class EventLoop: @unchecked Sendable {
    let context: ServerContext
    private let listener: Int32
    private let epoll: Int32
    private let wakeUp: Int32
    private var connections: [Int32: HTTPConnection] = [:]
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var nextDeadlineScan = ContinuousClock.now
    private var isListening = true
    private var loopThread: pthread_t?

    /// Answers of asynchronous handlers, waiting for the loop's thread to write them.
    private let completions = Mutex<[(HTTPConnection, Response)]>([])
    private let isStopping = Atomic<Bool>(false)
    /// Set once the loop has stopped accepting (draining): the server may then close the listener.
    let hasStoppedListening = Atomic<Bool>(false)
    /// The server's loops, this one included; set before the loops start.
    var siblings: [EventLoop] = []
    /// Connections this loop holds (read by its siblings), and sheds its siblings asked for.
    let connectionCount = Atomic<Int>(0)
    private let shedsRequested = Atomic<Int>(0)

    init(context: ServerContext, listener: Int32) {
        self.context = context
        self.listener = listener
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeUp = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        // The listener is shared by every loop; EPOLLEXCLUSIVE wakes one of them per connection.
        register(listener, events: CLinuxEvents_in() | CLinuxEvents_exclusive())
        register(wakeUp, events: CLinuxEvents_in())
    }

    deinit {
        Glibc.close(wakeUp)
        Glibc.close(epoll)
    }

    /// Runs the loop on the calling thread until `stop`.
    func run() {
        loopThread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while !isStopping.load(ordering: .relaxed) {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), 100) }
            for index in 0..<max(0, Int(count)) {
                let event = events[index]
                let descriptor = event.data.fd
                if descriptor == listener {
                    acceptConnections()
                } else if descriptor == wakeUp {
                    var value: UInt64 = 0
                    _ = read(wakeUp, &value, 8)
                } else if let connection = connections[descriptor] {
                    var readable = event.events & (CLinuxEvents_in() | CLinuxEvents_hangUp()) != 0
                    if event.events & CLinuxEvents_out() != 0 && connection.phase == .writing {
                        flush(connection)
                        process(connection)  // a pipelined request waiting behind the answer just written
                        readable = true  // and what arrived while writing (edge-triggered: no new event)
                    }
                    if readable { receive(connection) }
                }
            }
            writeCompletions()
            for _ in 0..<shedsRequested.exchange(0, ordering: .relaxed) { _ = shedOne() }
            if context.isDraining.load(ordering: .relaxed) && isListening { stopListening() }
            let now = ContinuousClock.now
            if now >= nextDeadlineScan {
                enforceDeadlines(now: now)
                nextDeadlineScan = now.advanced(by: .milliseconds(100))
            }
        }
        for connection in Array(connections.values) { close(connection, abandoning: true) }
        siblings = []  // the loops referenced one another: let them go
    }

    /// Asks the loop to return (from any thread); connections still open are closed.
    func stop() {
        isStopping.store(true, ordering: .relaxed)
        wake()
    }

    /// Wakes the loop, from any thread, so it notices draining or stopping.
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeUp, &one, 8)
    }

    /// Hands an asynchronous handler's answer back to the loop that owns `connection`.
    func deliver(_ response: Response, to connection: HTTPConnection) {
        let wasEmpty = completions.withLock { queue in
            queue.append((connection, response))
            return queue.count == 1
        }
        // On the loop's own thread (the handler never waited) the loop writes it before sleeping.
        if wasEmpty, let loopThread, pthread_equal(loopThread, pthread_self()) == 0 { wake() }
    }

    // MARK: - Connections

    /// Asks the sibling holding the most connections to shed one; false when there is none to ask.
    private func askSiblingToShed() -> Bool {
        let others = siblings.filter { $0 !== self }
        guard let fullest = others.max(by: {
            $0.connectionCount.load(ordering: .relaxed) < $1.connectionCount.load(ordering: .relaxed)
        }), fullest.connectionCount.load(ordering: .relaxed) > 0 else { return false }
        fullest.shedsRequested.add(1, ordering: .relaxed)
        fullest.wake()
        return true
    }

    private func acceptConnections() {
        for _ in 0..<64 {
            guard !context.isDraining.load(ordering: .relaxed) else { return }
            let descriptor = accept4(listener, nil, nil, CLinuxEvents_nonBlockingCloseOnExec())
            if descriptor < 0 { return }
            var noDelay: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            let now = ContinuousClock.now
            let connection = HTTPConnection(descriptor: descriptor, now: now, idleTimeout: context.configuration.idleTimeout)
            // The limit is the server's; a loop sheds only its own connections (it owns them), so
            // when it has none to shed it asks the sibling holding the most, and lets this one in:
            // the server is over its limit by at most one connection per loop, for one wake-up.
            let open = context.openConnections.load(ordering: .relaxed)
            let limit = context.configuration.connectionLimit
            if open >= limit && !shedOne() && !(open < limit + siblings.count && askSiblingToShed()) {
                // Every slot is answering a request: refuse this one, politely.
                connections[descriptor] = connection
                context.openConnections.add(1, ordering: .relaxed)
                register(descriptor, events: CLinuxEvents_in() | CLinuxEvents_out() | CLinuxEvents_edgeTriggered())
                fail(connection, with: .overloaded)
                continue
            }
            connections[descriptor] = connection
            connectionCount.add(1, ordering: .relaxed)
            context.openConnections.add(1, ordering: .relaxed)
            register(descriptor, events: CLinuxEvents_in() | CLinuxEvents_out() | CLinuxEvents_edgeTriggered())
        }
    }

    /// Closes the connection that loses least to make room: the longest idle keep-alive one,
    /// else the oldest incomplete request (a trickler). False when all are being answered.
    private func shedOne() -> Bool {
        let victim = connections.values.filter(\.isIdle).min { $0.phaseStartedAt < $1.phaseStartedAt }
            ?? connections.values.filter(\.isIncomplete).min { $0.requestStartedAt < $1.requestStartedAt }
        guard let victim else { return false }
        if victim.isIdle {
            close(victim, abandoning: false)
        } else {
            fail(victim, with: .timedOut)
            if !victim.isClosed { close(victim, abandoning: true) }  // its answer did not fit the socket
        }
        return true
    }

    /// Answers 408 to requests past their deadline; closes idle connections past the idle timeout
    /// and connections whose answer cannot be written in time.
    private func enforceDeadlines(now: ContinuousClock.Instant) {
        for connection in Array(connections.values) where connection.deadline <= now {
            switch connection.phase {
            case .idle where connection.input.isEmpty: close(connection, abandoning: false)
            case .idle, .head, .body: fail(connection, with: .timedOut)
            case .writing: close(connection, abandoning: true)
            case .handling: break
            }
        }
    }

    /// Stops accepting and closes idle keep-alive connections; the others close after their answer.
    private func stopListening() {
        isListening = false
        epoll_ctl(epoll, EPOLL_CTL_DEL, listener, nil)
        for connection in Array(connections.values) where connection.isIdle { close(connection, abandoning: false) }
        hasStoppedListening.store(true, ordering: .relaxed)
    }

    /// Closes `connection`; `abandoning` when a request of it was counted in flight and not answered.
    func close(_ connection: HTTPConnection, abandoning: Bool) {
        guard !connection.isClosed else { return }
        connection.isClosed = true
        if abandoning && (connection.phase == .handling || connection.phase == .writing) {
            context.inFlight.subtract(1, ordering: .relaxed)
        }
        connections[connection.descriptor] = nil
        connectionCount.subtract(1, ordering: .relaxed)
        context.openConnections.subtract(1, ordering: .relaxed)
        if connection.closesAfterWrite {
            // After an error answer the client may still be sending (a huge header, a refused
            // body): closing with unread bytes sends a reset, which can destroy the answer in
            // the client's buffers. Read what is already here (bounded), then close.
            for _ in 0..<16 {
                let count = readBuffer.withUnsafeMutableBytes { recv(connection.descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
            }
            shutdown(connection.descriptor, Int32(SHUT_WR))
        }
        Glibc.close(connection.descriptor)
    }

    private func register(_ descriptor: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event)
    }

    private func writeCompletions() {
        let ready = completions.withLock { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for (connection, response) in ready where !connection.isClosed {
            respond(connection, with: response)
            process(connection)  // a pipelined request waiting behind this answer
            receive(connection)  // and what arrived meanwhile (edge-triggered: no new event for it)
        }
    }

    // MARK: - Reading

    /// Reads what the socket holds (edge-triggered: until it would block) and serves what it completes.
    func receive(_ connection: HTTPConnection) {
        while !connection.isClosed {
            // One request at a time: the next one waits (in the kernel) until this one is answered.
            if connection.phase == .handling || connection.phase == .writing { return }
            let count = readBuffer.withUnsafeMutableBytes { recv(connection.descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                connection.input.append(contentsOf: readBuffer[0..<count])
                process(connection)
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if count < 0 && errno == EINTR { continue }
            close(connection, abandoning: false)  // end of stream, or a reset
            return
        }
    }
}
