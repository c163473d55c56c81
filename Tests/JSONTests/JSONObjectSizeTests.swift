import JSON
import Testing

/// Objects with many keys: the duplicate check must stay linear, and still catch duplicates.
@Suite struct JSONObjectSizeTests {
    /// `{"k0":0,"k1":1,...}` with `count` keys, then `extra` as one more member.
    private static func object(keys count: Int, extra: String = "") -> [UInt8] {
        var text = "{"
        text.reserveCapacity(count * 14)
        for index in 0..<count {
            if index > 0 { text += "," }
            text += "\"k\(index)\":\(index)"
        }
        text += extra + "}"
        return Array(text.utf8)
    }

    @Test func parsesTheReviewsBodyOf6663Keys() throws {
        guard case .object(let object) = try JSONParser.parse(Self.object(keys: 6663)) else {
            Issue.record("not an object")
            return
        }
        #expect(object.members.count == 6663)
        #expect(object["k6662"] == .number("6662"))
    }

    /// 300,000 keys: 4.5e10 string comparisons for the quadratic check (minutes of CPU), well
    /// under a second for a hashed one; the time limit is what would fail, not a timing assertion.
    @Test(.timeLimit(.minutes(1)))
    func parsesAHugeObjectAndFindsTheDuplicateAtItsEnd() throws {
        guard case .object(let object) = try JSONParser.parse(Self.object(keys: 300_000)) else {
            Issue.record("not an object")
            return
        }
        #expect(object.members.count == 300_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Self.object(keys: 300_000, extra: ",\"k12345\":1")) }
    }

    @Test func duplicatesAreFoundPerObjectNotAcrossObjects() throws {
        let nested = Array(#"{"a":{"a":1,"b":2},"b":{"a":3}}"#.utf8)
        #expect(throws: Never.self) { try JSONParser.parse(nested) }
        let duplicated = Array(#"{"a":{"x":1,"x":2}}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(duplicated) }
    }
}
