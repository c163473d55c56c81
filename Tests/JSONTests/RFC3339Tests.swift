import JSON
import Testing

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(1_784_281_800_638_933), "2026-07-17T09:50:00.638933Z"),
        (Int64(951_782_400_000_000), "2000-02-29T00:00:00.000000Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999Z"),
        (Int64(253_402_300_799_999_999), "9999-12-31T23:59:59.999999Z"),
        (Int64(4_107_542_400_000_001), "2100-03-01T00:00:00.000001Z"),
        (Int64(-62_135_596_800_000_000), "0001-01-01T00:00:00.000000Z"),
        // Beyond four-digit years, PostgreSQL's infinity and -infinity included: the nearest bound.
        (Int64(253_402_300_800_000_000), "9999-12-31T23:59:59.999999Z"),
        (Int64.max, "9999-12-31T23:59:59.999999Z"),
        (Int64.min, "0001-01-01T00:00:00.000000Z"),
    ])
    func formatsMicrosecondsInUTC(micros: Int64, text: String) {
        #expect(RFC3339.format(microsecondsSinceEpoch: micros) == text)
    }
}
