import FoundationEssentials
import JSON
import JWT

/// How registryd works with the container registries of its regions (the data plane).
///
/// Present only when `REGISTRY_TOKEN_KEY` and `REGISTRY_TOKEN_CERT` are set: without a signing key
/// there is no token service, no event receiver and no reconciler, and the API works as before.
public struct DataPlaneSettings: Sendable {
    /// Signs the registry tokens.
    public var signingKey: SigningKey
    /// The `iss` of tokens, which the registry's `auth.token.issuer` must equal.
    public var issuer: String
    /// The secret the registries send in `Authorization` with their notifications; nil refuses them all.
    public var notifySecret: String?
    /// Where registryd reaches each region's registry (`fr-par` → `http://127.0.0.1:5000`).
    public var registryURLs: [String: String]
    /// How often the reconciler compares registries and database.
    public var reconcileInterval: Duration
    /// Seconds a token is valid.
    public var tokenLifetime: Int64

    /// The realm path of a region: what `docker login` and every registry client are sent to.
    public static let tokenPath = "/auth/v1/regions/{region}/token"
    /// Where a region's registry posts its notifications (not part of the public API).
    public static let eventsPath = "/internal/v1/regions/{region}/registry-events"
    /// The largest notification envelope read (1 MiB), instead of the API's 64 KiB. The registry
    /// posts one event per envelope; a manifest push lists its config and layers (about 200 bytes
    /// each with the request and actor parts), an index its child manifests, so 64 KiB was a few
    /// hundred layers and 1 MiB is thousands. A larger envelope is acknowledged (200), logged and
    /// dropped, never refused: a non-2xx would block the registry's queue forever, and the
    /// reconciler records what the dropped event carried.
    public static let maximumEnvelopeSize = 1 << 20

    public init(signingKey: SigningKey, issuer: String = "registryd", notifySecret: String?,
                registryURLs: [String: String] = [:], reconcileInterval: Duration = .seconds(300), tokenLifetime: Int64 = 300) {
        self.signingKey = signingKey
        self.issuer = issuer
        self.notifySecret = notifySecret
        self.registryURLs = registryURLs
        self.reconcileInterval = reconcileInterval
        self.tokenLifetime = tokenLifetime
    }

    /// Parses `fr-par=http://127.0.0.1:5000,nl-ams=http://…`; the failure names the bad entry.
    public static func parseRegistryURLs(_ text: String) -> Result<[String: String], RegistryURLsError> {
        var urls: [String: String] = [:]
        for entry in text.split(separator: ",") where !entry.trimmingSpacesAndTabs().isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingSpacesAndTabs() }
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://"),
                  URL(string: parts[1]) != nil else {
                return .failure(RegistryURLsError(entry: String(entry)))
            }
            var url = parts[1]
            while url.hasSuffix("/") { url.removeLast() }
            urls[parts[0]] = url
        }
        return .success(urls)
    }

    /// A `REGISTRY_URLS` entry that is not `region=http(s)://host[:port]`.
    public struct RegistryURLsError: Error {
        public let entry: String
    }
}
