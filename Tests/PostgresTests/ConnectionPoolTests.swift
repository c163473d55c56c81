import Foundation
import Log
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite struct ConnectionPoolTests {
    let database: TestDatabase

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    private func pool(size: Int, timeout: Duration = .seconds(5)) -> ConnectionPool {
        ConnectionPool(configuration: .init(connectionString: database.url, size: size, acquireTimeout: timeout),
                       logger: Logger(label: "test", level: .error))
    }

    @Test func neverOpensMoreThanItsSize() async throws {
        let pool = pool(size: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask { try pool.withConnection { try $0.execute("SELECT pg_sleep(0.02)") } }
            }
            try await group.waitForAll()
        }
        let statistics = pool.statistics
        #expect(statistics.open <= 3)
        #expect(statistics.inUse == 0)
        let backends: Int64 = try pool.withConnection { connection in
            try connection.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'registryd' AND datname = current_database()")[0].int64(0)
        }
        #expect(backends <= 3)
    }

    @Test func manyThreadsShareAFewConnectionsByHandOff() async throws {
        let pool = pool(size: 2, timeout: .seconds(30))
        let threads = 32
        let results = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<threads {
                group.addTask {
                    try await blocking {
                        var sum: Int64 = 0
                        for round in 0..<20 {
                            sum += try pool.withConnection { try $0.query("SELECT $1::bigint", [index * 100 + round])[0].int64(0) }
                        }
                        return sum
                    }
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(results.count == threads)
        var expected: Int64 = 0
        for index in 0..<threads {
            for round in 0..<20 { expected += Int64(index * 100 + round) }
        }
        #expect(results.reduce(0, +) == expected)
        let statistics = pool.statistics
        #expect(statistics.open <= 2)
        #expect(statistics.inUse == 0)
        #expect(statistics.waiting == 0)
    }

    @Test func closingWakesWaitersWithAnError() async throws {
        let pool = pool(size: 1, timeout: .seconds(30))
        let holding = try await blocking { () -> Bool in
            let started = DispatchSemaphore(value: 0)
            let waiterFailed = Atomic<Bool>(false)
            let waiter = Thread {
                started.signal()
                do { try pool.withConnection { _ in } } catch { waiterFailed.store(true, ordering: .relaxed) }
            }
            try pool.withConnection { _ in
                waiter.start()
                started.wait()
                while pool.statistics.waiting == 0 { usleep(1000) }
                pool.close()
                while !waiterFailed.load(ordering: .relaxed) { usleep(1000) }
            }
            return waiterFailed.load(ordering: .relaxed)
        }
        #expect(holding)
    }

    @Test func waitingIsBoundedByTheAcquireTimeout() throws {
        let pool = pool(size: 1, timeout: .milliseconds(100))
        let started = ContinuousClock.now
        try pool.withConnection { _ in
            do {
                try pool.withConnection { _ in Issue.record("a second connection was lent from a pool of one") }
            } catch let error as PostgresError {
                #expect(error.isUnavailable)
                #expect(error.description == "timed out waiting for a database connection")
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func connectionsClosedByTheServerAreReplacedBeforeARequestFails() async throws {
        let pool = pool(size: 2)
        let firstBackend: Int64 = try pool.withConnection { try $0.query("SELECT pg_backend_pid()::bigint")[0].int64(0) }
        let admin = try Connection(connectionString: database.url)
        try admin.query("SELECT pg_terminate_backend($1::int)", [Int(firstBackend)])
        let exited = await eventually {
            (try? admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", [Int(firstBackend)])[0].int64(0)) == 0
        }
        #expect(exited)
        // The idle connection is dead; the pool notices before lending it and opens a new one.
        let secondBackend: Int64 = try pool.withConnection { try $0.query("SELECT pg_backend_pid()::bigint")[0].int64(0) }
        #expect(secondBackend != firstBackend)
    }

    @Test func aConnectionThatBreaksDuringAQueryIsNotReused() throws {
        let pool = pool(size: 1)
        let admin = try Connection(connectionString: database.url)
        let failed = (try? pool.withConnection { connection in
            let pid = try connection.query("SELECT pg_backend_pid()")[0].int64(0)
            try admin.query("SELECT pg_terminate_backend($1::int)", [Int(pid)])
            return try connection.query("SELECT pg_sleep(1)")
        }) == nil
        #expect(failed)
        #expect(pool.statistics.open == 0)
        #expect(try pool.withConnection { try $0.query("SELECT 1::int")[0].int64(0) } == 1)
    }

    @Test func connectionLeftInsideATransactionIsNotReused() throws {
        let pool = pool(size: 1)
        let leaked: Int64 = try pool.withConnection { connection in
            try connection.execute("BEGIN")
            return try connection.query("SELECT pg_backend_pid()::bigint")[0].int64(0)
        }
        let next: Int64 = try pool.withConnection { connection in
            #expect(connection.isReusable)
            return try connection.query("SELECT pg_backend_pid()::bigint")[0].int64(0)
        }
        #expect(next != leaked)
    }

    @Test func closedPoolRefusesLoans() throws {
        let pool = pool(size: 1)
        try pool.withConnection { try $0.execute("SELECT 1") }
        pool.close()
        #expect(throws: PostgresError.self) { try pool.withConnection { _ in } }
    }
}
