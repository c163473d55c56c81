import CPicoHTTPParser

/// One client connection, owned by the event loop that accepted it: only that loop's thread
/// touches it (a handler's task runs on that loop too, see `HTTPLoop.deliver`).
///
/// A connection serves one request at a time; bytes of a pipelined next request stay in `input`
/// (or in the kernel) until the current answer is written.
final class HTTPConnection: @unchecked Sendable {
    /// Where the connection is in the life of its current request.
    enum Phase: Equatable {
        /// Between requests (keep-alive), nothing of the next request received yet.
        case idle
        /// Part of a request head received.
        case head
        /// The head is in; the body is arriving.
        case body
        /// A handler is answering.
        case handling
        /// The answer is being written.
        case writing
    }

    let descriptor: Int32
    var phase = Phase.idle
    /// When the current phase must end: the head and body deadlines, the idle timeout, the
    /// write timeout. Nothing bounds `.handling` here (the database waits are bounded there).
    var deadline: ContinuousClock.Instant
    /// When the current phase began: shedding picks the oldest idle, then the oldest incomplete.
    var phaseStartedAt: ContinuousClock.Instant

    /// Bytes received and not yet consumed (a partial head, a body, a pipelined request).
    var input: [UInt8] = []
    /// How much of `input` picohttpparser has already searched for the end of the head.
    var parsedHeadLength = 0
    /// The head of the request whose body is arriving, or which is being answered.
    var head: RequestHead?
    /// For chunked bodies: the decoder's state and how much of `input` is decoded body.
    var chunkDecoder = phr_chunked_decoder()
    var decodedLength = 0
    /// Whether the body is kept (POST, PATCH, PUT), and how much of a framed one is still to come.
    var keepsBody = false
    var bodyRemaining = 0
    /// The body limit of this request's route (`BodyLimit`), and whether its body went over it
    /// and is being dropped for the handler to answer.
    var bodyLimit = BodyLimit(bytes: 0)
    var bodyExceededLimit = false

    /// The answer being written, and how much of it is out.
    var output: [UInt8] = []
    var outputOffset = 0
    /// Close once `output` is written (an error answer, `Connection: close`, or draining).
    var closesAfterWrite = false

    /// The request being answered, for the access log and metrics.
    var requestStartedAt: ContinuousClock.Instant
    var requestID = ""
    var route: String?
    var status = 0
    var isClosed = false

    init(descriptor: Int32, now: ContinuousClock.Instant, idleTimeout: Duration) {
        self.descriptor = descriptor
        deadline = now.advanced(by: idleTimeout)
        phaseStartedAt = now
        requestStartedAt = now
    }

    /// Whether the socket reported bytes (or its end) while a request was being answered: they
    /// are read once the answer is out, with no new event to say so (edge-triggered).
    var mayHaveUnreadInput = false

    /// Whether the connection has answered a request (it is a keep-alive connection).
    var hasAnswered = false

    /// Whether shedding this connection loses no request: a keep-alive connection between
    /// requests, nothing received. A connection just accepted is not idle even before its first
    /// bytes are read: shed as idle, a newcomer could be closed unanswered for another newcomer.
    var isIdle: Bool { phase == .idle && input.isEmpty && hasAnswered }

    /// Whether a request is partly received (a slow or trickling client), or none yet on a new
    /// connection (a silent client).
    var isIncomplete: Bool { phase == .head || phase == .body || (phase == .idle && (!input.isEmpty || !hasAnswered)) }

    /// Forgets the request just answered, keeping bytes of the next one.
    func resetForNextRequest(now: ContinuousClock.Instant, idleTimeout: Duration) {
        phase = .idle
        hasAnswered = true
        head = nil
        parsedHeadLength = 0
        chunkDecoder = phr_chunked_decoder()
        decodedLength = 0
        output = []
        outputOffset = 0
        route = nil
        phaseStartedAt = now
        deadline = now.advanced(by: idleTimeout)
        if input.isEmpty { input = [] }  // an idle connection holds no buffer
    }
}
