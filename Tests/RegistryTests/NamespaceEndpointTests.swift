import Foundation
import Testing
import TestSupport

/// Each endpoint's success path, end to end over HTTP against PostgreSQL.
@Suite struct NamespaceEndpointTests {
    let service: TestService
    let client: TestClient
    let organization = UUID()
    let path = "/registry/v1/regions/fr-par/namespaces"

    init() throws {
        service = try TestService()
        client = try service.client(organization: organization)
    }

    @Test func createReturnsTheWholeNamespace() async throws {
        let response = try await client.post(path, ["name": "test-cr-ns-01", "description": "images of team a", "is_public": true])
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        let namespace = response.json
        #expect(Set(namespace.keys) == [
            "id", "name", "description", "organization_id", "project_id", "status", "status_message", "endpoint",
            "is_public", "size", "created_at", "updated_at", "image_count", "region",
        ])
        let id = try #require(namespace["id"] as? String)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        #expect(namespace["name"] as? String == "test-cr-ns-01")
        #expect(namespace["description"] as? String == "images of team a")
        #expect(namespace["organization_id"] as? String == organization.uuidString.lowercased())
        #expect(namespace["project_id"] as? String == organization.uuidString.lowercased())
        #expect(namespace["status"] as? String == "ready")
        #expect(namespace["status_message"] as? String == "")
        #expect(namespace["endpoint"] as? String == "rg.fr-par.scw.cloud/test-cr-ns-01")
        #expect(namespace["is_public"] as? Bool == true)
        #expect(namespace["size"] as? Int == 0)
        #expect(namespace["image_count"] as? Int == 0)
        #expect(namespace["region"] as? String == "fr-par")
        let created = try #require(namespace["created_at"] as? String)
        #expect(created.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil)
        #expect(namespace["updated_at"] as? String == created)
    }

    @Test func createDefaultsDescriptionAndVisibility() async throws {
        let namespace = try await client.post(path, ["name": "defaults-ns"]).json
        #expect(namespace["description"] as? String == "")
        #expect(namespace["is_public"] as? Bool == false)
    }

    @Test func createUsesTheGivenProjectOrTheOrganizationsDefaultProject() async throws {
        let project = UUID()
        let inProject = try await client.post(path, ["name": "in-project", "project_id": project.uuidString.lowercased()]).json
        #expect(inProject["project_id"] as? String == project.uuidString.lowercased())
        let byOrganization = try await client.post(
            path, ["name": "by-organization", "organization_id": organization.uuidString.lowercased()]).json
        #expect(byOrganization["project_id"] as? String == organization.uuidString.lowercased())
        #expect(byOrganization["organization_id"] as? String == organization.uuidString.lowercased())
    }

    @Test func getReturnsWhatCreateReturned() async throws {
        let created = try await client.post(path, ["name": "get-me"])
        let id = try #require(created.json["id"] as? String)
        let fetched = try await client.get("\(path)/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.body == created.body)
    }

    @Test func patchChangesOnlyDescriptionAndVisibilityAndBumpsUpdatedAt() async throws {
        let created = try await client.post(path, ["name": "patch-me", "description": "before"]).json
        let id = try #require(created["id"] as? String)
        let patched = try await client.patch("\(path)/\(id)", ["is_public": true, "name": "ignored-field"])
        #expect(patched.status == 200)
        #expect(patched.json["is_public"] as? Bool == true)
        #expect(patched.json["description"] as? String == "before")
        #expect(patched.json["name"] as? String == "patch-me")
        #expect((patched.json["updated_at"] as? String ?? "") > (created["updated_at"] as? String ?? ""))
        #expect(patched.json["created_at"] as? String == created["created_at"] as? String)

        let described = try await client.patch("\(path)/\(id)", ["description": "after"]).json
        #expect(described["description"] as? String == "after")
        #expect(described["is_public"] as? Bool == true)
        #expect(try await client.get("\(path)/\(id)").json["description"] as? String == "after")
    }

    @Test func patchWithNoFieldStillBumpsUpdatedAt() async throws {
        let created = try await client.post(path, ["name": "patch-nothing"]).json
        let id = try #require(created["id"] as? String)
        let withEmptyObject = try await client.patch("\(path)/\(id)", [:])
        #expect(withEmptyObject.status == 200)
        #expect((withEmptyObject.json["updated_at"] as? String ?? "") > (created["updated_at"] as? String ?? ""))
        let withNoBody = try await client.send("PATCH", "\(path)/\(id)")
        #expect(withNoBody.status == 200)
        #expect((withNoBody.json["updated_at"] as? String ?? "") > (withEmptyObject.json["updated_at"] as? String ?? ""))
        #expect(withNoBody.json["description"] as? String == "")
        #expect(withNoBody.json["is_public"] as? Bool == false)
    }

    @Test func deleteIsTwoPhaseAndFreesTheName() async throws {
        let id = try #require(try await client.post(path, ["name": "delete-me"]).json["id"] as? String)
        let deleted = try await client.delete("\(path)/\(id)")
        #expect(deleted.status == 200)
        #expect(deleted.json["status"] as? String == "deleting")
        #expect(deleted.json["id"] as? String == id)

        // Within the contract's second, measured on threads that the other tests cannot starve.
        let gone = try await onDedicatedThreads {
            try await eventually(timeout: .seconds(1)) { try await client.get("\(path)/\(id)").status == 404 }
        }
        #expect(gone)
        #expect(try await client.delete("\(path)/\(id)").status == 404)
        let again = try await client.post(path, ["name": "delete-me"])
        #expect(again.status == 200)
        #expect(again.json["id"] as? String != id)
    }

    @Test func secondDeleteWhileDeletingAnswersTheSameDeletingNamespace() async throws {
        service.purger.stop()
        let id = try #require(try await client.post(path, ["name": "delete-twice"]).json["id"] as? String)
        let first = try await client.delete("\(path)/\(id)")
        let second = try await client.delete("\(path)/\(id)")
        #expect(second.status == 200)
        #expect(second.body == first.body)
        let patch = try await client.patch("\(path)/\(id)", ["description": "too late"])
        #expect(patch.status == 409)
        #expect(patch.json["type"] as? String == "transient_state")
        #expect(patch.json["current_state"] as? String == "deleting")
        #expect(patch.json["resource_id"] as? String == id)
        #expect(patch.json["resource"] as? String == "namespace")
    }

    @Test func listReturnsNamespacesAndTotalCount() async throws {
        for name in ["list-a", "list-b", "list-c"] { _ = try await client.post(path, ["name": name]) }
        let response = try await client.get(path)
        #expect(response.status == 200)
        let namespaces = try #require(response.json["namespaces"] as? [[String: Any]])
        #expect(namespaces.map { $0["name"] as? String } == ["list-a", "list-b", "list-c"])
        #expect(response.json["total_count"] as? Int == 3)
        #expect(response.header("X-Total-Count") == nil)
    }

    @Test func emptyListIsAnEmptyArray() async throws {
        let response = try await client.get(path)
        #expect(response.text == #"{"namespaces":[],"total_count":0}"#)
    }

    @Test func sameNameMayExistInTwoRegionsButNotTwiceInOne() async throws {
        let paris = try await client.post(path, ["name": "shared-name"])
        let amsterdam = try await client.post("/registry/v1/regions/nl-ams/namespaces", ["name": "shared-name"])
        #expect(paris.status == 200)
        #expect(amsterdam.status == 200)
        #expect(amsterdam.json["endpoint"] as? String == "rg.nl-ams.scw.cloud/shared-name")
        #expect(amsterdam.json["region"] as? String == "nl-ams")
        let duplicate = try await client.post(path, ["name": "shared-name"])
        #expect(duplicate.status == 409)
        #expect(duplicate.json["type"] as? String == "conflict")
        #expect(duplicate.json["resource"] as? String == "namespace")

        let otherOrganization = try service.client()
        #expect(try await otherOrganization.post(path, ["name": "shared-name"]).status == 409)

        let listed = try await client.get("/registry/v1/regions/nl-ams/namespaces").json
        #expect((listed["namespaces"] as? [[String: Any]])?.count == 1)
    }

    @Test func namespaceOfAnotherRegionIsNotFoundThroughThisRegion() async throws {
        let id = try #require(try await client.post(path, ["name": "paris-only"]).json["id"] as? String)
        let response = try await client.get("/registry/v1/regions/pl-waw/namespaces/\(id)")
        #expect(response.status == 404)
    }

    @Test func everyResponseCarriesARequestID() async throws {
        let generated = try await client.get(path)
        #expect(UUID(uuidString: generated.header("X-Request-Id") ?? "") != nil)
        let echoed = try await client.send("GET", path, headers: ["X-Request-Id": "trace-42.a"])
        #expect(echoed.header("X-Request-Id") == "trace-42.a")
        let replaced = try await client.send("GET", path, headers: ["X-Request-Id": "bad id\twith spaces"])
        #expect(UUID(uuidString: replaced.header("X-Request-Id") ?? "") != nil)
        let tooLong = try await client.send("GET", path, headers: ["X-Request-Id": String(repeating: "a", count: 129)])
        #expect(UUID(uuidString: tooLong.header("X-Request-Id") ?? "") != nil)
    }

    @Test func everyRequestIsLoggedOnce() async throws {
        let response = try await client.send("GET", path, headers: ["X-Request-Id": "log-me-once"])
        #expect(response.status == 200)
        let found = await eventually { service.logs.lines.contains { $0.contains("\"request_id\":\"log-me-once\"") } }
        #expect(found)
        let line = try #require(service.logs.lines.first { $0.contains("\"request_id\":\"log-me-once\"") })
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(fields["method"] as? String == "GET")
        #expect(fields["route"] as? String == "/registry/v1/regions/{region}/namespaces")
        #expect(fields["status"] as? Int == 200)
        #expect(fields["duration_ms"] is Double || fields["duration_ms"] is Int)
        #expect(service.logs.lines.filter { $0.contains("log-me-once") }.count == 1)
    }
}
