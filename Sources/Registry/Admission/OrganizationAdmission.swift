import FoundationEssentials
import Postgres
import Threads
#if canImport(Glibc)
import Glibc
#endif

/// A per-organization limit on requests holding one kind of database capacity (the write pool,
/// or the listing lane): at most `limit` of an organization's requests at once, the others
/// waiting in that organization's first-in-first-out queue for at most `timeout`, then answered
/// 503 like any other bounded database wait (`PostgresError.poolTimeout`).
///
/// Why: the connections behind it are shared first come, first served. Without this, one
/// organization's flood (or its creates all queued on its own `organization_usage` row lock)
/// takes every connection and the other organizations' requests wait behind it. With it, one
/// organization holds at most `limit` of them, and another's request waits for at most the
/// requests already admitted, never for the flood. The policy is `AdmissionState`; this type is
/// the thin I/O around it: a lock, the suspended callers, and a reaper thread for the deadlines.
///
/// `@unchecked Sendable`: all mutable state is guarded by `lock`.
public final class OrganizationAdmission: @unchecked Sendable {
    /// What the admission limits, for messages and metrics: `writes` or `listings`.
    public let lane: String
    /// The most requests of one organization admitted at once.
    public let limit: Int
    /// How long a request waits for its organization's turn.
    public let timeout: Duration

    private let lock = ConditionLock()
    private var state: AdmissionState<UUID, ContinuousClock.Instant>
    private var suspended: [Int: CheckedContinuation<Void, any Error>] = [:]
    /// Decisions about tickets whose caller had not yet stored its continuation.
    private var decided: [Int: Result<Void, any Error>] = [:]
    private var timedOut = 0
    private var isClosed = false
    private var reaperRunning = false

    /// Creates the admission; `limit` must be at least 1.
    public init(lane: String, limit: Int, timeout: Duration) {
        self.lane = lane
        self.limit = limit
        self.timeout = timeout
        state = AdmissionState(limit: limit)
    }

    /// Runs `body` once `organization` has fewer than `limit` requests admitted in this lane;
    /// throws `PostgresError.poolTimeout` (503) if that takes longer than `timeout`.
    ///
    /// The wait here and the pool's wait that follows share one deadline (`DatabaseDeadline`), so a
    /// request waits at most `timeout` in all before its statement runs.
    public func admit<T>(_ organization: UUID, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        try await enter(organization, deadline: deadline)
        defer { leave(organization) }
        return try await DatabaseDeadline.$current.withValue(DatabaseDeadline.bounding(deadline)) {
            try await body()
        }
    }

    /// Waiting requests, and requests answered 503 for waiting too long, since start.
    public var statistics: (waiting: Int, timedOut: Int) {
        lock.withLock { (state.waiting, timedOut) }
    }

    /// Stops the reaper; requests still waiting are answered 503 at once.
    public func close() {
        let woken: [CheckedContinuation<Void, any Error>] = lock.withLock {
            isClosed = true
            lock.broadcast()
            let woken = Array(suspended.values)
            suspended.removeAll()
            return woken
        }
        for continuation in woken { continuation.resume(throwing: PostgresError.poolClosed) }
    }

    // MARK: - Private

    private func enter(_ organization: UUID, deadline: ContinuousClock.Instant) async throws {
        // The common case, admitted at once, takes the lock once and never suspends.
        let queued: Int? = lock.withLock {
            guard case .queued(let ticket) = state.arrive(organization, deadline: deadline) else { return nil }
            return ticket
        }
        guard let ticket = queued else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            // `leave` or the reaper may have decided this ticket between `arrive` and now: the
            // decision was then parked in `decided`, since there was no caller to resume yet.
            let early: Result<Void, any Error>? = lock.withLock {
                if let early = decided.removeValue(forKey: ticket) { return early }
                if isClosed { return .failure(PostgresError.poolClosed) }
                suspended[ticket] = continuation
                startReaperIfNeeded()
                lock.broadcast()
                return nil
            }
            if let early { continuation.resume(with: early) }
        }
    }

    private func leave(_ organization: UUID) {
        let resumed = lock.withLock { deliver(state.finish(organization, now: .now)) }
        for (continuation, result) in resumed { continuation.resume(with: result) }
    }

    /// Pairs each decided ticket with its caller (or parks the decision until the caller is
    /// stored); call holding `lock`.
    private func deliver(_ changes: AdmissionState<UUID, ContinuousClock.Instant>.Changes)
        -> [(CheckedContinuation<Void, any Error>, Result<Void, any Error>)]
    {
        var resumed: [(CheckedContinuation<Void, any Error>, Result<Void, any Error>)] = []
        if changes.admitted.isEmpty && changes.expired.isEmpty { return resumed }
        timedOut += changes.expired.count
        let expired = changes.expired.isEmpty ? nil : PostgresError.poolTimeout(
            "\(limit) \(lane) of one organization already in flight; waited longer than \(timeout) for its turn")
        for (tickets, result) in [(changes.admitted, Result<Void, any Error>.success(())),
                                  (changes.expired, .failure(expired ?? PostgresError.poolClosed))] {
            for ticket in tickets {
                if let continuation = suspended.removeValue(forKey: ticket) {
                    resumed.append((continuation, result))
                } else {
                    decided[ticket] = result
                }
            }
        }
        return resumed
    }

    /// Starts the reaper thread the first time a request waits; call holding `lock`.
    private func startReaperIfNeeded() {
        guard !reaperRunning else { return }
        reaperRunning = true
        DetachedThread.start(name: "admission-\(lane)") { [self] in reap() }
    }

    /// Every 10 ms while requests wait, answers those past their deadline; sleeps while none waits.
    private func reap() {
        while true {
            let (resumed, stop) = lock.withLock {
                while state.waiting == 0 && !isClosed { lock.wait() }
                if isClosed { return ([(CheckedContinuation<Void, any Error>, Result<Void, any Error>)](), true) }
                let changes = AdmissionState<UUID, ContinuousClock.Instant>.Changes(expired: state.expire(now: .now))
                return (deliver(changes), false)
            }
            for (continuation, result) in resumed { continuation.resume(with: result) }
            if stop { return }
            usleep(10_000)
        }
    }
}
