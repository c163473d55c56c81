import HTTP
import JSON

extension Response {
    /// A listing's answer, as every Scaleway list endpoint shapes it: `{"<key>": [items],
    /// "total_count": n}`; `bytesPerItem` sizes the buffer once.
    static func page<Item>(
        _ key: String, _ items: [Item], totalCount: Int64, bytesPerItem: Int,
        _ write: (Item, inout JSONWriter) -> Void
    ) -> Response {
        .json(capacity: 256 + items.count * bytesPerItem) { json in
            json.beginObject()
            json.key(key)
            json.beginArray()
            for item in items { write(item, &json) }
            json.endArray()
            json.field("total_count", totalCount)
            json.endObject()
        }
    }
}
