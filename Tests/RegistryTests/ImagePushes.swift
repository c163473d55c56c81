import Foundation
@testable import Registry
import Testing
import TestSupport

/// Images and tags brought into being as the registry's notifications bring them: through the
/// event receiver's own statement (`RegistryContentRepository.apply`), with the actor and request
/// id a notification carries, so that versions and audit rows come from the production path.
struct ImagePushes {
    let service: TestService
    let client: TestClient
    let namespaceName: String
    let namespaceID: String
    let base = "/registry/v1/regions/fr-par"
    var content: RegistryContentRepository { RegistryContentRepository(database: DatabaseAccess(pool: service.database.pool)) }

    /// A new namespace of `client`'s organization, to push into.
    init(service: TestService, client: TestClient, namespace: String) async throws {
        self.service = service
        self.client = client
        namespaceName = namespace
        let created = try await client.post("\(base)/namespaces", ["name": namespace])
        namespaceID = try #require(created.json["id"] as? String)
    }

    /// Applies a manifest push of `image`, tagged `tag`, whose one layer has `size` bytes.
    @discardableResult
    func push(_ image: String, tag: String?, digest: String, size: Int64 = 10, actor: String? = "SCWPUSHER",
              requestID: String? = nil) async throws -> RegistryContentRepository.Outcome {
        let layer = RegistryEvent.Reference(
            digest: "sha256:layer-\(digest)", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: size)
        let event = RegistryEvent(
            id: UUID().uuidString, repository: "\(namespaceName)/\(image)",
            change: .pushManifest(digest: digest, mediaType: "application/vnd.oci.image.manifest.v1+json", tag: tag, references: [layer]),
            actor: actor, requestID: requestID)
        return try await content.apply(event, region: "fr-par")
    }

    /// Applies the registry's notification that `tag` of `image` was removed.
    func untag(_ image: String, tag: String, actor: String? = "SCWPUSHER") async throws {
        let event = RegistryEvent(id: UUID().uuidString, repository: "\(namespaceName)/\(image)", change: .deleteTag(tag), actor: actor)
        _ = try await content.apply(event, region: "fr-par")
    }

    /// The image named `name` of the namespace, as the API lists it.
    func image(_ name: String) async throws -> [String: Any] {
        let listed = try await client.get("\(base)/images?namespace_id=\(namespaceID)&name=\(name)")
        return try #require((listed.json["images"] as? [[String: Any]])?.first)
    }

    /// The id of the tag `name` of the image `imageID`.
    func tagID(_ imageID: String, _ name: String) async throws -> String {
        let listed = try await client.get("\(base)/images/\(imageID)/tags?name=\(name)")
        return try #require((listed.json["tags"] as? [[String: Any]])?.first?["id"] as? String)
    }
}
