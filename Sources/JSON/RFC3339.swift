/// RFC 3339 timestamps as the API writes them: UTC, `Z`, six fractional digits
/// (`2026-07-17T09:50:00.638933Z`), which is what the Scaleway SDKs parse.
public enum RFC3339 {
    /// Formats microseconds since 1970-01-01T00:00:00Z.
    public static func format(microsecondsSinceEpoch micros: Int64) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(27)
        append(microsecondsSinceEpoch: micros, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The first and last instants a four-digit year can write: 0001-01-01T00:00:00.000000Z and
    /// 9999-12-31T23:59:59.999999Z.
    public static let representable: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999

    /// Appends the formatted timestamp's 27 bytes to `bytes`.
    ///
    /// Total: an instant outside `representable` (such as PostgreSQL's `infinity`, read as
    /// `Int64.max`) is written as the nearest bound, so that clients that parse RFC 3339 still can.
    public static func append(microsecondsSinceEpoch unclamped: Int64, to bytes: inout [UInt8]) {
        let micros = min(max(unclamped, representable.lowerBound), representable.upperBound)
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = Int(micros - seconds * 1_000_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        // Formatted in a buffer on the stack and appended in one piece: 27 appends to the array,
        // each with its uniqueness and capacity check, showed in the listing's profile.
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &text) { buffer in
            put(Int(year), width: 4, at: 0, in: buffer)
            buffer[4] = UInt8(ascii: "-")
            put(month, width: 2, at: 5, in: buffer)
            buffer[7] = UInt8(ascii: "-")
            put(day, width: 2, at: 8, in: buffer)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, width: 2, at: 11, in: buffer)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, width: 2, at: 14, in: buffer)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, width: 2, at: 17, in: buffer)
            buffer[19] = UInt8(ascii: ".")
            put(fraction, width: 6, at: 20, in: buffer)
            buffer[26] = UInt8(ascii: "Z")
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<27]))
        }
    }

    /// Year, month and day of the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Writes `value`'s last `width` decimal digits, zero-padded, at `offset`.
    private static func put(_ value: Int, width: Int, at offset: Int, in buffer: UnsafeMutableRawBufferPointer) {
        var rest = value
        for position in stride(from: offset + width - 1, through: offset, by: -1) {
            buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }
}
