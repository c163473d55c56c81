import FoundationEssentials
import HTTP
import JSON

/// The image and tag endpoints (DATAPLANE.md §1): parse and check the request, call the
/// repository, render. There is no create: images and tags come into being only by a push.
///
/// Writes and listings pass their organization's admission, as the namespace endpoints do, and
/// every write runs in a `ChangeTransaction` (Idempotency-Key, audit record); single-resource
/// answers carry an `ETag`, and `If-Match` / `If-None-Match` work as on namespaces.
public struct ImageAPI: Sendable {
    static let imagesPath = "/registry/v1/regions/{region}/images"
    static let imagePath = "/registry/v1/regions/{region}/images/{image_id}"
    static let imageTagsPath = "/registry/v1/regions/{region}/images/{image_id}/tags"
    static let tagPath = "/registry/v1/regions/{region}/tags/{tag_id}"

    let repository: ImageRepository
    let settings: RegistrySettings
    let admission: TenantAdmission
    /// Runs each write with its stored idempotent response and audit record.
    var transaction: ChangeTransaction { ChangeTransaction(database: repository.database) }

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
        return .page("images", result.images, totalCount: result.totalCount, bytesPerItem: 400) { $0.write(to: &$1) }
    }

    func get(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        guard let image = try await repository.findImage(id: id, region: region, caller: caller) else {
            throw APIError.notFound("image", id: id.lowercasedString)
        }
        return EntityTag.answer(request, etag: image.etag) { Self.render(image) }
    }

    /// PATCH: only `visibility`; absent, null or `visibility_unknown` (what the Go SDK sends when
    /// unset) change nothing and answer the image as it is (still subject to `If-Match`).
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
        let condition = EntityTag.ifMatch(request.header("If-Match"))
        let change = visibility
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                let outcome = try ImageRepository.updateVisibility(
                    id: id, region: region, caller: caller, to: change, condition: condition, on: connection)
                switch outcome {
                case .changed(let image): return Self.render(image)
                case .notFound: throw APIError.notFound("image", id: id.lowercasedString)
                case .deleting(let image):
                    throw APIError.transientState("image", id: id.lowercasedString, state: image.status.rawValue)
                case .preconditionFailed: throw APIError.preconditionFailed("image", id: id.lowercasedString)
                }
            }
        }
    }

    func delete(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request, "image_id")
        let condition = EntityTag.ifMatch(request.header("If-Match"))
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                switch try ImageRepository.markImageDeleting(id: id, region: region, caller: caller, condition: condition, on: connection) {
                case .changed(let image), .deleting(let image): return Self.render(image)
                case .notFound: throw APIError.notFound("image", id: id.lowercasedString)
                case .preconditionFailed: throw APIError.preconditionFailed("image", id: id.lowercasedString)
                }
            }
        }
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

    /// The image as one resource: its JSON, and its `ETag` for conditional requests.
    static func render(_ image: Image) -> Response {
        EntityTag.tagged(.json(capacity: 512) { json in image.write(to: &json) }, etag: image.etag)
    }
}
