import Foundation
import JSON
import Synchronization
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

    /// 100,000 keys: 5e9 string comparisons for the quadratic check (many minutes of CPU in a
    /// debug build), a fraction of a second for a hashed one. The parse runs on a thread of its
    /// own so that a quadratic parser fails the test at the generous deadline instead of hanging it.
    @Test func parsesAHugeObjectAndFindsTheDuplicateAtItsEnd() async throws {
        let outcome = Mutex<(members: Int, duplicateFound: Bool)?>(nil)
        let thread = Thread {
            guard case .object(let object)? = try? JSONParser.parse(Self.object(keys: 100_000)) else { return }
            var duplicateFound = false
            do {
                _ = try JSONParser.parse(Self.object(keys: 100_000, extra: ",\"k12345\":1"))
            } catch let error as JSONParseError {
                duplicateFound = error.reason.hasPrefix("duplicate key")
            } catch {}
            outcome.withLock { $0 = (object.members.count, duplicateFound) }
        }
        thread.start()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, outcome.withLock({ $0 }) == nil {
            try await Task.sleep(for: .milliseconds(20))
        }
        let result = try #require(outcome.withLock { $0 }, "100,000 keys not parsed within 60 s")
        #expect(result.members == 100_000)
        #expect(result.duplicateFound)
    }

    @Test func duplicatesAreFoundPerObjectNotAcrossObjects() throws {
        let nested = Array(#"{"a":{"a":1,"b":2},"b":{"a":3}}"#.utf8)
        #expect(throws: Never.self) { try JSONParser.parse(nested) }
        let duplicated = Array(#"{"a":{"x":1,"x":2}}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(duplicated) }
    }
}
