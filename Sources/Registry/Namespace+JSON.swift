import JSON

extension Namespace {
    /// Writes the namespace as the API returns it, fields in the order of Scaleway's documentation.
    ///
    /// - Parameter endpointHost: the registry host of the namespace's region (`rg.fr-par.scw.cloud`).
    func write(to json: inout JSONWriter, endpointHost: String) {
        json.beginObject()
        json.field("id", uuid: id.uuid)
        json.field("name", name)
        json.field("description", description)
        json.field("organization_id", uuid: organizationID.uuid)
        json.field("project_id", uuid: projectID.uuid)
        json.field("status", status.rawValue)
        json.field("status_message", statusMessage)
        json.field("endpoint", endpointHost, "/", name)
        json.field("is_public", isPublic)
        json.field("size", size)
        json.field("created_at", timestamp: createdAt)
        json.field("updated_at", timestamp: updatedAt)
        json.field("image_count", imageCount)
        json.field("region", region)
        json.endObject()
    }
}
