import HTTP
import JSON
import Log
import Postgres

/// The registry's notification endpoint: `POST /internal/v1/regions/{region}/registry-events`.
///
/// The registry retries an event forever on any non-2xx and blocks its whole queue meanwhile, so
/// once the shared secret is right every answer is a 200, also for bodies and events this service
/// cannot use (they are logged and counted as ignored); only a database that cannot be reached
/// or a transient failure (deadlock, serialization, timeout) answers 503, so that the registry
/// delivers the event again later. An event the database refuses for good is logged, counted as
/// `failed` and acknowledged: retrying it would block the queue forever, and the reconciler
/// repairs what it misses. A wrong or missing secret is a 401 and changes nothing. An envelope over
/// `DataPlaneSettings.maximumEnvelopeSize` is acknowledged unread and logged, for the same reason.
struct EventReceiverAPI: Sendable {
    let settings: DataPlaneSettings
    let registry: RegistrySettings
    let repository: RegistryContentRepository
    let logger: Logger

    func receive(_ request: Request) async throws -> Response {
        guard let secret = settings.notifySecret,
              APIKeyFormat.constantTimeEquals(request.header("Authorization") ?? "", Self.authorization(secret: secret)) else {
            throw APIError.deniedAuthentication(reason: "invalid_argument")
        }
        let region = request.pathParameter("region") ?? ""
        guard registry.regions.contains(region) else {
            logger.warning("registry events for a region this service does not serve", ["region": .string(region)])
            return Self.summary(applied: 0, duplicates: 0, ignored: 0, failed: 0, problem: "unknown region")
        }
        if request.bodyExceededLimit {
            logger.warning("registry event envelope over the size limit: acknowledged unread, the reconciler repairs it", [
                "request_id": .string(request.id), "region": .string(region),
                "content_length": .string(request.header("Content-Length") ?? "chunked"),
                "limit": .int(DataPlaneSettings.maximumEnvelopeSize),
            ])
            return Self.summary(applied: 0, duplicates: 0, ignored: 0, failed: 0, problem: "envelope over \(DataPlaneSettings.maximumEnvelopeSize) bytes: ignored")
        }
        let events: [RegistryEvent]
        do {
            events = try RegistryEvent.parseEnvelope(request.body)
        } catch {
            logger.warning("registry event body is not an events envelope", ["request_id": .string(request.id)])
            return Self.summary(applied: 0, duplicates: 0, ignored: 0, failed: 0, problem: "body is not a JSON events envelope")
        }
        var applied = 0, duplicates = 0, ignored = 0, failed = 0
        for event in events {
            do {
                switch try await repository.apply(event, region: region) {
                case .applied: applied += 1
                case .duplicate: duplicates += 1
                case .ignored: ignored += 1
                }
            } catch let error as PostgresError where !Self.isTransient(error) {
                failed += 1
                logger.error("registry event refused by the database; acknowledged, the reconciler repairs it", [
                    "event_id": .string(event.id), "error": .string(error.detail), "sqlstate": .string(error.sqlState ?? ""),
                ])
            }
        }
        return Self.summary(applied: applied, duplicates: duplicates, ignored: ignored, failed: failed, problem: nil)
    }

    /// The `Authorization` header value the registry is configured to send.
    static func authorization(secret: String) -> String { "Bearer " + secret }

    /// Failures worth the registry's retry: the database unreachable, or a conflict or timeout
    /// that the same statement may not meet again (SQLSTATE classes 40, 53, 57, 55P03).
    static func isTransient(_ error: PostgresError) -> Bool {
        if error.isUnavailable { return true }
        guard let state = error.sqlState else { return false }
        return state.hasPrefix("40") || state.hasPrefix("53") || state.hasPrefix("57") || state == "55P03"
    }

    private static func summary(applied: Int, duplicates: Int, ignored: Int, failed: Int, problem: String?) -> Response {
        .json { json in
            json.beginObject()
            json.field("applied", applied)
            json.field("duplicates", duplicates)
            json.field("ignored", ignored)
            json.field("failed", failed)
            if let problem { json.field("problem", problem) }
            json.endObject()
        }
    }
}
