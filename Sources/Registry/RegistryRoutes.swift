import HTTP
import Log
import Postgres

/// Puts the registry API on a `Router`: authentication first, then the endpoint, and every error
/// turned into its JSON answer.
struct RegistryRoutes: Sendable {
    let namespaces: NamespaceAPI
    let images: ImageAPI
    let authenticator: Authenticator
    let metrics: ServiceMetrics
    let logger: Logger

    init(namespaces: NamespaceAPI, images: ImageAPI, authenticator: Authenticator, metrics: ServiceMetrics, logger: Logger) {
        self.namespaces = namespaces
        self.images = images
        self.authenticator = authenticator
        self.metrics = metrics
        self.logger = logger
    }

    /// Registers the namespace, image and tag endpoints and the OpenAPI document.
    func register(on router: inout Router) {
        let document = Array(OpenAPIDocument.json(regions: namespaces.settings.regions).utf8)
        router.add("GET", OpenAPIDocument.path) { _ in .ok(document) }
        router.add("GET", NamespaceAPI.collectionPath, async: authenticated(namespaces.list))
        router.add("POST", NamespaceAPI.collectionPath, async: authenticated(namespaces.create))
        router.add("GET", NamespaceAPI.itemPath, async: authenticated(namespaces.get))
        router.add("PATCH", NamespaceAPI.itemPath, async: authenticated(namespaces.update))
        router.add("DELETE", NamespaceAPI.itemPath, async: authenticated(namespaces.delete))
        router.add("GET", ImageAPI.imagesPath, async: authenticated(images.list))
        router.add("GET", ImageAPI.imagePath, async: authenticated(images.get))
        router.add("PATCH", ImageAPI.imagePath, async: authenticated(images.update))
        router.add("DELETE", ImageAPI.imagePath, async: authenticated(images.delete))
        router.add("GET", ImageAPI.imageTagsPath, async: authenticated(images.listTags))
        router.add("GET", ImageAPI.tagPath, async: authenticated(images.getTag))
        router.add("DELETE", ImageAPI.tagPath, async: authenticated(images.deleteTag))
    }

    // MARK: - Private

    private func authenticated(
        _ endpoint: @escaping @Sendable (Request, Caller) async throws -> Response
    ) -> Router.AsyncHandler {
        { [authenticator, metrics, logger] request in
            await Self.answer(request, metrics: metrics, logger: logger) {
                let caller = try await authenticator.authenticate(token: request.header("X-Auth-Token"))
                return try await endpoint(request, caller)
            }
        }
    }

    /// Runs `body`; turns what it throws into the client's answer, logging what the client must not see.
    static func answer(
        _ request: Request, metrics: ServiceMetrics, logger: Logger, _ body: () async throws -> Response
    ) async -> Response {
        do {
            return try await body()
        } catch let error as APIError {
            return error.response
        } catch let error as PostgresError where error.isUnavailable {
            metrics.recordDatabaseError(kind: "unavailable")
            logger.warning("database unavailable", ["request_id": .string(request.id), "error": .string(error.detail)])
            return APIError.unavailable.response
        } catch let error as PostgresError {
            metrics.recordDatabaseError(kind: "query")
            logger.error("database error", ["request_id": .string(request.id), "error": .string(error.detail),
                                             "sqlstate": .string(error.sqlState ?? "")])
            return APIError.internalError.response
        } catch {
            logger.error("internal error", ["request_id": .string(request.id), "error": .string(String(describing: error))])
            return APIError.internalError.response
        }
    }
}
