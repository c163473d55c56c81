import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct ConnectionTests {
    let database: TestDatabase

    init() throws {
        database = try TestDatabase(migrated: false)
    }

    @Test func readsEveryTypeInBinaryFormat() throws {
        let connection = try Connection(connectionString: database.url)
        let id = UUID()
        let row = try #require(try connection.query(
            """
            SELECT $1::uuid, 'text ünïcode'::text, true, false, 9223372036854775807::bigint, -42::int, 7::smallint,
                   '2026-07-17T09:50:00.638933Z'::timestamptz, '1969-12-31T23:59:59.999999Z'::timestamptz, NULL::text
            """, [id]).first)
        #expect(try row.uuid(0) == id)
        #expect(try row.string(1) == "text ünïcode")
        #expect(try row.bool(2) == true)
        #expect(try row.bool(3) == false)
        #expect(try row.int64(4) == Int64.max)
        #expect(try row.int64(5) == -42)
        #expect(try row.int64(6) == 7)
        #expect(try row.timestamp(7) == 1_784_281_800_638_933)
        #expect(try row.timestamp(8) == -1)
        #expect(row.isNull(9))
        #expect(try row.optionalString(9) == nil)
    }

    @Test func infiniteAndFarTimestampsDecodeToTheBoundsInsteadOfTrapping() throws {
        let connection = try Connection(connectionString: database.url)
        let row = try #require(try connection.query(
            """
            SELECT 'infinity'::timestamptz, '-infinity'::timestamptz, '294276-12-31 23:59:59.999999+00'::timestamptz,
                   '0001-01-01 00:00:00+00'::timestamptz, 'infinity'::timestamp
            """).first)
        #expect(try row.timestamp(0) == Int64.max)
        #expect(try row.timestamp(1) == Int64.min)
        #expect(try row.timestamp(2) == Int64.max)  // finite, but past what Int64 holds from 1970
        #expect(try row.timestamp(3) == -62_135_596_800_000_000)
        #expect(try row.timestamp(4) == Int64.max)
    }

    @Test func wrongTypeOrNullIsAnErrorNotAGuess() throws {
        let connection = try Connection(connectionString: database.url)
        let row = try #require(try connection.query("SELECT 1::int, NULL::uuid").first)
        #expect(throws: PostgresError.self) { try row.string(0) }
        #expect(throws: PostgresError.self) { try row.uuid(1) }
        #expect(throws: PostgresError.self) { try row.bool(5) }
    }

    @Test func parametersAreBoundNeverPasted() throws {
        let connection = try Connection(connectionString: database.url)
        let hostile = "'; DROP TABLE x; --"
        #expect(try connection.query("SELECT $1::text", [hostile])[0].string(0) == hostile)
        #expect(try connection.query("SELECT $1::text IS NULL", [nil])[0].bool(0))
        #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["nul\u{0}byte"]) }
    }

    @Test func serverErrorsCarryTheirSQLStateButNotInTheirDescription() throws {
        let connection = try Connection(connectionString: database.url)
        try connection.execute("CREATE TABLE unique_things (name text PRIMARY KEY)")
        try connection.query("INSERT INTO unique_things VALUES ($1)", ["secret-looking-value"])
        do {
            try connection.query("INSERT INTO unique_things VALUES ($1)", ["secret-looking-value"])
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.isUniqueViolation)
            #expect(error.sqlState == "23505")
            #expect(!error.description.contains("secret-looking-value"))
            #expect(error.detail.contains("secret-looking-value"))
            #expect(!error.isUnavailable)
        }
        #expect(connection.isReusable)
    }

    @Test func transactionCommitsOrRollsBack() throws {
        let connection = try Connection(connectionString: database.url)
        try connection.execute("CREATE TABLE ledger (amount int)")
        try connection.withTransaction { try $0.query("INSERT INTO ledger VALUES ($1)", [1]) }
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try connection.withTransaction { connection in
                try connection.query("INSERT INTO ledger VALUES ($1)", [2])
                throw Abort()
            }
        }
        #expect(try connection.query("SELECT count(*) FROM ledger")[0].int64(0) == 1)
        #expect(connection.isReusable)
    }

    @Test func unreachableServerFailsFastAsUnavailable() throws {
        do {
            _ = try Connection(connectionString: "postgresql://nobody@/nothing?host=/nonexistent-socket-dir", connectTimeoutSeconds: 2)
            Issue.record("connected to nothing")
        } catch {
            #expect(error.isUnavailable)
            #expect(error.description == "could not connect to the database")
        }
    }
}
