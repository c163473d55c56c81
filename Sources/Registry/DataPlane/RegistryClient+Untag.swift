import FoundationEssentials
import Digest
import JSON

extension RegistryClient {
    /// The config media type of the throwaway manifests `untag` pushes; the event receiver drops
    /// their pushes (`RegistryEvent`), so they are never recorded as content.
    static let throwawayConfigType = "application/vnd.registryd.tag-deletion.v1+json"

    /// Removes tag `tag` of `repository` alone, leaving the manifest it named and that manifest's
    /// other tags. Distribution 2.8 deletes only by digest, which untags every tag of the digest,
    /// so (DATAPLANE.md §2): upload a unique config blob, point the tag at a manifest of our own
    /// that references it and nothing else, then delete that manifest by digest. Safe to repeat:
    /// a tag that is already gone is created and removed again. Throws when any step fails.
    func untag(repository: String, tag: String) throws {
        let token = try issuer.issue(region: region, subject: "registryd-tag-deletion",
                                     access: [.init(type: "repository", name: repository, actions: ["pull", "push", "delete"])]).token
        let config = Array(#"{"registryd":"tag-deletion","tag":"\#(tag)","nonce":"\#(UUID().uuidString)"}"#.utf8)
        let configDigest = "sha256:" + SHA256.hexDigest(config)
        let (started, _, headers) = try get("/v2/\(repository)/blobs/uploads/", token: token, method: "POST", body: [])
        guard started == 202, let location = headers["location"] else { throw ClientError(status: started, path: repository) }
        let separator = location.contains("?") ? "&" : "?"
        let (uploaded, _, _) = try get(location + separator + "digest=" + configDigest, token: token, method: "PUT", body: config)
        guard uploaded == 201 else { throw ClientError(status: uploaded, path: repository) }
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"\(Self.throwawayConfigType)","digest":"\(configDigest)","size":\(config.count)},"layers":[]}
            """.utf8)
        let manifestType = "application/vnd.oci.image.manifest.v1+json"
        let (put, _, _) = try get("/v2/\(repository)/manifests/\(tag)", token: token, method: "PUT", body: manifest, contentType: manifestType)
        guard put == 201 else { throw ClientError(status: put, path: repository) }
        let digest = "sha256:" + SHA256.hexDigest(manifest)
        let (deleted, _, _) = try get("/v2/\(repository)/manifests/\(digest)", token: token, method: "DELETE")
        guard deleted == 202 || deleted == 404 else { throw ClientError(status: deleted, path: repository) }
    }
}
