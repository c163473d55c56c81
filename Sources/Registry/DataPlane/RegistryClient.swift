import FoundationEssentials
import Digest
import HTTPClient
import JSON

/// Reads a region's registry over the distribution v2 API with tokens registryd signs itself: the
/// catalog, a repository's tags and its manifests. Blocking calls, for the reconciler's thread.
struct RegistryClient: Sendable {
    let baseURL: String
    let region: String
    let issuer: TokenIssuer
    let timeout: Duration = .seconds(10)

    static let acceptedManifestTypes = RegistryEvent.manifestTypes.sorted().joined(separator: ", ")

    /// Every repository in the registry, following the catalog's pages.
    func catalog() throws -> [String] {
        let token = try issuer.issue(region: region, subject: "registryd-reconciler",
                                     access: [.init(type: "registry", name: "catalog", actions: ["*"])]).token
        var repositories: [String] = []
        var path: String? = "/v2/_catalog?n=1000"
        while let next = path {
            let (status, body, headers) = try get(next, token: token)
            guard status == 200, case .object(let object) = try JSONParser.parse(body) else { throw ClientError(status: status, path: next) }
            if case .array(let names)? = object["repositories"] {
                for case .string(let name) in names { repositories.append(name) }
            }
            path = Self.nextPage(headers["link"])
        }
        return repositories
    }

    /// A repository's tags, and for each the manifest digest it names and what each manifest
    /// reachable from it references (an index's children fetched too). A tag whose digest is in
    /// `known` (already recorded with its references) costs one `HEAD`, not a download.
    func content(of repository: String, known: Set<String> = []) throws -> RepositoryContent {
        let token = try issuer.issue(region: region, subject: "registryd-reconciler",
                                     access: [.init(type: "repository", name: repository, actions: ["pull"])]).token
        var content = RepositoryContent()
        let (status, body, _) = try get("/v2/\(repository)/tags/list", token: token)
        if status == 404 { return content }
        guard status == 200, case .object(let object) = try JSONParser.parse(body) else { throw ClientError(status: status, path: repository) }
        guard case .array(let tags)? = object["tags"] else { return content }
        for case .string(let tag) in tags {
            let (headStatus, _, headers) = try get("/v2/\(repository)/manifests/\(tag)", token: token,
                                                   accept: Self.acceptedManifestTypes, method: "HEAD")
            if headStatus == 200, let digest = headers["docker-content-digest"], known.contains(digest) {
                content.tags[tag] = digest
                continue
            }
            guard let digest = try fetchManifest(repository: repository, reference: tag, token: token, into: &content) else { continue }
            content.tags[tag] = digest
        }
        return content
    }

    /// Fetches one manifest (and an index's children) into `content`; returns its digest, nil when gone.
    private func fetchManifest(repository: String, reference: String, token: String, into content: inout RepositoryContent) throws -> String? {
        let (status, body, headers) = try get("/v2/\(repository)/manifests/\(reference)", token: token, accept: Self.acceptedManifestTypes)
        if status == 404 { return nil }
        guard status == 200, case .object(let manifest) = try JSONParser.parse(body) else { throw ClientError(status: status, path: repository) }
        let digest = headers["docker-content-digest"] ?? "sha256:" + SHA256.hexDigest(body)
        if content.manifests[digest] != nil { return digest }
        var mediaType = headers["content-type"] ?? ""
        if case .string(let declared)? = manifest["mediaType"] { mediaType = declared }
        var references: [RegistryEvent.Reference] = []
        var children: [String] = []
        // A tag deletion's throwaway manifest (`untag`), caught between its push and its delete, is no content.
        if case .object(let config)? = manifest["config"], case .string(Self.throwawayConfigType)? = config["mediaType"] { return nil }
        for key in ["config", "layers", "manifests"] {
            let items: [JSONValue]
            switch manifest[key] {
            case .object(let single)?: items = [.object(single)]
            case .array(let many)?: items = many
            default: continue
            }
            for case .object(let item) in items {
                guard case .string(let child)? = item["digest"], case .number(let size)? = item["size"], let bytes = Int64(size) else { continue }
                var childType = ""
                if case .string(let type)? = item["mediaType"] { childType = type }
                if key == "manifests" {
                    if childType.isEmpty { childType = "application/vnd.oci.image.manifest.v1+json" }
                    children.append(child)
                }
                references.append(.init(digest: child, mediaType: childType, size: bytes))
            }
        }
        content.manifests[digest] = (mediaType, references)
        for child in children where content.manifests[child] == nil {
            _ = try fetchManifest(repository: repository, reference: child, token: token, into: &content)
        }
        return digest
    }

    /// Deletes manifest `digest` of `repository`; true when it is gone (202, or 404: already gone).
    func deleteManifest(repository: String, digest: String) throws -> Bool {
        let token = try issuer.issue(region: region, subject: "registryd-reconciler",
                                     access: [.init(type: "repository", name: repository, actions: ["delete"])]).token
        let (status, _, _) = try get("/v2/\(repository)/manifests/\(digest)", token: token, method: "DELETE")
        return status == 202 || status == 404
    }

    /// `</v2/_catalog?last=x&n=1000>; rel="next"` → `/v2/_catalog?last=x&n=1000`.
    static func nextPage(_ link: String?) -> String? {
        guard let link, let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close,
              link.contains("rel=\"next\"") else { return nil }
        return String(link[link.index(after: open)..<close])
    }

    /// One request; `path` is below `baseURL`, or absolute (an upload's `Location`).
    func get(_ path: String, token: String, accept: String? = nil, method: String = "GET",
             body: [UInt8]? = nil, contentType: String? = nil) throws -> (Int, [UInt8], [String: String]) {
        var headers = ["Authorization: Bearer " + token]
        if let accept { headers.append("Accept: " + accept) }
        if body != nil { headers.append("Content-Type: " + (contentType ?? "application/octet-stream")) }
        do {
            let url = path.hasPrefix("http") ? path : baseURL + path
            let response = try HTTPClient.send(method, url, headers: headers, body: body, timeout: timeout)
            return (response.status, response.body, response.headers)
        } catch {
            throw ClientError(status: 0, path: path)
        }
    }

    /// A registry answer the reconciler cannot use.
    struct ClientError: Error, CustomStringConvertible {
        let status: Int
        let path: String
        var description: String { status == 0 ? "registry unreachable (\(path))" : "registry answered \(status) (\(path))" }
    }
}

/// What the registry holds for one repository.
struct RepositoryContent: Sendable {
    var tags: [String: String] = [:]
    var manifests: [String: (mediaType: String, references: [RegistryEvent.Reference])] = [:]
}
