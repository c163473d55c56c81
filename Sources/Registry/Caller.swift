import FoundationEssentials

/// Who is calling: the organization an API key belongs to, and the project it is scoped to, if any.
public struct Caller: Sendable, Equatable {
    public let organizationID: UUID
    /// Set for a project-scoped key: the caller sees and creates namespaces in this project only.
    public let projectID: UUID?
    /// The access key of the API key that authenticated the request: who the audit trail names.
    public let accessKey: String?

    public init(organizationID: UUID, projectID: UUID? = nil, accessKey: String? = nil) {
        self.organizationID = organizationID
        self.projectID = projectID
        self.accessKey = accessKey
    }
}
