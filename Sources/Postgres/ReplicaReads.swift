import EventLoops
import FoundationEssentials
import Threads
import Log
import Synchronization

/// Reads carried by a replica (`DATABASE_READ_URL`) when, and only when, the replica has every
/// write they must see.
///
/// A background probe asks the primary for its WAL position (`pg_current_wal_lsn()`), noting when
/// it asked, and the replica how far it has replayed (`pg_last_wal_replay_lsn()`). Once the replica
/// has replayed a position the primary reported when asked at instant `t`, it holds every commit
/// acknowledged before `t`: `t` is the replica's *covered* instant. A read goes to the replica when
///
/// - the covered instant is at most `maxLag` old (otherwise nobody reads there: a replica that
///   stopped replaying, or died, or cannot be probed, stops serving within `maxLag`), and
/// - the caller's organization wrote nothing through this instance since the covered instant
///   (read-your-writes: `noteWrite`); else the read goes to the primary.
///
/// A read the replica fails with an unavailability error is sent to the primary instead.
/// Writes made through another instance are seen on the replica within `maxLag` (the bound).
public final class ReplicaReads: Sendable {
    /// The replica's read connections (a `QueryPipeline` on `DATABASE_READ_URL`).
    public let pipeline: QueryPipeline
    /// How old the replica's covered instant may be for it to serve reads at all.
    public let maxLag: Duration
    /// Time between two probes (a fifth of `maxLag`).
    public var probeInterval: Duration { max(maxLag / 5, .milliseconds(10)) }

    private let primaryURL: String
    private let replicaURL: String
    private let connectTimeoutSeconds: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let running = Atomic<Bool>(false)

    struct State {
        var covered: ContinuousClock.Instant?
        /// Primary positions not yet replayed, oldest first, with when they were asked for.
        var samples: [(at: ContinuousClock.Instant, lsn: UInt64)] = []
        /// The last write of each organization through this instance.
        var writes: [UUID: ContinuousClock.Instant] = [:]
        var failing = false
    }

    /// The replica's connections live on `loops` (the application's, so that a read there stays
    /// on its request's thread; nil: loops of their own).
    public init(
        replica: QueryPipeline.Configuration, primaryURL: String, maxLag: Duration, loops: EventLoopGroup? = nil,
        logger: Logger
    ) {
        pipeline = QueryPipeline(configuration: replica, loops: loops, logger: logger)
        replicaURL = replica.connectionString
        connectTimeoutSeconds = replica.connectTimeoutSeconds
        self.primaryURL = primaryURL
        self.maxLag = maxLag
        self.logger = logger
    }

    /// Whether a read for `organization` (nil: not tied to one, such as an API-key lookup) may go
    /// to the replica now.
    public func serves(organization: UUID?) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let covered = state.covered, now - covered <= maxLag else { return false }
            guard let organization, let wrote = state.writes[organization] else { return true }
            return wrote < covered
        }
    }

    /// Records that `organization` just wrote (call when the write is over, committed or not).
    public func noteWrite(organization: UUID) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.writes[organization] = now
            if state.writes.count > 10_000, let covered = state.covered {
                state.writes = state.writes.filter { $0.value >= covered }
            }
        }
    }

    /// The replica's covered instant, if any probe succeeded (for tests and metrics).
    public var coveredInstant: ContinuousClock.Instant? { state.withLock { $0.covered } }

    /// Starts the probe on a thread of its own.
    public func start() {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        DetachedThread.start(name: "replica-probe") { [self] in probeLoop() }
    }

    /// Stops the probe and closes the replica's connections.
    public func stop() {
        running.store(false, ordering: .relaxed)
        pipeline.close()
    }

    private func probeLoop() {
        var primary: Connection?
        var replica: Connection?
        while running.load(ordering: .relaxed) {
            do {
                try probe(primary: &primary, replica: &replica)
                if setFailing(false) {
                    logger.info("replica probe works again")
                }
            } catch {
                primary = nil
                replica = nil
                if !setFailing(true) {
                    logger.warning("replica probe failed: reads go to the primary", ["error": .string("\(error)")])
                }
            }
            DetachedThread.sleep(probeInterval)
        }
    }

    /// Records whether the probe fails; returns whether it failed before.
    private func setFailing(_ failing: Bool) -> Bool {
        state.withLock { state in
            defer { state.failing = failing }
            return state.failing
        }
    }

    /// One round: a new primary position, then how far the replica replayed.
    func probe(primary: inout Connection?, replica: inout Connection?) throws(PostgresError) {
        let deadline = ContinuousClock.now.advanced(by: maxLag)
        if primary == nil { primary = try open(primaryURL, deadline: deadline) }
        if replica == nil { replica = try open(replicaURL, deadline: deadline) }
        let askedAt = ContinuousClock.now
        let position = try primary!.query("SELECT pg_current_wal_lsn()::text")
        let lsn = Self.parse(try position.first?.optionalString(0)) ?? 0
        state.withLock { state in
            state.samples.append((askedAt, lsn))
            if state.samples.count > 1000 { state.samples.removeFirst(state.samples.count - 1000) }
        }
        let replay = try replica!.query("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
        guard let row = replay.first else { throw .unexpectedResult("no row from the replica") }
        // Not in recovery: the read URL names a primary, which has every commit.
        let replayed = try row.bool(0) ? Self.parse(try row.optionalString(1)) ?? 0 : UInt64.max
        state.withLock { state in
            guard let index = state.samples.lastIndex(where: { $0.lsn <= replayed }) else { return }
            state.covered = state.samples[index].at
            state.samples.removeFirst(index + 1)
        }
    }

    private func open(_ url: String, deadline: ContinuousClock.Instant) throws(PostgresError) -> Connection {
        let connection = try Connection(
            connectionString: url, connectTimeoutSeconds: connectTimeoutSeconds, connectDeadline: deadline)
        connection.responseTimeout = maxLag
        return connection
    }

    /// A `pg_lsn` in text (`16/B374D848`) as a number; nil for NULL or garbage.
    public static func parse(_ text: String?) -> UInt64? {
        guard let parts = text?.split(separator: "/"), parts.count == 2,
              let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }
}
