import FoundationEssentials
import JSON

/// One change as the audit trail recorded it (table `audit_log`, migration 0010).
public struct AuditRecord: Sendable, Equatable {
    public let id: Int64
    /// Microseconds since the Unix epoch: when the change was made (inside its transaction).
    public let at: Int64
    /// The API key that made the change (for a push, the registry's actor); nil for the operator's
    /// command line.
    public let accessKey: String?
    public let organizationID: UUID
    /// The request's `X-Request-Id`; nil for the command line.
    public let requestID: String?
    /// `namespace.create`, `namespace.update`, `namespace.delete`, `api_key.create`, `api_key.revoke`;
    /// `image.update`, `image.delete`, `tag.delete` (API) and `image.push`, `tag.push`, `tag.update`,
    /// `tag.delete` (registry notifications, the actor as access key: migration 0011).
    public let action: String
    public let resourceType: String
    public let resourceID: String
    /// The row before the change as JSON text; nil for a create.
    public let before: String?
    /// The row after the change as JSON text.
    public let after: String?

    /// One line for people: time, access key, action, resource id, request id.
    public var line: String {
        [RFC3339.format(microsecondsSinceEpoch: at), accessKey ?? "-", action, resourceID, requestID ?? "-"]
            .joined(separator: "  ")
    }

    /// One JSON object for machines (`registryd audit list --json`, one per line).
    public var json: String {
        var writer = JSONWriter(capacity: 512 + (before?.utf8.count ?? 0) + (after?.utf8.count ?? 0))
        writer.beginObject()
        writer.field("id", id)
        writer.field("at", timestamp: at)
        writer.key("access_key")
        if let accessKey { writer.string(accessKey) } else { writer.null() }
        writer.field("organization_id", organizationID.lowercasedString)
        writer.key("request_id")
        if let requestID { writer.string(requestID) } else { writer.null() }
        writer.field("action", action)
        writer.field("resource_type", resourceType)
        writer.field("resource_id", resourceID)
        // before/after are JSON already (jsonb's text): spliced in rather than re-encoded.
        writer.key("before")
        writer.raw(before ?? "null")
        writer.key("after")
        writer.raw(after ?? "null")
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
