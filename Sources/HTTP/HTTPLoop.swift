import CLinuxEvents
import EventLoops
import Synchronization
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP side of one `EventLoop`: it accepts from the shared listening socket, and reads,
/// parses, routes, answers and writes the connections it accepted. An immediate handler runs
/// right here; an asynchronous one starts here too (`Task.immediate`, with the loop as its
/// executor), so it runs on this thread before and after each wait, and its answer is written
/// when the loop finishes the turn in which it came (`deliver`, `beforeWait`).
///
/// `@unchecked Sendable`: everything but the atomics is touched only by the loop's thread;
/// closures carry the object there (`EventLoop.execute`).
final class HTTPLoop: EventHandler, LoopParticipant, @unchecked Sendable {
    let context: ServerContext
    let loop: EventLoop
    private let listener: Int32
    private var connections: [Int32: HTTPConnection] = [:]
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var isListening = false
    /// Answers of asynchronous handlers, written before the loop waits again.
    private var completions: [(HTTPConnection, Response)] = []
    /// Set once the loop has stopped accepting (draining): the server may then close the listener.
    let hasStoppedListening = Atomic<Bool>(false)
    /// The server's loops, this one included; set before the loops start.
    var siblings: [HTTPLoop] = []
    /// Connections this loop holds (read by its siblings).
    let connectionCount = Atomic<Int>(0)

    init(context: ServerContext, loop: EventLoop, listener: Int32) {
        self.context = context
        self.loop = loop
        self.listener = listener
    }

    /// Starts accepting (on the loop's thread).
    func attach() {
        // The listener is shared by every loop; EPOLLEXCLUSIVE wakes one of them per connection.
        loop.register(listener, events: CLinuxEvents_in() | CLinuxEvents_exclusive(), handler: self)
        loop.add(self)
        isListening = true
    }

    /// Closes every connection and leaves the loop (on the loop's thread).
    func detach() {
        if isListening { stopListening() }
        for connection in Array(connections.values) { close(connection, abandoning: true) }
        loop.remove(self)
        siblings = []  // the loops referenced one another: let them go
    }

    /// Edge-triggered, registered once: readable, writable, and the peer's end of stream apart
    /// (`EPOLLRDHUP`), so that a short read can be trusted to have emptied the socket unless the
    /// peer also closed (see `receive`).
    private static let connectionEvents =
        CLinuxEvents_in() | CLinuxEvents_out() | CLinuxEvents_readHangUp() | CLinuxEvents_edgeTriggered()

    func handle(descriptor: Int32, events: UInt32) {
        if descriptor == listener {
            acceptConnections()
        } else if let connection = connections[descriptor] {
            let closing = events & (CLinuxEvents_readHangUp() | CLinuxEvents_hangUp()) != 0
            var readable = closing || events & CLinuxEvents_in() != 0
            if events & CLinuxEvents_out() != 0 && connection.phase == .writing {
                flush(connection)
                process(connection)  // a pipelined request waiting behind the answer just written
                readable = true  // and what arrived while writing (edge-triggered: no new event)
            }
            if readable { receive(connection, untilEmpty: closing) }
        }
    }

    func beforeWait() {
        writeCompletions()
        if context.isDraining.load(ordering: .relaxed) && isListening { stopListening() }
    }

    func checkDeadlines(now: ContinuousClock.Instant) {
        enforceDeadlines(now: now)
    }

    /// Hands an asynchronous handler's answer back to the loop that owns `connection`: written
    /// at the end of this turn when on the loop (always, unless a handler left its executor).
    func deliver(_ response: Response, to connection: HTTPConnection) {
        if loop.isCurrent {
            completions.append((connection, response))
        } else {
            loop.execute { [self] in completions.append((connection, response)) }
        }
    }

    // MARK: - Connections

    /// Asks the sibling holding the most connections to shed one; false when there is none to ask.
    private func askSiblingToShed() -> Bool {
        let others = siblings.filter { $0 !== self }
        guard let fullest = others.max(by: {
            $0.connectionCount.load(ordering: .relaxed) < $1.connectionCount.load(ordering: .relaxed)
        }), fullest.connectionCount.load(ordering: .relaxed) > 0 else { return false }
        fullest.loop.execute { _ = fullest.shedOne() }
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
                loop.register(descriptor, events: Self.connectionEvents, handler: self)
                fail(connection, with: .overloaded)
                continue
            }
            connections[descriptor] = connection
            connectionCount.add(1, ordering: .relaxed)
            context.openConnections.add(1, ordering: .relaxed)
            loop.register(descriptor, events: Self.connectionEvents, handler: self)
        }
    }

    /// Closes the connection that loses least to make room: the longest idle keep-alive one,
    /// else the oldest incomplete request (a trickler). False when all are being answered.
    func shedOne() -> Bool {
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
        loop.unregister(listener)
        for connection in Array(connections.values) where connection.phase == .idle && connection.input.isEmpty {
            close(connection, abandoning: false)  // between requests, or none sent yet
        }
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
        loop.forget(connection.descriptor)
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

    private func writeCompletions() {
        // Writing one may start the handler of a pipelined request, which may complete at once.
        while !completions.isEmpty {
            let ready = completions
            completions.removeAll(keepingCapacity: true)
            for (connection, response) in ready where !connection.isClosed {
                respond(connection, with: response)
                process(connection)  // a pipelined request waiting behind this answer
                if connection.mayHaveUnreadInput {
                    connection.mayHaveUnreadInput = false
                    receive(connection)  // what arrived meanwhile (edge-triggered: no new event for it)
                }
            }
        }
    }

    // MARK: - Reading

    /// Reads what the socket holds and serves what it completes.
    ///
    /// Edge-triggered: all that is there must be read, but a read shorter than the buffer already
    /// took it all (bytes arriving later raise a new event), which saves the `recv` that would only
    /// find the socket empty, one per request. `untilEmpty` when the peer closed (`EPOLLRDHUP`: no
    /// event follows the end of stream, so it must be read now).
    func receive(_ connection: HTTPConnection, untilEmpty: Bool = true) {
        while !connection.isClosed {
            // One request at a time: the next one waits (in the kernel) until this one is answered.
            if connection.phase == .handling || connection.phase == .writing {
                connection.mayHaveUnreadInput = true  // read once the answer is out
                return
            }
            let count = readBuffer.withUnsafeMutableBytes { recv(connection.descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                connection.input.append(contentsOf: readBuffer[0..<count])
                process(connection)
                if count < readBuffer.count && !untilEmpty { return }
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if count < 0 && errno == EINTR { continue }
            close(connection, abandoning: false)  // end of stream, or a reset
            return
        }
    }
}
