import FoundationEssentials
import HTTP
import JSON
import JWT
import Postgres

/// The registry's token service (its `auth.token.realm`): credentials and scopes in, a signed
/// bearer token out, as CNCF distribution and docker expect.
///
/// `GET /auth/v1/regions/{region}/token?service=…&scope=…`, with `Authorization: Basic` (the user
/// name is ignored, the password is an API secret key, checked by the same `Authenticator` as
/// `X-Auth-Token`) or without credentials for an anonymous pull. Bad credentials are a 401, which
/// makes `docker login` fail; anything else is a 200 whose token grants what the matrix allows.
struct TokenAPI: Sendable {
    let settings: DataPlaneSettings
    let registry: RegistrySettings
    let authenticator: Authenticator
    let repository: RegistryContentRepository

    func token(_ request: Request) async throws -> Response {
        let region = try registry.validRegion(request.pathParameter("region"))
        let caller = try await authenticate(request.header("Authorization"))
        guard let scopes = TokenScope.parse(request.queryValues("scope").compactMap { $0 }) else {
            throw APIError.invalidArgument("scope", .constraint, "at most \(TokenScope.maximumCount) scopes per token")
        }
        var access: [RegistryToken.Access] = []
        var facts: [String: RepositoryFacts?] = [:]
        for scope in scopes {
            guard scope.type == "repository", let path = scope.repositoryPath else {
                access.append(.init(type: scope.type, name: scope.name, actions: []))
                continue
            }
            if facts[scope.name] == nil {
                facts[scope.name] = try await repository.facts(region: region, namespace: path.namespace, image: path.image)
            }
            let actions = RepositoryAccess.granted(
                scope, facts: facts[scope.name] ?? nil, caller: caller,
                isMountSource: RepositoryAccess.isMountSource(scope, in: scopes))
            access.append(.init(type: scope.type, name: scope.name, actions: actions))
        }
        // The subject is what the registry's notifications name as the actor: the access key, so
        // that the audit trail says which key pushed (migration 0011).
        let subject = caller.map { $0.accessKey ?? $0.projectID?.lowercasedString ?? $0.organizationID.lowercasedString } ?? ""
        let issued = try TokenIssuer(settings: settings, registry: registry).issue(region: region, subject: subject, access: access)
        return .json(capacity: issued.token.utf8.count * 2 + 128) { json in
            json.beginObject()
            json.field("token", issued.token)
            json.field("access_token", issued.token)
            json.field("expires_in", settings.tokenLifetime)
            json.field("issued_at", timestamp: issued.issuedAt * 1_000_000)
            json.endObject()
        }
    }

    /// The caller of `Authorization: Basic base64(user:secret)`, nil without the header; a header
    /// that is not Basic, not base64, or whose password is no valid key is a 401.
    private func authenticate(_ header: String?) async throws -> Caller? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingSpacesAndTabs()),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
            throw APIError.deniedAuthentication(reason: "invalid_argument")
        }
        return try await authenticator.authenticate(token: String(text[text.index(after: colon)...]))
    }
}

/// Signs tokens for a region's registry: the audience is the region's registry host.
struct TokenIssuer: Sendable {
    let settings: DataPlaneSettings
    let registry: RegistrySettings

    func issue(region: String, subject: String, access: [RegistryToken.Access]) throws -> (token: String, issuedAt: Int64) {
        let now = Int64(Date().timeIntervalSince1970)
        let token = RegistryToken(
            issuer: settings.issuer, subject: subject, audience: registry.endpointHost(for: region),
            issuedAt: now, lifetime: settings.tokenLifetime, access: access)
        return (try token.signed(with: settings.signingKey), now)
    }
}
