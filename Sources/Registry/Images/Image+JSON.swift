import JSON

extension Image {
    /// Writes the image as the API returns it (DATAPLANE.md §1).
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", uuid: id.uuid)
        json.field("name", name)
        json.field("namespace_id", uuid: namespaceID.uuid)
        json.field("status", status.rawValue)
        json.field("status_message", statusMessage)
        json.field("visibility", visibility.rawValue)
        json.field("size", size)
        json.field("created_at", timestamp: createdAt)
        json.field("updated_at", timestamp: updatedAt)
        json.key("tags")
        json.beginArray()
        for tag in tags { json.string(tag) }
        json.endArray()
        json.endObject()
    }
}

extension Tag {
    /// Writes the tag as the API returns it (DATAPLANE.md §1).
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", uuid: id.uuid)
        json.field("name", name)
        json.field("image_id", uuid: imageID.uuid)
        json.field("status", status.rawValue)
        json.field("digest", digest)
        json.field("created_at", timestamp: createdAt)
        json.field("updated_at", timestamp: updatedAt)
        json.endObject()
    }
}
