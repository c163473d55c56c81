import FoundationEssentials

/// What the grant matrix needs to know about one repository: its namespace and, once pushed, its image.
struct RepositoryFacts: Sendable, Equatable {
    var organizationID: UUID
    var projectID: UUID
    var namespaceStatus: String
    var isPublic: Bool
    /// nil until the image exists (its first push).
    var imageVisibility: String?
    var imageStatus: String?
    /// Content of a removed namespace or image under this name still waits to be deleted in the
    /// registry: until it is, nobody may pull it (a new owner of the name) or push over it.
    var hasPendingDeletions = false

    /// Whether anyone, anonymously, may pull: the image is public, or inherits a public namespace.
    var isEffectivelyPublic: Bool {
        switch imageVisibility ?? "inherit" {
        case "public": true
        case "private": false
        default: isPublic
        }
    }
}

/// The grant matrix: which of the actions a scope asks for a caller gets on one repository.
///
/// - The owner (the namespace's organization; a project-scoped key: only in its project) gets
///   pull, push and delete on a namespace that is `ready`.
/// - Anyone gets pull where the image is effectively public.
/// - A namespace that is unknown or not `ready` (deleting), an image being deleted, or a repository
///   whose previous content still waits to be deleted in the registry, gives nothing.
/// - A repository only read as the source of a cross-repository mount (a push request's extra
///   `pull` scopes) gives nothing to a caller who does not own it: the client then uploads the
///   blob instead, and no tenant learns or borrows another tenant's blobs.
/// Asking more than one may have is never an error: the answer is the allowed subset, maybe empty.
enum RepositoryAccess {
    static let ownerActions = ["pull", "push", "delete"]

    static func granted(_ scope: TokenScope, facts: RepositoryFacts?, caller: Caller?, isMountSource: Bool) -> [String] {
        guard let facts, facts.namespaceStatus == "ready", (facts.imageStatus ?? "ready") != "deleting",
              !facts.hasPendingDeletions else { return [] }
        if let caller, caller.organizationID == facts.organizationID,
           caller.projectID == nil || caller.projectID == facts.projectID {
            return ownerActions.filter { scope.asks($0) }
        }
        guard !isMountSource, scope.asks("pull"), facts.isEffectivelyPublic else { return [] }
        return ["pull"]
    }

    /// Whether `scope`, in a request for `all`, only reads a repository for a cross-repository mount:
    /// it asks pull alone while another scope of the request asks push.
    static func isMountSource(_ scope: TokenScope, in all: [TokenScope]) -> Bool {
        guard !scope.asks("push") else { return false }
        return all.contains { $0.type == "repository" && $0.name != scope.name && $0.asks("push") }
    }
}
