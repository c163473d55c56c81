import FoundationEssentials
import HTTP
import JSON

extension ImageAPI {
    /// `GET /images/{image_id}/tags`: a page of the image's tags, filter `name` (exact).
    func listTags(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        var query = QueryArguments(request)
        let page = Self.page(&query)
        let order = query.choice("order_by", default: ContentOrder.default)
        let name = query.string("name")
        if !query.problems.isEmpty { throw APIError.invalidArguments(query.problems) }
        let listed = try await admission.list(caller.organizationID) {
            try await repository.listTags(imageID: id, region: region, caller: caller, name: name, page: page, order: order)
        }
        guard let result = listed else { throw APIError.notFound("image", id: id.lowercasedString) }
        return .page("tags", result.tags, totalCount: result.totalCount, bytesPerItem: 300) { $0.write(to: &$1) }
    }

    func getTag(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "tag_id")
        guard let tag = try await repository.findTag(id: id, region: region, caller: caller) else {
            throw APIError.notFound("tag", id: id.lowercasedString)
        }
        return EntityTag.answer(request, etag: tag.etag) { Self.render(tag) }
    }

    /// `DELETE /tags/{tag_id}[?force=true]`: marks the tag `deleting`; the reconciler's thread
    /// removes that tag alone from the registry, then the row. Refused (412) when another tag of
    /// the image names the same digest, unless `force`, which deletes those tags too; and (412)
    /// when `If-Match` names no version the tag is at.
    func deleteTag(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "tag_id")
        var query = QueryArguments(request)
        let force = query.bool("force", default: false)
        if !query.problems.isEmpty { throw APIError.invalidArguments(query.problems) }
        let condition = EntityTag.ifMatch(request.header("If-Match"))
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                let outcome = try ImageRepository.markTagDeleting(
                    id: id, region: region, caller: caller, force: force, condition: condition, on: connection)
                switch outcome {
                case .marked(let tag):
                    return Self.render(tag)
                case .notFound:
                    throw APIError.notFound("tag", id: id.lowercasedString)
                case .preconditionFailed:
                    throw APIError.preconditionFailed("tag", id: id.lowercasedString)
                case .sharedDigest(let tag, let siblings):
                    let names = siblings.map { "\"\($0)\"" }.joined(separator: ", ")
                    throw APIError.preconditionFailed(
                        "resource_still_in_use",
                        help: "tag \"\(tag.name)\" shares digest \(tag.digest) with tag(s) \(names); delete with force=true to delete them all")
                }
            }
        }
    }

    /// The tag as one resource: its JSON, and its `ETag` for conditional requests.
    static func render(_ tag: Tag) -> Response {
        EntityTag.tagged(.json(capacity: 384) { json in tag.write(to: &json) }, etag: tag.etag)
    }
}
