import FoundationEssentials

/// A collection of container images, named uniquely within its region.
public struct Namespace: Sendable, Equatable {
    /// Where a namespace is in its life.
    public enum Status: String, Sendable, CaseIterable {
        case unknown, ready, deleting, error, locked
    }

    public let id: UUID
    public let name: String
    public let description: String
    public let organizationID: UUID
    public let projectID: UUID
    public let status: Status
    public let statusMessage: String
    public let isPublic: Bool
    /// Bytes held by the namespace's images.
    public let size: Int64
    public let imageCount: Int64
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64
    /// Microseconds since the Unix epoch.
    public let updatedAt: Int64
    public let region: String
    /// Bumped by the database on every change of the row (migration 0008): the source of `etag`.
    public let version: Int64

    /// The strong entity tag of the namespace as the API renders it: changes with every change.
    public var etag: String { EntityTag.strong(version: version) }
}

/// A namespace to create, validated.
public struct NewNamespace: Sendable, Equatable {
    public var region: String
    public var name: String
    public var description: String
    public var organizationID: UUID
    public var projectID: UUID
    public var isPublic: Bool
}

/// The fields a PATCH may change; `nil` leaves a field as it is.
public struct NamespaceChanges: Sendable, Equatable {
    public var description: String?
    public var isPublic: Bool?
}
