import HTTP
import JSON

/// An error the API answers with, rendered in Scaleway's standard JSON shapes.
public struct APIError: Error, Sendable, Equatable {
    enum Code: Sendable, Equatable {
        case notFound(resource: String, id: String)
        case invalidArguments([ArgumentError])
        case conflict(resource: String, help: String)
        case transientState(resource: String, id: String, state: String)
        case deniedAuthentication(reason: String)
        case permissionsDenied(resource: String, action: String)
        case quotaExceeded(resource: String, quota: Int, current: Int)
        case preconditionFailed(precondition: String, help: String)
        case staleVersion(resource: String, id: String)
        case idempotencyKeyReused
        case idempotencyKeyInUse
        case unavailable
        case internalError
    }

    let code: Code

    // MARK: - Constructors

    /// The resource does not exist, or belongs to another organization (the two must look alike).
    public static func notFound(_ resource: String, id: String) -> APIError {
        APIError(code: .notFound(resource: resource, id: id))
    }

    /// One or more arguments are wrong.
    public static func invalidArguments(_ details: [ArgumentError]) -> APIError {
        APIError(code: .invalidArguments(details))
    }

    /// One argument is wrong.
    public static func invalidArgument(_ name: String, _ reason: ArgumentError.Reason, _ help: String) -> APIError {
        invalidArguments([ArgumentError(name, reason, help)])
    }

    /// The resource exists already (a name taken in the region).
    public static func conflict(_ resource: String, help: String) -> APIError {
        APIError(code: .conflict(resource: resource, help: help))
    }

    /// The resource is in a state (such as `deleting`) that forbids the change.
    public static func transientState(_ resource: String, id: String, state: String) -> APIError {
        APIError(code: .transientState(resource: resource, id: id, state: state))
    }

    /// The token is missing (`invalid_argument`), unknown or revoked (`not_found`), or expired (`expired`).
    public static func deniedAuthentication(reason: String) -> APIError {
        APIError(code: .deniedAuthentication(reason: reason))
    }

    /// The caller may not do `action` on `resource`.
    public static func permissionsDenied(_ resource: String, action: String) -> APIError {
        APIError(code: .permissionsDenied(resource: resource, action: action))
    }

    /// The organization holds as many `resource` as its quota allows.
    public static func quotaExceeded(_ resource: String, quota: Int, current: Int) -> APIError {
        APIError(code: .quotaExceeded(resource: resource, quota: quota, current: current))
    }

    /// The change would break something still in use (Scaleway's `precondition_failed`, 412):
    /// deleting a tag whose digest other tags share, without `force`.
    public static func preconditionFailed(_ precondition: String, help: String) -> APIError {
        APIError(code: .preconditionFailed(precondition: precondition, help: help))
    }

    /// `If-Match` names no version the resource is at: someone changed it since the caller read it
    /// (`precondition_failed` too, 412).
    public static func preconditionFailed(_ resource: String, id: String) -> APIError {
        APIError(code: .staleVersion(resource: resource, id: id))
    }

    /// The `Idempotency-Key` was used before (within its lifetime) with another request.
    public static let idempotencyKeyReused = APIError(code: .idempotencyKeyReused)

    /// Another request with the same `Idempotency-Key` is running; retry once it has finished.
    public static let idempotencyKeyInUse = APIError(code: .idempotencyKeyInUse)

    /// The database is unreachable or overloaded; the client should retry.
    public static let unavailable = APIError(code: .unavailable)

    /// Something failed that the client cannot fix; the log has the details.
    public static let internalError = APIError(code: .internalError)

    // MARK: - Rendering

    /// The HTTP status the error is answered with.
    public var status: Int {
        switch code {
        case .notFound: 404
        case .invalidArguments: 400
        case .conflict, .transientState, .idempotencyKeyInUse: 409
        case .preconditionFailed, .staleVersion: 412
        case .idempotencyKeyReused: 422
        case .deniedAuthentication: 401
        case .permissionsDenied, .quotaExceeded: 403
        case .unavailable: 503
        case .internalError: 500
        }
    }

    /// The error as the client receives it.
    public var response: Response {
        var response = Response.json(status: status, capacity: 256) { json in
            json.beginObject()
            writeFields(to: &json)
            json.endObject()
        }
        if case .idempotencyKeyInUse = code { response.headers.append((name: "Retry-After", value: "1")) }
        if case .unavailable = code { response.headers.append((name: "Retry-After", value: "1")) }
        return response
    }

    private func writeFields(to json: inout JSONWriter) {
        switch code {
        case .notFound(let resource, let id):
            json.field("message", "resource is not found")
            json.field("resource", resource)
            json.field("resource_id", id)
            json.field("type", "not_found")
        case .invalidArguments(let details):
            json.field("message", "invalid argument(s)")
            json.field("type", "invalid_arguments")
            json.key("details")
            json.beginArray()
            for detail in details {
                json.beginObject()
                json.field("argument_name", detail.name)
                json.field("reason", detail.reason.rawValue)
                json.field("help_message", detail.help)
                json.endObject()
            }
            json.endArray()
        case .conflict(let resource, let help):
            json.field("message", "resource already exists")
            json.field("resource", resource)
            json.field("type", "conflict")
            json.field("help_message", help)
        case .transientState(let resource, let id, let state):
            json.field("message", "resource is in a transient state")
            json.field("resource", resource)
            json.field("resource_id", id)
            json.field("current_state", state)
            json.field("type", "transient_state")
        case .deniedAuthentication(let reason):
            json.field("message", "authentication is denied")
            json.field("method", "api_key")
            json.field("reason", reason)
            json.field("type", "denied_authentication")
        case .permissionsDenied(let resource, let action):
            json.field("message", "insufficient permissions")
            json.field("type", "permissions_denied")
            Self.writeDetail(to: &json) { json in
                json.field("resource", resource)
                json.field("action", action)
            }
        case .quotaExceeded(let resource, let quota, let current):
            json.field("message", "quota(s) exceeded for this resource")
            json.field("type", "quotas_exceeded")
            Self.writeDetail(to: &json) { json in
                json.field("resource", resource)
                json.field("quota", quota)
                json.field("current", current)
            }
        case .preconditionFailed(let precondition, let help):
            json.field("message", "precondition is not respected")
            json.field("type", "precondition_failed")
            json.field("precondition", precondition)
            json.field("help_message", help)
        case .staleVersion(let resource, let id):
            json.field("message", "precondition failed")
            json.field("resource", resource)
            json.field("resource_id", id)
            json.field("type", "precondition_failed")
            json.field("help_message", "If-Match names no version the resource is at: it changed since you read it; GET it for its current ETag")
        case .idempotencyKeyReused:
            json.field("message", "idempotency key already used for another request")
            json.field("type", "idempotency_key_reused")
            json.field("help_message", "an Idempotency-Key names one request (method, path and body); use a new key for a new request")
        case .idempotencyKeyInUse:
            json.field("message", "a request with this idempotency key is in progress")
            json.field("type", "idempotency_key_in_use")
            json.field("help_message", "retry once the first request has finished: you will get its response")
        case .unavailable:
            json.field("message", "the service is temporarily unavailable, retry shortly")
            json.field("type", "service_unavailable")
        case .internalError:
            json.field("message", "internal error")
            json.field("type", "internal_error")
        }
    }

    /// `"details"` for an error about one resource: an array of one object, as Scaleway sends it.
    private static func writeDetail(to json: inout JSONWriter, _ fields: (inout JSONWriter) -> Void) {
        json.key("details")
        json.beginArray()
        json.beginObject()
        fields(&json)
        json.endObject()
        json.endArray()
    }
}
