import Dispatch
import EventLoops
import HTTP
import Log
import Postgres
import Synchronization

/// Checks, in the background, both ways requests reach the database, and keeps the last result
/// for `/readyz` to answer from.
///
/// `/readyz` is unauthenticated: if each call ran statements, a flood of probes would take the
/// write connections from real writes. Here one probe every `interval` runs, concurrently, a
/// `SELECT 1` plus the schema check on the write pool, and a read of `namespaces` and `api_keys`
/// through the read pipeline (what every GET does), so a lock or an outage that blocks reads
/// alone shows too. A result older than `staleAfter` (three intervals) counts as not ready: a
/// probe stuck behind a lock or a frozen server never returns, and its absence is the answer.
public final class ReadinessProbe: Sendable {
    /// One probe's findings; each check is "ok" or what went wrong.
    public struct Result: Sendable {
        public var writes: String
        public var reads: String
        public var schema: String
        /// When the probe started: the result describes the database as of then.
        public var startedAt: ContinuousClock.Instant

        public var isReady: Bool { writes == "ok" && reads == "ok" && schema == "ok" }
    }

    private let pool: ConnectionPool
    private let pipeline: QueryPipeline?
    private let migrator: Migrator?
    private let logger: Logger
    /// Time between the end of one probe and the start of the next.
    public let interval: Duration
    /// Age past which the last result no longer counts as ready.
    public var staleAfter: Duration { interval * 3 }

    /// The probe's own thread (an event loop as its executor): `start` may be called from Swift's
    /// cooperative pool and waits for the first probe, which must then not need a thread of that pool.
    private let loops = EventLoopGroup(count: 1, name: "readiness")
    private let last = Mutex<Result?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let probes = Atomic<Int>(0)

    public init(pool: ConnectionPool, pipeline: QueryPipeline?, migrator: Migrator?, interval: Duration, logger: Logger) {
        self.pool = pool
        self.pipeline = pipeline
        self.migrator = migrator
        self.interval = interval
        self.logger = logger
    }

    /// The last result, if any probe has finished.
    public var lastResult: Result? { last.withLock { $0 } }

    /// Probes run so far (for tests and `/metrics`-style curiosity).
    public var probeCount: Int { probes.load(ordering: .relaxed) }

    /// Starts probing; waits for the first result up to one `interval` (at least 5 seconds), so
    /// that an instance that just started says ready as soon as it is.
    public func start() {
        let first = DispatchSemaphore(value: 0)
        let running = Task(executorPreference: loops.loops[0]) { [self] in
            var signalled = false
            while !Task.isCancelled {
                await probe()
                if !signalled {
                    first.signal()
                    signalled = true
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = running }
        let wait = max(interval, .seconds(5))
        _ = first.wait(timeout: .now() + .milliseconds(Int(wait / .milliseconds(1))))
    }

    /// Stops probing (a probe stuck on the database is abandoned, not waited for).
    public func stop() {
        task.withLock { $0?.cancel() }
        loops.shutdown()
    }

    /// Runs one probe and records its result.
    func probe() async {
        let startedAt = ContinuousClock.now
        async let writeCheck = checkWrites()
        async let readCheck = checkReads()
        let (writes, schema) = await writeCheck
        let result = Result(writes: writes, reads: await readCheck, schema: schema, startedAt: startedAt)
        let previous = last.withLock { last in
            defer { last = result }
            return last
        }
        probes.add(1, ordering: .relaxed)
        if !result.isReady && (previous?.isReady ?? true) {
            logger.warning("not ready", ["writes": .string(result.writes), "reads": .string(result.reads), "schema": .string(result.schema)])
        } else if result.isReady, previous.map({ !$0.isReady }) ?? false {
            logger.info("ready again")
        }
    }

    private func checkWrites() async -> (writes: String, schema: String) {
        do {
            let current = try await pool.run { [migrator] connection in
                try connection.execute("SELECT 1")
                return try migrator?.isCurrent(on: connection) ?? true
            }
            return ("ok", current ? "ok" : "not current: run registryd migrate")
        } catch {
            return (Self.describe(error), "unknown")
        }
    }

    private func checkReads() async -> String {
        guard let pipeline else { return "ok" }
        do {
            _ = try await pipeline.query(
                "SELECT EXISTS (SELECT 1 FROM namespaces), EXISTS (SELECT 1 FROM api_keys)")
            return "ok"
        } catch {
            return Self.describe(error)
        }
    }

    private static func describe(_ error: any Error) -> String {
        (error as? PostgresError)?.description ?? "unknown error"
    }
}
