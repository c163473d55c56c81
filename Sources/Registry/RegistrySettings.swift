import FoundationEssentials

/// What the registry API needs to know about its deployment.
public struct RegistrySettings: Sendable {
    /// The regions this service answers for; any other region in a path is a 400.
    public let regions: [String]
    /// The registry host of each region, from the endpoint template.
    private let endpointHosts: [String: String]

    /// Creates settings; `{region}` in `endpointTemplate` is replaced by each region's name.
    public init(regions: [String], endpointTemplate: String) {
        self.regions = regions
        var hosts: [String: String] = [:]
        for region in regions {
            hosts[region] = endpointTemplate.replacing("{region}", with: region)
        }
        endpointHosts = hosts
    }

    /// The registry host of `region` (`rg.fr-par.scw.cloud`); `region` must be configured.
    func endpointHost(for region: String) -> String {
        endpointHosts[region] ?? region
    }

    /// `region` when it is configured, else the `invalid_arguments` error the API answers.
    func validRegion(_ region: String?) throws(APIError) -> String {
        guard let region, endpointHosts[region] != nil else {
            throw .invalidArgument("region", .constraint, "must be one of: \(regions.joined(separator: ", "))")
        }
        return region
    }
}
