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
}
