import FoundationEssentials

/// The per-organization limits a namespace request passes before it takes database capacity:
/// one for writes (the pool's connections), one for listings (the listing lane). Either may be
/// nil, for no limit.
public struct TenantAdmission: Sendable {
    /// Creates, updates and deletes.
    public let writes: OrganizationAdmission?
    /// Listings, the one read whose cost grows with the organization's size.
    public let listings: OrganizationAdmission?

    /// Builds the admissions `fairness` asks for, each waiting at most `timeout`.
    public init(_ fairness: Fairness, timeout: Duration) {
        writes = fairness.writesPerOrganization > 0
            ? OrganizationAdmission(lane: "writes", limit: fairness.writesPerOrganization, timeout: timeout) : nil
        listings = fairness.listingsPerOrganization > 0
            ? OrganizationAdmission(lane: "listings", limit: fairness.listingsPerOrganization, timeout: timeout) : nil
    }

    /// No limit at all (the command-line tools, and tests of something else).
    public init() {
        writes = nil
        listings = nil
    }

    /// Runs a write of `organization` once admitted.
    func write<T>(_ organization: UUID, _ body: () async throws -> T) async throws -> T {
        guard let writes else { return try await body() }
        return try await writes.admit(organization, body)
    }

    /// Runs a listing of `organization` once admitted.
    func list<T>(_ organization: UUID, _ body: () async throws -> T) async throws -> T {
        guard let listings else { return try await body() }
        return try await listings.admit(organization, body)
    }

    /// Answers every waiting request 503 and stops the reapers.
    func close() {
        writes?.close()
        listings?.close()
    }
}
