import JSON
import Testing

@Suite struct JSONWriterTests {
    @Test func writesCompactJSONInOrder() {
        var json = JSONWriter()
        json.beginObject()
        json.field("b", "x")
        json.field("a", 1)
        json.key("list")
        json.beginArray()
        json.bool(true)
        json.null()
        json.beginObject()
        json.endObject()
        json.endArray()
        json.field("z", false)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"b":"x","a":1,"list":[true,null,{}],"z":false}"#)
    }

    @Test func escapesWhatJSONRequires() throws {
        let tricky = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} del\u{7F} é 😀 \u{2028}"
        var json = JSONWriter()
        json.beginArray()
        json.string(tricky)
        json.endArray()
        let parsed = try JSONParser.parse(json.bytes)
        #expect(parsed == .array([.string(tricky)]))
        #expect(!json.bytes.contains { $0 < 0x20 })
    }

    @Test func escapesAtEitherEndAndBetweenRuns() throws {
        for text in ["", "\"", "a\"", "\"a", "\\\\", "\n\n", "plain", "a\u{1}b\u{1F}c", "é\"é"] {
            var json = JSONWriter()
            json.beginArray()
            json.string(text)
            json.endArray()
            #expect(try JSONParser.parse(json.bytes) == .array([.string(text)]), "\(text)")
        }
    }

    @Test func writesIntegersOfEveryWidthAndSign() {
        var json = JSONWriter()
        json.beginArray()
        json.int(Int64.min)
        json.int(Int64.max)
        json.int(-1)
        json.int(0)
        json.int(Int8.min)
        json.int(UInt64.max)
        json.int(1_000_000)
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self)
            == "[-9223372036854775808,9223372036854775807,-1,0,-128,18446744073709551615,1000000]")
    }

    @Test func writesUUIDsAndJoinedStringsWithoutIntermediateStrings() throws {
        var json = JSONWriter()
        json.beginObject()
        json.field("id", uuid: (0x77, 0xE9, 0x1A, 0x59, 0xAA, 0x35, 0x4D, 0x6D, 0xAE, 0x0F, 0xCC, 0xF1, 0x5A, 0xC8, 0x06, 0x39))
        json.field("endpoint", "rg.fr-par.scw.cloud", "/", "team\"a")
        json.field("n", 7)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self)
            == #"{"id":"77e91a59-aa35-4d6d-ae0f-ccf15ac80639","endpoint":"rg.fr-par.scw.cloud/team\"a","n":7}"#)
    }
}
