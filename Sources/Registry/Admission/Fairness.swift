/// How much of the database one organization may hold at once, so that a flooding tenant cannot
/// starve the others (see the README's "One tenant cannot starve another").
public struct Fairness: Sendable, Equatable {
    /// The most creates, updates and deletes of one organization holding (or queued for) a pool
    /// connection at once; 0 for no limit. The others wait for their organization's turn.
    public var writesPerOrganization: Int
    /// The most listings of one organization in the listing lane at once; 0 for no limit.
    public var listingsPerOrganization: Int
    /// Connections of the listing lane, a pipeline of its own so that a GET by id never waits
    /// behind a listing; 0 to send listings through the read pipeline with everything else.
    public var listingConnections: Int

    /// Creates the settings; the defaults are registryd's.
    public init(writesPerOrganization: Int = 2, listingsPerOrganization: Int = 2, listingConnections: Int = 1) {
        self.writesPerOrganization = max(0, writesPerOrganization)
        self.listingsPerOrganization = max(0, listingsPerOrganization)
        self.listingConnections = max(0, listingConnections)
    }

    /// No limit and no listing lane: every request shares the same connections first come, first
    /// served (registryd before these settings existed).
    public static let none = Fairness(writesPerOrganization: 0, listingsPerOrganization: 0, listingConnections: 0)
}
