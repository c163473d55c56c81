import FoundationEssentials

/// A container image: one repository below a namespace (`team-a/app` → namespace `team-a`, image
/// `app`), brought into being by a push to the registry, never by the API.
public struct Image: Sendable, Equatable {
    /// Where an image (or a tag) is in its life; the same values as a namespace's.
    public typealias Status = Namespace.Status

    /// Who may pull the image anonymously (DATAPLANE.md §1).
    public enum Visibility: String, Sendable, CaseIterable {
        /// Public exactly when the namespace `is_public`: the default for a new image.
        case inherit
        case `public`
        case `private`
    }

    public let id: UUID
    /// The repository path below the namespace; may contain slashes.
    public let name: String
    public let namespaceID: UUID
    public let status: Status
    public let statusMessage: String
    public let visibility: Visibility
    /// Bytes of the distinct blobs reachable from the image's tags.
    public let size: Int64
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64
    /// Microseconds since the Unix epoch.
    public let updatedAt: Int64
    /// The names of the image's tags, by name.
    public let tags: [String]
    /// Bumped by the database on every change of the row and whenever a tag is added or removed
    /// (migration 0011): the source of `etag`.
    public let version: Int64

    /// The strong entity tag of the image as it is now.
    public var etag: String { EntityTag.strong(version: version) }
}

/// A tag of an image: a name for one manifest digest (an index digest for a multi-arch push).
public struct Tag: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let imageID: UUID
    public let status: Image.Status
    public let digest: String
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64
    /// Microseconds since the Unix epoch.
    public let updatedAt: Int64
    /// Bumped by the database on every change of the row (migration 0011): the source of `etag`.
    public let version: Int64

    /// The strong entity tag of the tag as it is now.
    public var etag: String { EntityTag.strong(version: version) }
}
