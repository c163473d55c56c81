import CLibPQ
import FoundationEssentials

/// One row of a `QueryResult`, read column by column in binary format.
///
/// Each accessor checks the column's type OID, so a query and its reader cannot silently
/// disagree; a NULL where the accessor promises a value is an error, the `optional…` forms
/// return nil for it.
public struct Row {
    let result: QueryResult
    let index: Int32

    // MARK: - Values

    /// A `text`, `varchar`, `name` or `json` column.
    public func string(_ column: Int) throws(PostgresError) -> String {
        let bytes = try value(column, types: [Self.textOID, Self.varcharOID, Self.nameOID, Self.jsonOID])
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A `text` column that may be NULL.
    public func optionalString(_ column: Int) throws(PostgresError) -> String? {
        isNull(column) ? nil : try string(column)
    }

    /// A `uuid` column.
    public func uuid(_ column: Int) throws(PostgresError) -> UUID {
        let bytes = try value(column, types: [Self.uuidOID], length: 16)
        let b = bytes
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                           b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    /// A `uuid` column that may be NULL.
    public func optionalUUID(_ column: Int) throws(PostgresError) -> UUID? {
        isNull(column) ? nil : try uuid(column)
    }

    /// A `boolean` column.
    public func bool(_ column: Int) throws(PostgresError) -> Bool {
        try value(column, types: [Self.boolOID], length: 1)[0] != 0
    }

    /// A `bigint`, `integer` or `smallint` column.
    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        let oid = PQftype(result.handle, Int32(column))
        let length = oid == Self.int8OID ? 8 : oid == Self.int4OID ? 4 : 2
        let bytes = try value(column, types: [Self.int8OID, Self.int4OID, Self.int2OID], length: length)
        var number: Int64 = bytes[0] & 0x80 != 0 ? -1 : 0
        for byte in bytes { number = number << 8 | Int64(byte) }
        return number
    }

    /// A `timestamptz` or `timestamp` column, as microseconds since 1970-01-01T00:00:00Z.
    ///
    /// Total: `infinity` is `Int64.max` and `-infinity` is `Int64.min` (so an `expires_at` of
    /// `infinity` compares as never reached, `-infinity` as long past), and a finite value too far
    /// out to shift to the Unix epoch saturates to the same bounds (PostgreSQL allows years up to
    /// 294276, a few hundred thousand microseconds' worth of `Int64` beyond what fits).
    public func timestamp(_ column: Int) throws(PostgresError) -> Int64 {
        let bytes = try value(column, types: [Self.timestamptzOID, Self.timestampOID], length: 8)
        var micros: Int64 = 0
        for byte in bytes { micros = micros << 8 | Int64(byte) }
        if micros == .max || micros == .min { return micros }  // PostgreSQL's infinity, -infinity
        let (shifted, overflow) = micros.addingReportingOverflow(Self.postgresEpochOffsetMicros)
        return overflow ? .max : shifted
    }

    /// A `timestamptz` column that may be NULL.
    public func optionalTimestamp(_ column: Int) throws(PostgresError) -> Int64? {
        isNull(column) ? nil : try timestamp(column)
    }

    /// Whether the column holds SQL NULL.
    public func isNull(_ column: Int) -> Bool {
        PQgetisnull(result.handle, index, Int32(column)) == 1
    }

    // MARK: - Private

    private static let boolOID: Oid = 16
    private static let nameOID: Oid = 19
    private static let int8OID: Oid = 20
    private static let int2OID: Oid = 21
    private static let int4OID: Oid = 23
    private static let textOID: Oid = 25
    private static let jsonOID: Oid = 114
    private static let varcharOID: Oid = 1043
    private static let timestampOID: Oid = 1114
    private static let timestamptzOID: Oid = 1184
    private static let uuidOID: Oid = 2950
    /// PostgreSQL counts time from 2000-01-01; the API from 1970-01-01.
    private static let postgresEpochOffsetMicros: Int64 = 946_684_800_000_000

    private func value(_ column: Int, types: [Oid], length: Int? = nil) throws(PostgresError) -> UnsafeBufferPointer<UInt8> {
        let columnIndex = Int32(column)
        guard column >= 0, columnIndex < PQnfields(result.handle) else {
            throw .unexpectedResult("column \(column) does not exist")
        }
        let oid = PQftype(result.handle, columnIndex)
        guard types.contains(oid) else {
            throw .unexpectedResult("column \(column) has type OID \(oid), expected one of \(types)")
        }
        guard PQgetisnull(result.handle, index, columnIndex) == 0 else {
            throw .unexpectedResult("column \(column) is NULL")
        }
        let count = Int(PQgetlength(result.handle, index, columnIndex))
        if let length, count != length {
            throw .unexpectedResult("column \(column) holds \(count) bytes, expected \(length)")
        }
        let pointer = UnsafeRawPointer(PQgetvalue(result.handle, index, columnIndex)!)
        return UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
