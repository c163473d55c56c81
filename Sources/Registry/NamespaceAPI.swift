import FoundationEssentials
import HTTP
import JSON
import Log
import Postgres

/// The five namespace endpoints: parse and check the request, call the repository, render.
///
/// Every write and every listing first passes its organization's admission (`TenantAdmission`),
/// so that one organization's flood waits in its own queue rather than in everyone's.
public struct NamespaceAPI: Sendable {
    static let collectionPath = "/registry/v1/regions/{region}/namespaces"
    static let itemPath = "/registry/v1/regions/{region}/namespaces/{namespace_id}"

    let repository: NamespaceRepository
    let settings: RegistrySettings
    /// The most namespaces one organization may hold, across regions.
    let quota: Int
    /// The per-organization limits on writes and listings.
    let admission: TenantAdmission
    /// Runs each write with its stored idempotent response and audit record.
    var transaction: ChangeTransaction { ChangeTransaction(database: repository.database) }

    public init(repository: NamespaceRepository, settings: RegistrySettings, quota: Int,
                admission: TenantAdmission = TenantAdmission()) {
        self.repository = repository
        self.settings = settings
        self.quota = quota
        self.admission = admission
    }

    // MARK: - Endpoints

    func list(_ request: Request, caller: Caller) async throws -> Response {
        let region = try settings.validRegion(request.pathParameter("region"))
        var query = QueryArguments(request)
        var page = query.integer("page", in: 1...PageRequest.maximumPage, default: 1)
        let pageSize = query.integer("page_size", in: 1...PageRequest.maximumSize, default: PageRequest.defaultSize)
        var order = query.choice("order_by", default: NamespaceOrder.default)
        let organizationID = query.uuid("organization_id")
        let projectID = query.uuid("project_id")
        let name = query.string("name")
        let cursor = Self.continuation(&query, region: region, caller: caller)
        if !query.problems.isEmpty { throw APIError.invalidArguments(query.problems) }
        if let cursor { (page, order) = (cursor.page, cursor.order) }

        if let organizationID, organizationID != caller.organizationID {
            throw APIError.permissionsDenied("namespace", action: "read")
        }
        if let scoped = caller.projectID, let projectID, projectID != scoped {
            throw APIError.permissionsDenied("namespace", action: "read")
        }
        let filter = NamespaceFilter(
            region: region, organizationID: caller.organizationID, projectID: projectID ?? caller.projectID, name: name)
        let result = try await admission.list(caller.organizationID) {
            try await repository.list(filter: filter, page: PageRequest(page: page, size: pageSize), order: order, after: cursor)
        }
        var response = Response.page("namespaces", result.namespaces, totalCount: result.totalCount, bytesPerItem: 512) {
            $0.write(to: &$1, endpointHost: settings.endpointHost(for: $0.region))
        }
        if let last = result.namespaces.last, result.namespaces.count == pageSize, page < PageRequest.maximumPage {
            let next = NamespaceCursor(after: last, order: order, page: page + 1)
            response.headers.append((name: "X-Next-Page-Token", value: next.token))
        }
        return response
    }

    func create(_ request: Request, caller: Caller) async throws -> Response {
        let region = try settings.validRegion(request.pathParameter("region"))
        var body = try BodyArguments(parsing: request.body)
        let name = body.string("name")
        let description = body.string("description") ?? ""
        let isPublic = body.bool("is_public") ?? false
        let projectID = body.uuid("project_id")
        let organizationID = body.uuid("organization_id")
        if let name, !name.isEmpty {
            body.add(NamespaceRules.nameProblem(name))
        } else if body.problems.allSatisfy({ $0.name != "name" }) {
            body.add(ArgumentError("name", .required, "a namespace needs a name"))
        }
        body.add(NamespaceRules.descriptionProblem(description))
        if projectID != nil && organizationID != nil {
            body.add(ArgumentError("project_id", .constraint, "give project_id or organization_id (deprecated), not both"))
        }
        try body.throwIfInvalid()

        let project = try await resolveProject(projectID: projectID, organizationID: organizationID, caller: caller)
        let namespace = NewNamespace(
            region: region, name: name!, description: description,
            organizationID: caller.organizationID, projectID: project, isPublic: isPublic)
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                switch try NamespaceRepository.create(namespace, quota: quota, on: connection) {
                case .created(let created):
                    return render(created)
                case .nameTaken:
                    throw APIError.conflict("namespace", help: "a namespace named \"\(namespace.name)\" already exists in \(region)")
                case .quotaExceeded(let current):
                    throw APIError.quotaExceeded("namespaces", quota: quota, current: current)
                }
            }
        }
    }

    func get(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request)
        guard let namespace = try await repository.find(id: id, region: region, caller: caller) else {
            throw APIError.notFound("namespace", id: id.lowercasedString)
        }
        return EntityTag.answer(request, etag: namespace.etag) { render(namespace) }
    }

    func update(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request)
        var body = try BodyArguments(parsing: request.body)
        let changes = NamespaceChanges(description: body.string("description"), isPublic: body.bool("is_public"))
        if let description = changes.description { body.add(NamespaceRules.descriptionProblem(description)) }
        try body.throwIfInvalid()
        let condition = EntityTag.ifMatch(request.header("If-Match"))
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                let outcome = try NamespaceRepository.update(
                    id: id, region: region, caller: caller, changes: changes, condition: condition, on: connection)
                switch outcome {
                case .updated(let namespace):
                    return render(namespace)
                case .notFound:
                    throw APIError.notFound("namespace", id: id.lowercasedString)
                case .deleting(let namespace):
                    throw APIError.transientState("namespace", id: id.lowercasedString, state: namespace.status.rawValue)
                case .preconditionFailed:
                    throw APIError.preconditionFailed("namespace", id: id.lowercasedString)
                }
            }
        }
    }

    func delete(_ request: Request, caller: Caller) async throws -> Response {
        let (region, id) = try target(request)
        let condition = EntityTag.ifMatch(request.header("If-Match"))
        return try await admission.write(caller.organizationID) {
            try await transaction.run(request, caller: caller) { connection in
                switch try NamespaceRepository.markDeleting(id: id, region: region, caller: caller, condition: condition, on: connection) {
                case .marked(let namespace):
                    return render(namespace)
                case .notFound:
                    throw APIError.notFound("namespace", id: id.lowercasedString)
                case .preconditionFailed:
                    throw APIError.preconditionFailed("namespace", id: id.lowercasedString)
                }
            }
        }
    }

    // MARK: - Private

    /// The region and namespace id of an item path, both checked.
    private func target(_ request: Request) throws -> (String, UUID) {
        let region = try settings.validRegion(request.pathParameter("region"))
        let text = request.pathParameter("namespace_id") ?? ""
        guard let id = UUID(canonical: text) else {
            throw APIError.invalidArguments([.notAUUID("namespace_id")])
        }
        return (region, id)
    }

    /// The project a new namespace goes to, as the contract resolves it (CONTRACT.md, "Create").
    ///
    /// `project_id` given: that project, unless it is known to belong to another organization
    /// (403). Only `organization_id` (deprecated) given: it must be the caller's, and the project is
    /// the organization's default project, whose id is the organization's. Neither: the caller's
    /// project, the organization's default one for an organization-wide key. A project-scoped key
    /// creates only in its own project, so it is refused (403) whichever way another is named.
    private func resolveProject(projectID: UUID?, organizationID: UUID?, caller: Caller) async throws -> UUID {
        if let organizationID, organizationID != caller.organizationID {
            throw APIError.permissionsDenied("namespace", action: "create")
        }
        let project = projectID ?? (organizationID != nil ? caller.organizationID : caller.projectID ?? caller.organizationID)
        if let scoped = caller.projectID, project != scoped {
            throw APIError.permissionsDenied("namespace", action: "create")
        }
        if caller.projectID == nil, project != caller.organizationID,
           try await repository.projectBelongsToAnotherOrganization(project, organization: caller.organizationID) {
            throw APIError.permissionsDenied("namespace", action: "create")
        }
        return project
    }

    /// The namespace as one resource: its JSON, and its `ETag` for conditional requests.
    private func render(_ namespace: Namespace) -> Response {
        let json = Response.json(capacity: 640) { json in
            namespace.write(to: &json, endpointHost: settings.endpointHost(for: namespace.region))
        }
        return EntityTag.tagged(json, etag: namespace.etag)
    }
}
