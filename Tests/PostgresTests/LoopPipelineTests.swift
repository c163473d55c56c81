import EventLoops
import Foundation
import Log
import Postgres
import Testing
import TestSupport

/// The read pipeline on the application's event loops: each loop owns its connection, so a
/// statement issued on a loop is sent and answered there; a connection the server drops is
/// replaced, its statements prepared anew.
@Suite struct LoopPipelineTests {
    let database: TestDatabase
    let logger = Logger(label: "test", level: .error, sink: LogSink.memory())

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    /// The backend serving a statement issued on `loop`, and whether the caller resumed on `loop`.
    private static func backend(of pipeline: QueryPipeline, on loop: EventLoop) async throws -> (pid: Int64, stayed: Bool) {
        try await Task(executorPreference: loop) {
            let pid = try await pipeline.query("SELECT pg_backend_pid()::bigint")[0].int64(0)
            return (pid, EventLoop.current === loop)
        }.value
    }

    @Test func eachLoopSendsItsStatementsOnItsOwnConnection() async throws {
        let loops = EventLoopGroup(count: 2, name: "pipeline-test")
        let pipeline = QueryPipeline(configuration: .init(connectionString: database.url, connections: 0), loops: loops, logger: logger)
        defer {
            pipeline.close()
            loops.shutdown()
        }
        #expect(pipeline.statistics.connections == 2)  // 0: one per loop
        var pids: [Set<Int64>] = [[], []]
        for _ in 0..<5 {
            for loop in loops.loops {
                let (pid, stayed) = try await Self.backend(of: pipeline, on: loop)
                #expect(stayed, "the caller resumed off its loop")
                pids[loop.index].insert(pid)
            }
        }
        #expect(pids[0].count == 1 && pids[1].count == 1, "each loop uses one connection: \(pids)")
        #expect(pids[0] != pids[1], "the loops share a connection: \(pids)")
    }

    @Test func aTerminatedConnectionIsReplacedAndItsStatementsPreparedAgain() async throws {
        let loops = EventLoopGroup(count: 1, name: "pipeline-test")
        let pipeline = QueryPipeline(configuration: .init(connectionString: database.url, connections: 1), loops: loops, logger: logger)
        defer {
            pipeline.close()
            loops.shutdown()
        }
        let admin = try Connection(connectionString: database.url)
        let loop = loops.loops[0]
        var previous = try await Self.backend(of: pipeline, on: loop).pid
        for _ in 0..<3 {
            _ = try admin.query("SELECT pg_terminate_backend($1::int)", [previous])
            // The same statement again: on a new connection, prepared there anew.
            let (pid, stayed) = try await Self.backend(of: pipeline, on: loop)
            #expect(stayed)
            #expect(pid != previous)
            previous = pid
        }
    }

    /// While the batches allowed in flight are out, statements issued in later turns wait and leave together:
    /// PostgreSQL answers a round trip's worth at once, not each on its own.
    @Test func statementsIssuedWhileABatchIsOutLeaveTogether() async throws {
        let loops = EventLoopGroup(count: 1, name: "pipeline-test")
        let pipeline = QueryPipeline(configuration: .init(connectionString: database.url, connections: 1), loops: loops, logger: logger)
        defer {
            pipeline.close()
            loops.shutdown()
        }
        let loop = loops.loops[0]
        _ = try await Self.backend(of: pipeline, on: loop)  // connected, prepared
        let before = pipeline.statistics.batches
        let sum = try await Task(executorPreference: loop) {
            try await withThrowingTaskGroup(of: Int64.self) { group in
                group.addTask(executorPreference: loop) {
                    _ = try await pipeline.query("SELECT pg_sleep(0.5)")
                    return 0
                }
                for value in 1...20 {
                    try await Task.sleep(for: .milliseconds(5))  // a later turn of the loop each
                    group.addTask(executorPreference: loop) {
                        try await pipeline.query("SELECT $1::bigint", [Int64(value)])[0].int64(0)
                    }
                }
                return try await group.reduce(0, +)
            }
        }.value
        #expect(sum == 210)
        let batches = pipeline.statistics.batches - before
        #expect(batches <= 3, "\(batches) batches for 21 statements")
    }

    /// Statements waiting for a connection that cannot be made are answered by their deadline
    /// (503), on the loop, not lost.
    @Test func statementsWaitingForAnUnreachableServerFailByTheirDeadline() async throws {
        let loops = EventLoopGroup(count: 1, name: "pipeline-test")
        let unreachable = "postgresql://nobody@127.0.0.1:1/none"
        let pipeline = QueryPipeline(
            configuration: .init(connectionString: unreachable, connections: 1, queueTimeout: .milliseconds(500)),
            loops: loops, logger: logger)
        defer {
            pipeline.close()
            loops.shutdown()
        }
        let loop = loops.loops[0]
        let outcomes = await withTaskGroup(of: PostgresError?.self) { group in
            for _ in 0..<20 {
                group.addTask(executorPreference: loop) {
                    do {
                        _ = try await pipeline.query("SELECT 1")
                        return nil
                    } catch {
                        return error as? PostgresError
                    }
                }
            }
            return await group.reduce(into: [PostgresError?]()) { $0.append($1) }
        }
        #expect(outcomes.count == 20)
        #expect(outcomes.allSatisfy { $0?.isUnavailable == true }, "\(outcomes)")
    }
}
