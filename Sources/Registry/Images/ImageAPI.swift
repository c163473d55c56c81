import FoundationEssentials
import HTTP
import JSON

/// The image and tag endpoints (DATAPLANE.md §1): parse and check the request, call the
/// repository, render. There is no create: images and tags come into being only by a push.
///
/// Writes and listings pass their organization's admission, as the namespace endpoints do.
public struct ImageAPI: Sendable {
    static let imagesPath = "/registry/v1/regions/{region}/images"
    static let imagePath = "/registry/v1/regions/{region}/images/{image_id}"
    static let imageTagsPath = "/registry/v1/regions/{region}/images/{image_id}/tags"
    static let tagPath = "/registry/v1/regions/{region}/tags/{tag_id}"

    let repository: ImageRepository
    let settings: RegistrySettings
    let admission: TenantAdmission

    /// The endpoints over `repository`; `admission` is shared with the namespace endpoints, so one
    /// organization's image listings and writes queue with its namespace ones.
    public init(repository: ImageRepository, settings: RegistrySettings, admission: TenantAdmission = TenantAdmission()) {
        self.repository = repository
        self.settings = settings
        self.admission = admission
    }

    // MARK: - Images

    func list(_ request: Request, caller: Caller) async throws -> Response {
        let region = try settings.validRegion(request.pathParameter("region"))
        var query = QueryArguments(request)
        let page = Self.page(&query)
        let order = query.choice("order_by", default: ContentOrder.default)
        let organizationID = query.uuid("organization_id")
        let projectID = query.uuid("project_id")
        let namespaceID = query.uuid("namespace_id")
        let name = query.string("name")
        if !query.problems.isEmpty { throw APIError.invalidArguments(query.problems) }
        if let organizationID, organizationID != caller.organizationID {
            throw APIError.permissionsDenied("image", action: "read")
        }
        if let scoped = caller.projectID, let projectID, projectID != scoped {
            throw APIError.permissionsDenied("image", action: "read")
        }
        let filter = ImageFilter(region: region, organizationID: caller.organizationID,
                                 projectID: projectID ?? caller.projectID, namespaceID: namespaceID, name: name)
        let result = try await admission.list(caller.organizationID) {
            try await repository.listImages(filter: filter, page: page, order: order)
        }
        return .json(capacity: 256 + result.images.count * 400) { json in
            json.beginObject()
            json.key("images")
            json.beginArray()
            for image in result.images { image.write(to: &json) }
            json.endArray()
            json.field("total_count", result.totalCount)
            json.endObject()
        }
    }

    func get(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        guard let image = try await repository.findImage(id: id, region: region, caller: caller) else {
            throw APIError.notFound("image", id: id.lowercasedString)
        }
        return Self.render(image)
    }

    /// PATCH: only `visibility`; absent, null or `visibility_unknown` (what the Go SDK sends when
    /// unset) change nothing and answer the image as it is.
    func update(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        var body = try BodyArguments(parsing: request.body)
        let text = body.string("visibility")
        var visibility: Image.Visibility?
        if let text, text != "visibility_unknown" {
            visibility = Image.Visibility(rawValue: text)
            if visibility == nil {
                body.add(ArgumentError("visibility", .constraint, "must be one of: visibility_unknown, inherit, public, private"))
            }
        }
        try body.throwIfInvalid()
        guard let visibility else { return try await get(request, caller: caller) }
        let outcome = try await admission.write(caller.organizationID) {
            try await repository.updateVisibility(id: id, region: region, caller: caller, to: visibility)
        }
        switch outcome {
        case .changed(let image): return Self.render(image)
        case .notFound: throw APIError.notFound("image", id: id.lowercasedString)
        case .deleting(let image): throw APIError.transientState("image", id: id.lowercasedString, state: image.status.rawValue)
        }
    }

    func delete(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        let marked = try await admission.write(caller.organizationID) {
            try await repository.markImageDeleting(id: id, region: region, caller: caller)
        }
        guard let image = marked else { throw APIError.notFound("image", id: id.lowercasedString) }
        return Self.render(image)
    }

    // MARK: - Shared

    /// `page` and `page_size`, as the namespace listing reads them.
    static func page(_ query: inout QueryArguments) -> PageRequest {
        let page = query.integer("page", in: 1...PageRequest.maximumPage, default: 1)
        let size = query.integer("page_size", in: 1...PageRequest.maximumSize, default: PageRequest.defaultSize)
        return PageRequest(page: page, size: size)
    }

    /// The region and the id named `parameter` of an item path, both checked.
    func target(_ request: Request, _ parameter: String) throws -> (String, UUID) {
        let region = try settings.validRegion(request.pathParameter("region"))
        guard let id = UUID(canonical: request.pathParameter(parameter) ?? "") else {
            throw APIError.invalidArguments([.notAUUID(parameter)])
        }
        return (region, id)
    }

    static func render(_ image: Image) -> Response {
        .json(capacity: 512) { json in image.write(to: &json) }
    }
}
