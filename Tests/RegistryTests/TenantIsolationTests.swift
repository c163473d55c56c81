import Foundation
import Testing
import TestSupport

/// Two organizations and a project-scoped key, tried across every boundary.
@Suite struct TenantIsolationTests {
    let service: TestService
    let organizationA = UUID()
    let organizationB = UUID()
    let projectA2 = UUID()
    let alice: TestClient
    let bob: TestClient
    let scoped: TestClient
    let path = "/registry/v1/regions/fr-par/namespaces"

    init() throws {
        service = try TestService()
        alice = try service.client(organization: organizationA)
        bob = try service.client(organization: organizationB)
        scoped = try service.client(organization: organizationA, project: projectA2)
    }

    private func lower(_ id: UUID) -> String { id.uuidString.lowercased() }

    @Test func anotherOrganizationsNamespaceIsNotFoundForEveryMethod() async throws {
        let id = try #require(try await alice.post(path, ["name": "alice-private"]).json["id"] as? String)
        for response in [
            try await bob.get("\(path)/\(id)"),
            try await bob.patch("\(path)/\(id)", ["description": "mine now"]),
            try await bob.delete("\(path)/\(id)"),
        ] {
            #expect(response.status == 404)
            #expect(response.json["type"] as? String == "not_found")
            #expect(response.json["resource_id"] as? String == id)
        }
        let unknown = try await bob.get("\(path)/\(UUID().uuidString.lowercased())")
        #expect(unknown.json.keys.sorted() == (try await bob.get("\(path)/\(id)")).json.keys.sorted())
        let untouched = try await alice.get("\(path)/\(id)").json
        #expect(untouched["status"] as? String == "ready")
        #expect(untouched["description"] as? String == "")
    }

    @Test func listingShowsOnlyTheCallersOrganization() async throws {
        _ = try await alice.post(path, ["name": "alice-one"])
        _ = try await bob.post(path, ["name": "bob-one"])
        let names = (try await alice.get(path).json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["alice-one"])
        #expect(try await alice.get("\(path)?name=bob-one").json["total_count"] as? Int == 0)
    }

    @Test func filteringOnAnotherOrganizationIsForbidden() async throws {
        let response = try await alice.get("\(path)?organization_id=\(lower(organizationB))")
        #expect(response.status == 403)
        #expect(response.json["type"] as? String == "permissions_denied")
        #expect(response.json["message"] as? String == "insufficient permissions")
        let detail = (response.json["details"] as? [[String: Any]])?.first
        #expect(detail?["resource"] as? String == "namespace")
        #expect(detail?["action"] as? String == "read")
    }

    @Test func createAlwaysBelongsToTheCallersOrganization() async throws {
        let refused = try await alice.post(path, ["name": "foreign-org", "organization_id": lower(organizationB)])
        #expect(refused.status == 403)
        #expect(refused.json["type"] as? String == "permissions_denied")
        let created = try await alice.post(path, ["name": "own-org-project", "project_id": lower(UUID())]).json
        #expect(created["organization_id"] as? String == lower(organizationA))
    }

    @Test func aProjectKnownToBelongToAnotherOrganizationIsRefused() async throws {
        // B's default project, a project B's key is scoped to, and the default project of an
        // organization C known only by its namespaces (its key is gone).
        let projectB2 = UUID()
        _ = try service.client(organization: organizationB, project: projectB2)
        let organizationC = UUID()
        #expect(try await service.client(organization: organizationC).post(path, ["name": "c-only-ns"]).status == 200)
        try service.database.pool.withConnection { connection in
            _ = try connection.query("DELETE FROM api_keys WHERE organization_id = $1", [organizationC])
        }
        for (name, project) in [("b-default", organizationB), ("b-scoped", projectB2), ("c-default", organizationC)] {
            let refused = try await alice.post(path, ["name": name, "project_id": lower(project)])
            #expect(refused.status == 403, "\(name)")
            #expect(refused.json["type"] as? String == "permissions_denied")
        }
        // The organization's own projects, and a project nobody has used yet, are accepted.
        for (index, project) in [organizationA, projectA2, UUID()].enumerated() {
            let created = try await alice.post(path, ["name": "own-project-\(index)", "project_id": lower(project)])
            #expect(created.status == 200)
            #expect(created.json["project_id"] as? String == lower(project))
        }
    }

    @Test func projectScopedKeySeesAndCreatesOnlyInItsProject() async throws {
        let defaultProject = try #require(try await alice.post(path, ["name": "default-project-ns"]).json["id"] as? String)
        let inProject = try await scoped.post(path, ["name": "scoped-ns"])
        #expect(inProject.status == 200)
        #expect(inProject.json["project_id"] as? String == lower(projectA2))
        #expect(inProject.json["organization_id"] as? String == lower(organizationA))

        let listed = (try await scoped.get(path).json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(listed == ["scoped-ns"])
        #expect(try await scoped.get("\(path)/\(defaultProject)").status == 404)
        #expect(try await scoped.delete("\(path)/\(defaultProject)").status == 404)
        #expect(try await scoped.get("\(path)?project_id=\(lower(organizationA))").status == 403)
        #expect(try await scoped.post(path, ["name": "other-project", "project_id": lower(UUID())]).status == 403)
        // Only organization_id means the organization's default project, which is not the key's.
        let byOrganization = try await scoped.post(path, ["name": "by-organization", "organization_id": lower(organizationA)])
        #expect(byOrganization.status == 403)
        #expect(byOrganization.json["type"] as? String == "permissions_denied")

        // The organization-wide key sees both projects.
        #expect(try await alice.get(path).json["total_count"] as? Int == 2)
    }
}
