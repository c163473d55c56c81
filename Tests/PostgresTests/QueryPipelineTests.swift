import Foundation
import Log
import HTTP
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite struct QueryPipelineTests {
    let database: TestDatabase
    let logger = Logger(label: "test", level: .error, sink: LogSink.memory())

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    private func pipeline(connections: Int = 2, url: String? = nil) -> QueryPipeline {
        QueryPipeline(configuration: .init(connectionString: url ?? database.url, connections: connections, maximumBatch: 16),
                      logger: logger)
    }

    @Test func manyConcurrentStatementsEachGetTheirOwnResult() async throws {
        let pipeline = pipeline()
        defer { pipeline.close() }
        let values = try await withThrowingTaskGroup(of: (Int, Int64, String).self) { group in
            for index in 0..<300 {
                group.addTask {
                    let sql = index % 3 == 0 ? "SELECT $1::bigint * 2, 'a'::text" : "SELECT $1::bigint * 2, 'b'::text"
                    let row = try await pipeline.query(sql, [index])[0]
                    return (index, try row.int64(0), try row.string(1))
                }
            }
            return try await group.reduce(into: [(Int, Int64, String)]()) { $0.append($1) }
        }
        #expect(values.count == 300)
        for (index, doubled, label) in values {
            #expect(doubled == Int64(index * 2))
            #expect(label == (index % 3 == 0 ? "a" : "b"))
        }
        let statistics = pipeline.statistics
        #expect(statistics.statements == 300)
        #expect(statistics.queued == 0)
        #expect(statistics.batches <= 300)
    }

    @Test func aFailingStatementFailsAloneInItsBatch() async throws {
        let pipeline = pipeline(connections: 1)
        defer { pipeline.close() }
        let outcomes = await withTaskGroup(of: (Int, Result<Int64, PostgresError>).self) { group in
            for index in 0..<40 {
                group.addTask {
                    do {
                        let divisor = index % 10 == 0 ? 0 : 1
                        let row = try await pipeline.query("SELECT $1::bigint / $2::bigint", [index, divisor])[0]
                        return (index, .success(try row.int64(0)))
                    } catch let error as PostgresError {
                        return (index, .failure(error))
                    } catch {
                        return (index, .failure(.unexpectedResult("\(error)")))
                    }
                }
            }
            return await group.reduce(into: [(Int, Result<Int64, PostgresError>)]()) { $0.append($1) }
        }
        for (index, outcome) in outcomes {
            switch outcome {
            case .success(let value):
                #expect(index % 10 != 0)
                #expect(value == Int64(index))
            case .failure(let error):
                #expect(index % 10 == 0, "statement \(index) failed: \(error.detail)")
                #expect(error.sqlState == "22012")
            }
        }
    }

    @Test func aStatementThatCannotBePreparedFailsWithItsOwnError() async throws {
        let pipeline = pipeline(connections: 1)
        defer { pipeline.close() }
        async let good = pipeline.query("SELECT 41::bigint + 1")
        async let bad = pipeline.query("SELECT no_such_column FROM pg_class")
        #expect(try await good[0].int64(0) == 42)
        do {
            _ = try await bad
            Issue.record("a statement with an unknown column succeeded")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42703")
        }
        #expect(try await pipeline.query("SELECT 7::bigint")[0].int64(0) == 7)
    }

    @Test func unreachableDatabaseFailsFastAsUnavailable() async throws {
        let pipeline = pipeline(url: "postgresql://nobody@/nothing?host=/nonexistent-socket-dir")
        defer { pipeline.close() }
        let (error, elapsed) = await onDedicatedThreads { () -> (PostgresError?, Duration) in
            let started = ContinuousClock.now
            do {
                _ = try await pipeline.query("SELECT 1")
                return (nil, ContinuousClock.now - started)
            } catch {
                return (error as? PostgresError, ContinuousClock.now - started)
            }
        }
        #expect(error?.isUnavailable == true)
        #expect(elapsed < .seconds(5))
    }

    @Test func closedPipelineRefusesStatements() async throws {
        let pipeline = pipeline()
        #expect(try await pipeline.query("SELECT 1::bigint")[0].int64(0) == 1)
        pipeline.close()
        await #expect(throws: PostgresError.self) { try await pipeline.query("SELECT 1") }
    }

    @Test func poolRunsBlockingWorkOnItsOwnThreads() async throws {
        let pool = ConnectionPool(configuration: .init(connectionString: database.url, size: 2, acquireTimeout: .seconds(10)),
                                  logger: logger)
        defer { pool.close() }
        let sums = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<20 {
                group.addTask { try await pool.run { try $0.query("SELECT $1::bigint + 1", [index])[0].int64(0) } }
            }
            return try await group.reduce(0, +)
        }
        let expected: Int64 = 210  // 1 + 2 + ... + 20
        #expect(sums == expected)
    }
}

extension QueryPipelineTests {
    /// A batch whose connection dies while its results are read: every caller is resumed (the
    /// aborted ones are sent again on a new connection), none is left waiting.
    @Test func aBatchWhoseConnectionDiesResumesEveryCaller() async throws {
        let pipeline = pipeline(connections: 1)
        defer { pipeline.close() }
        for round in 0..<5 {
            let resumed = ResumedCount()
            // Unstructured, so that a caller never resumed fails the test instead of hanging it.
            let statements = [("SELECT pg_terminate_backend(pg_backend_pid())", nil)]
                + (0..<12).map { ("SELECT $1::bigint", round * 100 + $0) }
            for (sql, value) in statements {
                // On threads of the tests' own: the cooperative pool may be kept busy by other suites.
                Task(executorPreference: dedicatedExecutor) { [pipeline] in
                    _ = try? await pipeline.query(sql, value.map { [$0] } ?? [])
                    resumed.count.add(1, ordering: .relaxed)
                }
            }
            let allResumed = await eventually(timeout: .seconds(20)) { resumed.count.load(ordering: .relaxed) == 13 }
            #expect(allResumed, "round \(round): \(13 - resumed.count.load(ordering: .relaxed)) callers never resumed")
        }
        #expect(try await pipeline.query("SELECT 5::bigint")[0].int64(0) == 5)
    }
}

/// How many callers were resumed, shared with the tasks that count them.
private final class ResumedCount: Sendable {
    let count = Atomic<Int>(0)
}

@Suite struct ReplicaPositionTests {
    @Test func walPositionsParseAsNumbersInOrder() {
        #expect(ReplicaReads.parse("0/3000000") == 0x300_0000)
        #expect(ReplicaReads.parse("16/B374D848") == 0x16_B374_D848)
        #expect(ReplicaReads.parse("1/0")! > ReplicaReads.parse("0/FFFFFFFF")!)
        #expect(ReplicaReads.parse(nil) == nil)
        #expect(ReplicaReads.parse("garbage") == nil)
    }
}
