import JSON
import Testing

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"s":"a\"b\\c\/d\u00e9\ud83d\ude00\n","n":-12.5e+3,"t":true,"f":false,"z":null,"a":[1,[],{}]} "#)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object["s"] == .string("a\"b\\c/dé😀\n"))
        #expect(object["n"] == .number("-12.5e+3"))
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["z"] == .null)
        #expect(object["a"] == .array([.number("1"), .array([]), .object(JSONObject())]))
        #expect(object.members.map(\.key) == ["s", "n", "t", "f", "z", "a"])
    }

    @Test func keepsHugeNumbersAsText() throws {
        #expect(try parse("123456789012345678901234567890e999999") == .number("123456789012345678901234567890e999999"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "'x'", "01", "1.", ".5", "-", "1e", "+1",
        "tru", "nul", "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"tab\there\"", "{\"a\":1}{", "[1] 2", "{\"k\":1,\"k\":2}", "NaN", "Infinity",
    ])
    func refusesInvalidDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
    }

    @Test func refusesNestingDeeperThanTheLimit() throws {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect(throws: Never.self) { try parse(deep) }
        let tooDeep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try parse(tooDeep) }
    }

    @Test func skipsAByteOrderMark() throws {
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("true".utf8)) == .bool(true))
    }

    @Test func errorSaysWhere() {
        do {
            _ = try JSONParser.parse(Array("{\"a\" 1}".utf8))
        } catch {
            #expect(error.offset == 5)
            #expect(error.description == "malformed JSON at byte 5: expected ':'")
        }
    }
}
